package backend

import (
	"errors"
	"path/filepath"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
)

// ProposeService: the one rule for every place a [[service]] is proposed
// for a key. The PoST data must be the key's; a folder already configured
// needs none; a name or operator taken is a clash.
func TestProposeService(t *testing.T) {
	root := t.TempDir()
	_, pub3 := testkit.IdentityKey(3)
	_, pub4 := testkit.IdentityKey(4)
	d1, d3, d4 := filepath.Join(root, "data1"), filepath.Join(root, "data3"), filepath.Join(root, "data4")
	testkit.PostDir(t, d1, pub3) // configured already, and holds identity 3's data
	testkit.PostDir(t, d3, pub3)
	testkit.PostDir(t, d4, pub4)
	cfg := &config.Config{Path: "/etc/postdeck.toml", Services: []config.ServiceConfig{{Name: "data1", Dir: d1, Operator: "127.0.0.1:50051"}}}

	p, err := ProposeService(cfg, ServiceRequest{Key: "data3.key", Public: pub3, Dir: d3})
	if err != nil || p.Existing != nil || p.Note() != "" {
		t.Fatalf("proposal: %+v, %v", p, err)
	}
	if s := p.Service; s.Name != "data3" || s.Dir != d3 || s.Operator == "" || config.DialAddress(s.Operator) == "127.0.0.1:50051" {
		t.Errorf("service: %+v, want data3 in %s on a free operator port", s, d3)
	}
	if p, err := ProposeService(cfg, ServiceRequest{Key: "data3.key", Public: pub3, Dir: d3, Operator: "127.0.0.1:50070"}); err != nil || p.Service.Operator != "127.0.0.1:50070" {
		t.Errorf("operator given: %+v, %v", p, err)
	}

	p, err = ProposeService(cfg, ServiceRequest{Key: "data3.key", Public: pub3, Dir: d1})
	if err != nil || p.Existing == nil || p.Existing.Name != "data1" {
		t.Fatalf("a configured folder: %+v, %v", p, err)
	}
	if want := `/etc/postdeck.toml already has service "data1" for ` + d1; p.Note() != want {
		t.Errorf("note %q, want %q", p.Note(), want)
	}

	_, err = ProposeService(cfg, ServiceRequest{Key: "data3.key", Public: pub3, Dir: d4})
	testkit.WantErr(t, err, "the PoST data in "+d4+" belongs to identity", "not to data3.key")
	_, err = ProposeService(cfg, ServiceRequest{Key: "data5.key", Public: pub3, Dir: filepath.Join(root, "none")})
	testkit.WantErr(t, err, "does not exist")

	_, err = ProposeService(cfg, ServiceRequest{Key: "data1.key", Public: pub3, Dir: d3})
	var clash *ServiceClashError
	if !errors.As(err, &clash) {
		t.Fatalf("a taken name: %v, want a ServiceClashError", err)
	}
	testkit.WantErr(t, err, `already has the name "data1"`)
}
