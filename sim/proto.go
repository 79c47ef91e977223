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

// spacemesh.proto (spacemesh.v1), spacemesh_v2alpha1.proto and
// spacemesh_v2beta1.proto (the history services) are the source of the simulated node API. What the binary
// carries is their compiled form, one .binpb (a FileDescriptorProto) each:
// compiling at run time would link protocompile into every postdeck, and
// its start-up work made each `postdeck` command slower, simulator or not.
// TestSchemaMatchesProto compiles the .proto files and fails if a .binpb
// differs; `go test ./sim -run TestSchemaMatchesProto -update` writes them anew.
var (
	//go:embed spacemesh.binpb
	protoDescriptor []byte
	//go:embed spacemesh_v2alpha1.binpb
	v2alpha1Descriptor []byte
	//go:embed spacemesh_v2beta1.binpb
	v2beta1Descriptor []byte
)

// protoFile is one source file of the simulated API: where it is in this
// folder, the path clients see through reflection, and its compiled form.
type protoFile struct {
	source, path string
	compiled     *[]byte
}

// protoFiles are linked in this order: a file may import only those before it.
var protoFiles = []protoFile{
	{"spacemesh.proto", "spacemesh/v1/spacemesh.proto", &protoDescriptor},
	{"spacemesh_v2alpha1.proto", "spacemesh/v2alpha1/history.proto", &v2alpha1Descriptor},
	{"spacemesh_v2beta1.proto", "spacemesh/v2beta1/history.proto", &v2beta1Descriptor},
}

// schema is the compiled node API. It is built once per process: the
// descriptors are immutable and shared by every Sim.
type schema struct {
	files []protoreflect.FileDescriptor
	// resolver answers reflection queries: our files first, then the global
	// registry (google/protobuf/*, grpc.reflection.*).
	resolver protodesc.Resolver
}

var loadSchema = sync.OnceValues(func() (*schema, error) {
	descs := make([][]byte, len(protoFiles))
	for i, f := range protoFiles {
		descs[i] = *f.compiled
	}
	return buildSchema(descs...)
})

// buildSchema links serialized FileDescriptorProtos (of protoFiles, in
// order) against each other and the global registry, where their
// google/protobuf imports are.
func buildSchema(descriptors ...[]byte) (*schema, error) {
	own := &protoregistry.Files{}
	sc := &schema{resolver: chainResolver{own, protoregistry.GlobalFiles}}
	for i, descriptor := range descriptors {
		path := protoFiles[i].path
		fdp := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(descriptor, fdp); err != nil {
			return nil, fmt.Errorf("read the compiled %s: %w", path, err)
		}
		fd, err := protodesc.NewFile(fdp, sc.resolver.(chainResolver))
		if err != nil {
			return nil, fmt.Errorf("link %s: %w", path, err)
		}
		if err := own.RegisterFile(fd); err != nil {
			return nil, fmt.Errorf("register %s: %w", path, err)
		}
		sc.files = append(sc.files, fd)
	}
	return sc, nil
}

// service returns a service by its short name, e.g. "NodeService", or by its
// full name when short names clash ("spacemesh.v2alpha1.RewardService").
func (s *schema) service(name string) protoreflect.ServiceDescriptor {
	if sd, ok := s.lookup(name).(protoreflect.ServiceDescriptor); ok {
		return sd
	}
	panic("sim: no service " + name + " in the simulated API")
}

// msg returns a new empty message by its short name, e.g. "Event", or its
// full name.
func (s *schema) msg(name string) *dynamicpb.Message {
	if md, ok := s.lookup(name).(protoreflect.MessageDescriptor); ok {
		return dynamicpb.NewMessage(md)
	}
	panic("sim: no message " + name + " in the simulated API")
}

// lookup finds a top-level service or message: a full name directly, a
// short name in the first file that declares it.
func (s *schema) lookup(name string) protoreflect.Descriptor {
	for _, fd := range s.files {
		short := protoreflect.Name(name)
		if pkg := string(fd.Package()) + "."; len(name) > len(pkg) && name[:len(pkg)] == pkg {
			short = protoreflect.Name(name[len(pkg):])
		}
		if sd := fd.Services().ByName(short); sd != nil {
			return sd
		}
		if md := fd.Messages().ByName(short); md != nil {
			return md
		}
	}
	return nil
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
