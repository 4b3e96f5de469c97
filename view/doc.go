// Package view is gpubuf's OpenGL window onto the handoffs: a particle
// simulation whose frames come from the device through a triple buffer
// (package view/sim), the staging ring's slots and stats, and a lanes ×
// time timeline of a warp kernel with the race checker's findings
// (package view/panel draws those on the CPU; this package shows them).
//
// The window itself needs OpenGL 4.5 core or newer (4.6 is asked for
// first) through GLFW, and is built only with the build tag gl, so that a
// plain build needs no X11 or GL headers:
//
//	go run -tags gl ./cmd/gpubuf view
//	xvfb-run -a go run -tags gl ./cmd/gpubuf view --frames 60 --screenshot view.png
package view
