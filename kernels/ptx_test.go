package kernels

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
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
// and Hopper, from the module's own target on: PTX built for sm_70 must be
// accepted by later GPUs too, and sm_80 PTX (cp.async, mbarrier) by
// Hopper.
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
		sm := Kernel{File: name}.SM()
		if sm == 0 {
			t.Errorf("%s has no sm_ target", name)
		}
		for _, arch := range []string{"sm_70", "sm_80", "sm_90"} {
			if n, _ := strconv.Atoi(strings.TrimPrefix(arch, "sm_")); n < sm {
				continue
			}
			t.Run(name+"/"+arch, func(t *testing.T) {
				t.Parallel()
				if err := ptxbuild.Ptxas(ptx, arch); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestKernelSM ties each kernel's SM to its PTX's .target and to its
// source's arch directive, and checks that the kernels using Ampere's
// instructions are built for sm_80 and the rest for sm_70.
func TestKernelSM(t *testing.T) {
	ampere := regexp.MustCompile(`\b(cp\.async|mbarrier)\.`)
	for _, k := range All() {
		src, err := os.ReadFile(k.Source)
		if err != nil {
			t.Fatal(err)
		}
		arch, err := ptxbuild.Arch(src)
		if err != nil {
			t.Errorf("%s: %v", k.Source, err)
			continue
		}
		want := 70
		if ampere.Match(k.PTX()) {
			want = 80
		}
		if k.SM() != want || "sm_"+strconv.Itoa(want) != arch {
			t.Errorf("%s: SM() = %d, arch directive %s; its PTX uses Ampere's instructions: %v, so want %d",
				k.Name, k.SM(), arch, want == 80, want)
		}
		if !bytes.Contains(k.PTX(), []byte(".target sm_"+strconv.Itoa(k.SM())+"\n")) {
			t.Errorf("%s: no .target sm_%d line in %s", k.Name, k.SM(), k.File)
		}
	}
	if sm := (Kernel{File: "missing.ptx"}).SM(); sm != 0 {
		t.Errorf("SM of a kernel outside the catalogue = %d, want 0", sm)
	}
}
