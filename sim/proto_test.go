package sim

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

var update = flag.Bool("update", false, "write spacemesh.binpb from spacemesh.proto")

// compileProto compiles spacemesh.proto as protoc would, into the
// FileDescriptorProto the binary embeds.
func compileProto(t *testing.T) *descriptorpb.FileDescriptorProto {
	t.Helper()
	src, err := os.ReadFile("spacemesh.proto")
	if err != nil {
		t.Fatal(err)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(map[string]string{protoPath: string(src)}),
		}),
	}
	files, err := c.Compile(context.Background(), protoPath)
	if err != nil {
		t.Fatalf("compile %s: %v", protoPath, err)
	}
	return protodesc.ToFileDescriptorProto(files[0])
}

// The embedded descriptor is spacemesh.proto compiled: editing the .proto
// without regenerating fails here, naming the command that regenerates.
func TestSchemaMatchesProto(t *testing.T) {
	want := compileProto(t)
	if *update {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("spacemesh.binpb", b, 0o644); err != nil {
			t.Fatal(err)
		}
		protoDescriptor = b
	}
	got := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(protoDescriptor, got); err != nil {
		t.Fatalf("spacemesh.binpb: %v", err)
	}
	if !proto.Equal(got, want) {
		t.Fatal("spacemesh.binpb is not spacemesh.proto compiled: run go test ./sim -run TestSchemaMatchesProto -update")
	}
	if _, err := buildSchema(protoDescriptor); err != nil {
		t.Fatal(err)
	}
}
