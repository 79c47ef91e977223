package versioncmd

import (
	"testing"

	"postdeck/cmd/cmdtest"
)

func TestMain(m *testing.M) { cmdtest.Main(m) }
