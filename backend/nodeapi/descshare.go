package nodeapi

import (
	"crypto/sha256"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// shared holds one copy of each service's descriptors for the process:
// a fleet's nodes of one version serve the same schema, and each node's
// listeners learning their own copy kept about 0.4 MB live per node.
// Keyed by the bytes of the service's file and every file it imports, so
// nodes of another version (another schema) keep their own.
var shared struct {
	mu sync.Mutex
	by map[[sha256.Size]byte]protoreflect.ServiceDescriptor
}

// shareDescriptor is sd, or an identical one learned before.
func shareDescriptor(sd protoreflect.ServiceDescriptor) protoreflect.ServiceDescriptor {
	key, ok := schemaKey(sd)
	if !ok {
		return sd
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if have, found := shared.by[key]; found {
		return have
	}
	if shared.by == nil {
		shared.by = map[[sha256.Size]byte]protoreflect.ServiceDescriptor{}
	}
	shared.by[key] = sd
	return sd
}

// schemaKey hashes the service's name, its file and the files it imports,
// each as a deterministic FileDescriptorProto.
func schemaKey(sd protoreflect.ServiceDescriptor) ([sha256.Size]byte, bool) {
	h := sha256.New()
	h.Write([]byte(sd.FullName()))
	seen := map[string]bool{}
	var walk func(f protoreflect.FileDescriptor) bool
	walk = func(f protoreflect.FileDescriptor) bool {
		if seen[f.Path()] {
			return true
		}
		seen[f.Path()] = true
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(protodesc.ToFileDescriptorProto(f))
		if err != nil {
			return false
		}
		h.Write([]byte{0})
		h.Write(b)
		imports := f.Imports()
		for i := range imports.Len() {
			if !walk(imports.Get(i).FileDescriptor) {
				return false
			}
		}
		return true
	}
	var key [sha256.Size]byte
	if !walk(sd.ParentFile()) {
		return key, false
	}
	copy(key[:], h.Sum(nil))
	return key, true
}
