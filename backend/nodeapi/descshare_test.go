package nodeapi

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"postdeck/backend/testkit"
)

// Two nodes serving one schema share one copy of its descriptors.
func TestNodesOfOneSchemaShareTheirDescriptors(t *testing.T) {
	a, b := newNode(t, simNodeOptions(testkit.StartSim(t, 1).Layout())), newNode(t, simNodeOptions(testkit.StartSim(t, 1).Layout()))
	for _, c := range []*Client{a, b} {
		if v := c.View(context.Background()); len(v.Errors) != 0 {
			t.Fatalf("view: %+v", v.Errors)
		}
	}
	for r := range a.listeners {
		for name, sd := range a.listeners[r].services {
			if b.listeners[r].services[name] != sd {
				t.Errorf("%s: each node holds its own copy of the descriptors", name)
			}
		}
	}
}

// A service whose schema differs (another node version) keeps its own.
func TestAnotherSchemaKeepsItsOwnDescriptors(t *testing.T) {
	one, two := serviceIn(t, "GetA"), serviceIn(t, "GetB")
	if shareDescriptor(one) != one || shareDescriptor(two) != two {
		t.Fatal("a service of another schema got the first's descriptors")
	}
	if again := serviceIn(t, "GetA"); shareDescriptor(again) != one {
		t.Error("the same schema learned again is not shared")
	}
}

// serviceIn builds test.Svc with one method named method, as reflection
// would hand it over.
func serviceIn(t *testing.T, method string) protoreflect.ServiceDescriptor {
	t.Helper()
	fd := &descriptorpb.FileDescriptorProto{
		Name: proto.String("test/svc.proto"), Package: proto.String("test"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M")}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Svc"), Method: []*descriptorpb.MethodDescriptorProto{
			{Name: proto.String(method), InputType: proto.String(".test.M"), OutputType: proto.String(".test.M")}}}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.Services().Get(0)
}
