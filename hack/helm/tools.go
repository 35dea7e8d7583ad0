//go:build tools

// Pins helm (the chart tests run `helm lint`, `template` and `install`) so `go mod tidy`
// keeps its dependencies. Built with Helm's own version ldflags: see binaries.py.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
