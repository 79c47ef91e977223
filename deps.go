//go:build tools

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
