package cpuemu_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/kernels"
)

var update = flag.Bool("update", false, "rewrite the golden files: the IR dumps in testdata/ir and the checker's reports in testdata/reports")

// goldenIRMore are PTX files kept elsewhere whose IR dumps are golden
// too, in testdata/ir/NAME.golden: real nvcc output with intrinsics
// (addc, madc, dp2a, dp4a, prmt), module variables, and the kernels
// package's deadlocking divergent_syncwarp and its pingpong with shf.
var goldenIRMore = []string{
	"testdata/intrinsics/intrinsics.ptx",
	"testdata/symbols/symbols.ptx",
	"../kernels/divergent.ptx",
	"../kernels/pingpong.ptx",
}

// TestGoldenIR lowers small PTX files and compares the IR dump with the
// golden file next to each (or, for goldenIRMore, in testdata/ir). Run
// with -update after an intended change and review the diff.
func TestGoldenIR(t *testing.T) {
	files, err := filepath.Glob("testdata/ir/*.ptx")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/ir/*.ptx: %v", err)
	}
	goldens := map[string]string{}
	for _, f := range files {
		goldens[f] = strings.TrimSuffix(f, ".ptx") + ".golden"
	}
	for _, f := range goldenIRMore {
		files = append(files, f)
		goldens[f] = filepath.Join("testdata", "ir", strings.TrimSuffix(filepath.Base(f), ".ptx")+".golden")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := cpuemu.Load(filepath.Base(f), src)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var b strings.Builder
		for _, e := range m.Entries() {
			d, err := m.DumpIR(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(d)
		}
		golden := goldens[f]
		if *update {
			if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGoldenIR -update)", err)
		}
		if b.String() != string(want) {
			t.Errorf("%s: IR dump differs from %s (run with -update and review the diff):\n%s", f, golden, b.String())
		}
	}
}

// FuzzParse feeds arbitrary text to Load: it must return a module or an
// error, never panic or hang. The corpus is seeded with the kernels' PTX.
func FuzzParse(f *testing.F) {
	for _, name := range kernels.Files() {
		src, err := kernels.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	for _, p := range []string{"testdata/ir/saxpy.ptx", "testdata/ir/callseq.ptx", "testdata/ordinary/ordinary.ptx", "testdata/frontend/frontend.ptx"} {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(".version 7.8\n.target sm_70\n.address_size 64\n.visible .entry k() { ret; }"))
	f.Add([]byte(".entry k(.param .u64 p) { .reg .b32 %r<2>; @%p1 bra L; L: exit; }"))
	typed := func(err error) bool {
		var se *cpuemu.SyntaxError
		var ue *cpuemu.UnsupportedError
		var le *cpuemu.LimitError
		return errors.As(err, &se) || errors.As(err, &ue) || errors.As(err, &le)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		m, err := cpuemu.Load("fuzz.ptx", src)
		if err != nil {
			if !typed(err) {
				t.Fatalf("Load returned an untyped error: %v", err)
			}
			return
		}
		for _, e := range m.Entries() {
			_, err := m.DumpIR(e.Name)
			switch {
			case e.Err == nil && err != nil:
				t.Fatalf("entry %s loads but does not link: %v", e.Name, err)
			case e.Err != nil && !typed(e.Err):
				t.Fatalf("entry %s: untyped error %v", e.Name, e.Err)
			case e.Err != nil && err == nil:
				t.Fatalf("entry %s fails (%v) but links", e.Name, e.Err)
			}
		}
	})
}
