package kernels

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/kernels/internal/ptxbuild"
)

// requireNVCC skips t unless the nvcc that produced the committed PTX is
// on PATH.
func requireNVCC(t *testing.T) {
	t.Helper()
	err := ptxbuild.CheckNVCC()
	var verr *ptxbuild.VersionError
	switch {
	case errors.Is(err, ptxbuild.ErrNoNVCC):
		t.Skip("nvcc not found: run ./test.sh, which installs it")
	case errors.As(err, &verr):
		t.Skipf("nvcc %s found; the committed PTX comes from %s", verr.Found, ptxbuild.WantVersion)
	case err != nil:
		t.Fatal(err)
	}
}

// TestPTXUpToDate compiles the sources the way go generate does and
// compares the result with the committed PTX, byte for byte.
func TestPTXUpToDate(t *testing.T) {
	requireNVCC(t)
	fresh, err := ptxbuild.Compile(".", "kernels")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range fresh {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Errorf("%s: %v (run go generate ./kernels)", name, err)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from what its source compiles to, first at line %d (run go generate ./kernels)",
				name, firstDiffLine(string(got), string(want)))
		}
	}
	for _, name := range Files() {
		if _, ok := fresh[name]; !ok {
			t.Errorf("%s is embedded but has no source", name)
		}
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// TestPTXAssembles runs ptxas on every committed module for Volta, Ampere
// and Hopper: the PTX targets sm_70 and must be accepted by later GPUs too.
func TestPTXAssembles(t *testing.T) {
	requireNVCC(t)
	if _, err := exec.LookPath("ptxas"); err != nil {
		t.Skip("ptxas not found: run ./test.sh, which installs it")
	}
	for _, name := range Files() {
		ptx, err := ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, arch := range []string{"sm_70", "sm_80", "sm_90"} {
			t.Run(name+"/"+arch, func(t *testing.T) {
				t.Parallel()
				if err := ptxbuild.Ptxas(ptx, arch); err != nil {
					t.Error(err)
				}
			})
		}
	}
}
