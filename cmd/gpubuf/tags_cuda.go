//go:build cuda

package main

// The GPU build: gorgonia.org/cu's init calls os.Exit(1) when the CUDA
// driver finds no device, so this binary cannot start without one and has
// no emulator fallback when the backend is left to choose. Build it under
// its own name (gpubuf-cuda).
import _ "github.com/gpubuf/gpubuf/gpu/cuda"

func buildTags() []string { return []string{"cuda"} }
