package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"stauts"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `unknown command "stauts"`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
