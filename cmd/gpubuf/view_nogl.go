//go:build !gl

package main

import (
	"fmt"
	"io"
	"slices"
)

// viewCmd explains how to get the viewer: it needs cgo, GLFW and OpenGL
// headers, so only a build with -tags gl has it. Its -h prints the usage
// and exits 0, as every command's does; this build knows no other flag.
func viewCmd(args []string, stdout, stderr io.Writer) int {
	flags := args
	if i := slices.Index(args, "--"); i >= 0 {
		flags = args[:i]
	}
	for _, a := range flags {
		if a == "-h" || a == "-help" || a == "--h" || a == "--help" {
			fmt.Fprint(stderr, viewUsage)
			return exitOK
		}
	}
	fmt.Fprintln(stderr, "gpubuf view: this gpubuf was built without the OpenGL viewer; build it with -tags gl (it needs the X11 and GL development headers): go run -tags gl ./cmd/gpubuf view")
	return exitUsage
}
