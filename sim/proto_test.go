package sim

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

var update = flag.Bool("update", false, "write spacemesh.binpb from spacemesh.proto")

// compileProtos compiles the .proto files as protoc would, into the
// FileDescriptorProtos the binary embeds, in the order of protoFiles.
func compileProtos(t *testing.T) []*descriptorpb.FileDescriptorProto {
	t.Helper()
	sources := map[string]string{}
	var paths []string
	for _, f := range protoFiles {
		src, err := os.ReadFile(f.source)
		if err != nil {
			t.Fatal(err)
		}
		sources[f.path] = string(src)
		paths = append(paths, f.path)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(sources),
		}),
	}
	files, err := c.Compile(context.Background(), paths...)
	if err != nil {
		t.Fatalf("compile %v: %v", paths, err)
	}
	out := make([]*descriptorpb.FileDescriptorProto, len(files))
	for i, f := range files {
		out[i] = protodesc.ToFileDescriptorProto(f)
	}
	return out
}

// The embedded descriptors are the .proto files compiled: editing one
// without regenerating fails here, naming the command that regenerates.
func TestSchemaMatchesProto(t *testing.T) {
	compiled := compileProtos(t)
	descs := make([][]byte, len(protoFiles))
	for i, f := range protoFiles {
		want := compiled[i]
		if *update {
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			bin := strings.TrimSuffix(f.source, ".proto") + ".binpb"
			if err := os.WriteFile(bin, b, 0o644); err != nil {
				t.Fatal(err)
			}
			*f.compiled = b
		}
		got := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(*f.compiled, got); err != nil {
			t.Fatalf("%s compiled: %v", f.source, err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("the embedded %s is not %s compiled: run go test ./sim -run TestSchemaMatchesProto -update", f.path, f.source)
		}
		descs[i] = *f.compiled
	}
	if _, err := buildSchema(descs...); err != nil {
		t.Fatal(err)
	}
}
