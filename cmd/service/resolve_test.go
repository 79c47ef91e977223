package service

import (
	"context"
	"slices"
	"testing"

	"postdeck/backend/config"
	"postdeck/model"
)

// A key file name finds the service proving for its identity, also when
// the row carries several key file names (one identity, two files); a row
// without a service, or a name no row has, finds none.
func TestServiceForKey(t *testing.T) {
	snap := &model.Snapshot{Rows: []model.Row{
		{Name: "a.key", Service: "data01"},
		{Name: "b.key, b-copy.key", Service: "data02"},
		{Name: "orphan.key"},
	}}
	for key, want := range map[string]string{"a.key": "data01", "b-copy.key": "data02", "b.key": "data02", "orphan.key": "", "b": "", "nosuch.key": ""} {
		got, known := serviceForKey(snap, key)
		// orphan.key is a row (status lists it) without a service: known,
		// so the error can say it has no service instead of "no such name".
		wantKnown := want != "" || key == "orphan.key"
		if got != want || known != wantKnown {
			t.Errorf("serviceForKey(%q) = %q, %v; want %q, %v", key, got, known, want, wantKnown)
		}
	}
}

// Names that are configured services resolve as they are, in order, and
// without asking the node (this control has no poller to ask).
func TestResolveServiceNamesWithoutPolling(t *testing.T) {
	c := &control{cfg: &config.Config{Services: []config.ServiceConfig{{Name: "data01"}, {Name: "data02"}}}}
	got, err := c.resolve(context.Background(), []string{"data02", "data01", "data02"})
	if err != nil || !slices.Equal(got, []string{"data02", "data01", "data02"}) {
		t.Errorf("resolve: %v %v", got, err)
	}
	if !c.hasService("data01") || c.hasService("data03") {
		t.Error("hasService does not follow the config")
	}
}
