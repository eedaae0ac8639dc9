//go:build tools

// Package tools records the commands this module builds, so `go mod tidy` keeps them.
package tools

import _ "github.com/GoogleContainerTools/skaffold/v2/cmd/skaffold"
