package sim

import (
	_ "embed"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	// The imports of spacemesh.proto, registered in GlobalFiles.
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/emptypb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
)

// spacemesh.proto is the source of the simulated node API. What the binary
// carries is its compiled form, spacemesh.binpb (a FileDescriptorProto):
// compiling at run time would link protocompile into every postdeck, and
// its start-up work made each `postdeck` command slower, simulator or not.
// TestSchemaMatchesProto compiles the .proto and fails if the two differ;
// `go test ./sim -run TestSchemaMatchesProto -update` writes it anew.
//
//go:embed spacemesh.binpb
var protoDescriptor []byte

// protoPath is the file name clients see through reflection.
const protoPath = "spacemesh/v1/spacemesh.proto"

// schema is the compiled node API. It is built once per process: the
// descriptors are immutable and shared by every Sim.
type schema struct {
	file protoreflect.FileDescriptor
	// resolver answers reflection queries: our file first, then the global
	// registry (google/protobuf/*, grpc.reflection.*).
	resolver protodesc.Resolver
}

var loadSchema = sync.OnceValues(func() (*schema, error) { return buildSchema(protoDescriptor) })

// buildSchema links a serialized FileDescriptorProto of protoPath against
// the global registry, where its google/protobuf imports are.
func buildSchema(descriptor []byte) (*schema, error) {
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(descriptor, fdp); err != nil {
		return nil, fmt.Errorf("read the compiled %s: %w", protoPath, err)
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", protoPath, err)
	}
	own := &protoregistry.Files{}
	if err := own.RegisterFile(fd); err != nil {
		return nil, fmt.Errorf("register %s: %w", protoPath, err)
	}
	return &schema{file: fd, resolver: chainResolver{own, protoregistry.GlobalFiles}}, nil
}

// service returns a service of the file by its short name, e.g. "NodeService".
func (s *schema) service(name string) protoreflect.ServiceDescriptor {
	sd := s.file.Services().ByName(protoreflect.Name(name))
	if sd == nil {
		panic("sim: no service " + name + " in " + protoPath)
	}
	return sd
}

// msg returns a new empty message of the file by its short name, e.g. "Event".
func (s *schema) msg(name string) *dynamicpb.Message {
	md := s.file.Messages().ByName(protoreflect.Name(name))
	if md == nil {
		panic("sim: no message " + name + " in " + protoPath)
	}
	return dynamicpb.NewMessage(md)
}

// set assigns a scalar, bytes, enum or message field by name. A wrong name
// is a programming error in the simulator and panics.
func set(m protoreflect.Message, name string, v any) {
	m.Set(field(m, name), protoreflect.ValueOf(v))
}

// sub returns the (new, attached) sub-message in field name.
func sub(m protoreflect.Message, name string) protoreflect.Message {
	return m.Mutable(field(m, name)).Message()
}

// list returns the repeated field name, ready for Append.
func list(m protoreflect.Message, name string) protoreflect.List {
	return m.Mutable(field(m, name)).List()
}

func field(m protoreflect.Message, name string) protoreflect.FieldDescriptor {
	fd := m.Descriptor().Fields().ByName(protoreflect.Name(name))
	if fd == nil {
		panic(fmt.Sprintf("sim: %s has no field %s", m.Descriptor().FullName(), name))
	}
	return fd
}

// chainResolver tries each resolver in turn.
type chainResolver []protodesc.Resolver

func (c chainResolver) FindFileByPath(path string) (protoreflect.FileDescriptor, error) {
	for _, r := range c {
		if fd, err := r.FindFileByPath(path); err == nil {
			return fd, nil
		}
	}
	return nil, protoregistry.NotFound
}

func (c chainResolver) FindDescriptorByName(name protoreflect.FullName) (protoreflect.Descriptor, error) {
	for _, r := range c {
		if d, err := r.FindDescriptorByName(name); err == nil {
			return d, nil
		}
	}
	return nil, protoregistry.NotFound
}
