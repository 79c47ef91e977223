package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// The node's defaults for listeners its JSON config leaves out (go-spacemesh
// api config). The post listener's default, 127.0.0.1:0, is a random port.
const (
	nodeDefaultPublic  = "0.0.0.0:9092"
	nodeDefaultPrivate = "127.0.0.1:9093"
)

// nodeJSON is the part of go-spacemesh's JSON config postdeck reads.
type nodeJSON struct {
	API struct {
		Public  string `json:"grpc-public-listener"`
		Private string `json:"grpc-private-listener"`
		Post    string `json:"grpc-post-listener"`
	} `json:"api"`
	Main struct {
		DataFolder string `json:"data-folder"`
	} `json:"main"`
	Smeshing struct {
		Coinbase string `json:"smeshing-coinbase"`
		Start    *bool  `json:"smeshing-start"`
	} `json:"smeshing"`
}

// ReadNodeJSON reads the node's own JSON config (config.mainnet.json
// style): api.grpc-{public,private,post}-listener, main.data-folder (with a
// leading ~/ expanded, as the node does), smeshing.smeshing-coinbase and
// smeshing.smeshing-start. Values come back as written; keys the file leaves
// out are empty. JSONConfig is set to path.
func ReadNodeJSON(path string) (NodeConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return NodeConfig{}, fmt.Errorf("cannot read the node's config %s: %v", path, err)
	}
	var js nodeJSON
	if err := json.Unmarshal(data, &js); err != nil {
		return NodeConfig{}, jsonError(path, data, err)
	}
	return NodeConfig{
		PostListener:    js.API.Post,
		PrivateListener: js.API.Private,
		PublicListener:  js.API.Public,
		DataFolder:      expandHome(js.Main.DataFolder),
		JSONConfig:      path,
		Coinbase:        js.Smeshing.Coinbase,
		SmeshingStart:   js.Smeshing.Start,
	}, nil
}

// jsonError locates a JSON error by line when the decoder gives an offset.
func jsonError(path string, data []byte, err error) error {
	var offset int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		offset = se.Offset
	case errors.As(err, &te):
		offset = te.Offset
		err = fmt.Errorf("%s must be %s, not %s", te.Field, te.Type, te.Value)
	}
	if offset < 0 || offset > int64(len(data)) {
		return fmt.Errorf("the node's config %s is not valid: %v", path, err)
	}
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	return fmt.Errorf("the node's config %s:%d is not valid: %v", path, line, err)
}

func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~"))
}

// MergeNodeJSON fills the listeners and data folder dst leaves empty from
// the node's JSON config js, made dialable, and returns warnings for the
// user: a post listener on a random port, defaults assumed, a listener that
// differs from the node's, no coinbase.
func MergeNodeJSON(dst *NodeConfig, js NodeConfig) []string {
	var warns []string
	warn := func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }
	from := js.JSONConfig
	fill := func(field *string, key, value, def string) {
		if value == "" && def != "" {
			value = def
			warn("%s does not set api.%s: assuming the node's default %s", from, key, def)
		}
		switch {
		case value == "" || IsPortZero(value):
			// The node's default post listener is 127.0.0.1:0: a new random
			// port at every start, which nothing can be configured to dial.
			warn("%s: api.%s is %s, so the node listens on a random port; set it to a fixed port "+
				"(such as \"127.0.0.1:9094\") in the node's config and restart the node", from, key, orUnset(value))
		case AddrProblem(value) != "":
			warn("%s: api.%s %q is not host:port; ignored", from, key, value)
		case *field == "":
			*field = DialAddress(value)
		case DialAddress(*field) != DialAddress(value):
			warn("postdeck dials %s for api.%s but %s says the node listens on %s", *field, key, from, value)
		}
	}
	fill(&dst.PublicListener, "grpc-public-listener", js.PublicListener, nodeDefaultPublic)
	fill(&dst.PrivateListener, "grpc-private-listener", js.PrivateListener, nodeDefaultPrivate)
	fill(&dst.PostListener, "grpc-post-listener", js.PostListener, "")
	if dst.DataFolder == "" {
		dst.DataFolder = js.DataFolder
		if js.DataFolder != "" && !filepath.IsAbs(js.DataFolder) {
			warn("%s: main.data-folder %q is relative to the folder the node runs in; set data_folder in postdeck's config to its full path", from, js.DataFolder)
		}
	}
	dst.Coinbase, dst.SmeshingStart = js.Coinbase, js.SmeshingStart
	if js.Coinbase == "" {
		warn("%s does not set smeshing.smeshing-coinbase: the node refuses every post-service until it is set", from)
	}
	if js.SmeshingStart != nil && *js.SmeshingStart {
		warn("%s has smeshing.smeshing-start true: with separate post-services it should be false", from)
	}
	return warns
}

func IsPortZero(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}

func orUnset(v string) string {
	if v == "" {
		return "not set"
	}
	return fmt.Sprintf("%q", v)
}
