//go:build cuda

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/driver/libcuda"
)

// TestInfoDriverLibrary: on the cuda build, info's driver line names the
// libcuda.so the process loaded. Run against gpubuf's library (test.sh sets
// GPUBUF and puts the library's directory on LD_LIBRARY_PATH) it is the
// emulated one at that path; on NVIDIA's driver it is NVIDIA's.
func TestInfoDriverLibrary(t *testing.T) {
	t.Setenv("GPUBUF_BACKEND", "")
	code, out, errs := runCLI("info")
	if code != exitOK {
		t.Fatalf("info: exit %d\n%s", code, errs)
	}
	want := "driver              CUDA driver "
	if os.Getenv("GPUBUF") != "" {
		lib := ""
		for _, dir := range filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")) {
			// /proc/self/maps names the file with links resolved.
			if p, err := filepath.EvalSymlinks(filepath.Join(dir, libcuda.SoName)); err == nil {
				lib = p
				break
			}
		}
		if lib == "" {
			t.Fatal("GPUBUF is set but no libcuda.so.1 is on LD_LIBRARY_PATH")
		}
		want2 := ": gpubuf's emulated libcuda.so.1 (" + lib + ")\n"
		if !strings.Contains(out, want) || !strings.Contains(out, want2) {
			t.Errorf("info lacks %q ... %q:\n%s", want, want2, out)
		}
	} else if !strings.Contains(out, want) || !strings.Contains(out, ": NVIDIA ") {
		t.Errorf("info lacks %q ...: NVIDIA:\n%s", want, out)
	}
	code, out, _ = runCLI("info", "--json")
	var j infoJSON
	if err := json.Unmarshal([]byte(out), &j); code != exitOK || err != nil {
		t.Fatalf("info --json: exit %d, %v\n%s", code, err, out)
	}
	if j.Backend != "cuda" || j.DriverLibrary == "" || !strings.Contains(out, j.DriverLibrary) {
		t.Errorf("info --json = %+v, want the driver library", j)
	}
}
