// Command ptxgen regenerates the kernels' PTX: it compiles every .cu file
// in the current directory (go generate runs it in kernels/) with
// ptxbuild.Compile and writes name.ptx next to name.cu. It also deletes
// .ptx files whose source is gone, so the embedded set follows the sources.
//
// It needs nvcc 11.8 (V11.8.89) on PATH; ./test.sh installs it. Set
// NVCC_CCBIN to hand nvcc a host compiler (-ccbin) when the default one
// does not work; the PTX does not depend on it.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gpubuf/gpubuf/kernels/internal/ptxbuild"
)

// relDir is the kernels directory relative to the repository root, as
// .file directives name the sources.
const relDir = "kernels"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ptxgen:", err)
		os.Exit(1)
	}
}

func run() error {
	ptx, err := ptxbuild.Compile(".", relDir)
	var verr *ptxbuild.VersionError
	switch {
	case errors.Is(err, ptxbuild.ErrNoNVCC):
		return fmt.Errorf("%w: run ./test.sh, which installs it", err)
	case errors.As(err, &verr):
		return fmt.Errorf("%w: the committed PTX comes from %s", err, ptxbuild.WantVersion)
	case err != nil:
		return err
	}
	names := make([]string, 0, len(ptx))
	for name := range ptx {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeIfChanged(name, ptx[name]); err != nil {
			return err
		}
	}
	stale, _ := filepath.Glob("*.ptx")
	for _, name := range stale {
		if _, ok := ptx[name]; !ok {
			fmt.Println("ptxgen: removing", name, "(no source)")
			if err := os.Remove(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeIfChanged leaves an up-to-date file alone, so its mtime only moves
// when its contents do.
func writeIfChanged(name string, data []byte) error {
	if old, err := os.ReadFile(name); err == nil && string(old) == string(data) {
		return nil
	}
	fmt.Println("ptxgen: writing", name)
	return os.WriteFile(name, data, 0o644)
}
