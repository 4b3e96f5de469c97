//go:build !gl

package main

import (
	"fmt"
	"io"
)

// viewCmd explains how to get the viewer: it needs cgo, GLFW and OpenGL
// headers, so only a build with -tags gl has it.
func viewCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "gpubuf view: this gpubuf was built without the OpenGL viewer; build it with -tags gl (it needs the X11 and GL development headers): go run -tags gl ./cmd/gpubuf view")
	return exitUsage
}
