//go:build gl

package main

import (
	"strings"
	"testing"
)

// Flags are checked before any window opens: these need no display.
func TestViewBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--frames", "-1"}, "--frames -1: must not be negative"},
		{[]string{"--screenshot", "v.png"}, "--screenshot needs --frames N"},
		{[]string{"--particles", "0"}, "--particles 0: want 1..1048576"},
		{[]string{"--width", "100"}, "--width 100: want 640..8192"},
		{[]string{"--width", "100000"}, "--width 100000: want 640..8192"},
		{[]string{"--height", "-1"}, "--height -1: want 480..8192"},
		{[]string{"--height", "9000"}, "--height 9000: want 480..8192"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--backend", "abacus"}, `"abacus"`},
	} {
		code, out, errs := runCLI(append([]string{"view"}, c.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("view %v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// viewHelpFlag is a flag view's usage names in this build.
func viewHelpFlag() string { return "-frames" }
