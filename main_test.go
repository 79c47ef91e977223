package main

import (
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

func TestMain(m *testing.M) { cmdtest.Main(m) }

func TestUnknownCommand(t *testing.T) {
	_, errOut, code := cmdtest.Postdeck(t, "stauts")
	if code != 1 || !strings.Contains(errOut, `unknown command "stauts"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
