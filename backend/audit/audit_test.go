package audit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Lines written at once stay whole, and a log removed between writes is
// made again (an operator's logrotate).
func TestLogLinesWholeAndRecreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "audit.log")
	log, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := log.Write(Entry{Action: "start", Service: strings.Repeat("s", 200), Result: "ok"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20", len(lines))
	}
	for _, l := range lines {
		var e Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Time.IsZero() {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	os.Remove(path)
	if err := log.Write(Entry{Action: "stop", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("log not recreated 0600: %v %v", st, err)
	}
}
