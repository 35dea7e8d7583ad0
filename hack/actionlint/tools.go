//go:build tools

// Pins actionlint (the release and CI workflows are linted in the tests).
package tools

import (
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
