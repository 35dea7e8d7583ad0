//go:build tools

// Pins helm-unittest (the chart's template unit tests). `go install` of it fails because its
// go.mod has a replace; a module of our own that copies the replace builds it.
package tools

import (
	_ "github.com/helm-unittest/helm-unittest/cmd/helm-unittest"
)
