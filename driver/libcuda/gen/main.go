// Command gen writes driver/libcuda's generated headers from the system's
// CUDA driver headers (Debian's nvidia-cuda-dev, CUDA 11.8):
//
//	go run ./driver/libcuda/gen
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gpubuf/gpubuf/driver/libcuda"
)

func main() {
	files, err := libcuda.GenerateFromSystem(libcuda.IncludeDir)
	if err == nil {
		for name, b := range files {
			if err = os.WriteFile(filepath.Join("driver", "libcuda", "csrc", name), b, 0o644); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
