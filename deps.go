//go:build tools

// This file is never built (the tools tag): it keeps the pinned versions of
// every module the project relies on in go.mod, so `go mod tidy` cannot drop
// or move one that a package imports only through another.
package main

import (
	_ "charm.land/bubbles/v2/key"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/huh/v2"
	_ "charm.land/lipgloss/v2"
	_ "charm.land/wish/v2"
	_ "github.com/bufbuild/protocompile"
	_ "github.com/charmbracelet/x/exp/teatest/v2"
	_ "github.com/fullstorydev/grpcurl"
	_ "github.com/jhump/protoreflect/grpcreflect"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "google.golang.org/grpc"
	_ "modernc.org/sqlite"
)
