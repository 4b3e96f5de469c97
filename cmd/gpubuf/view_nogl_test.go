//go:build !gl

package main

import (
	"strings"
	"testing"
)

func TestViewNeedsTheGLTag(t *testing.T) {
	code, out, errs := runCLI("view", "--frames", "1")
	if code != exitUsage || out != "" || !strings.Contains(errs, "-tags gl") || strings.Count(errs, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q: want exit 2 and one line naming -tags gl", code, out, errs)
	}
}

// viewHelpFlag is what view's usage names in this build: the tag.
func viewHelpFlag() string { return "-tags gl" }
