package main

// viewUsage is 'gpubuf view -h', in builds with and without the viewer.
const viewUsage = `usage: gpubuf view [flags]

An OpenGL window onto the handoffs: particles from the device through a
triple buffer, the staging ring's slots and stats, and a warp's lanes over
time with the races the checker found. --frames N --screenshot FILE.png
draws N frames and saves the last. Only a build with -tags gl has it (it
needs cgo and the X11 and GL development headers):
go run -tags gl ./cmd/gpubuf view

exit status: 0 the window closed (or --frames were drawn); 1 it failed; 2
bad usage, or a build without -tags gl
`
