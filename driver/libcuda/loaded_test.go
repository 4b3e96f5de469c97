package libcuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDescribe: the library built from these sources is gpubuf's; a
// shared object without the marker, named as NVIDIA's driver installs
// its library (libcuda.so.VERSION), is NVIDIA's of that version; one
// named libcuda.so.1 has no version in its name; a file that is not ELF
// is an error.
func TestDescribe(t *testing.T) {
	requireHeaders(t)
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	ours, err := Build(dir, IncludeDir)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "nvidia")
	src := filepath.Join(dir, "empty.c")
	if err := os.WriteFile(src, []byte("int cuInit(unsigned int f) { return f; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(other, 0o755)
	versioned := filepath.Join(other, "libcuda.so.550.54.15")
	if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", versioned, src).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	plain := filepath.Join(other, "libcuda.so.1")
	b, _ := os.ReadFile(versioned)
	os.WriteFile(plain, b, 0o644)
	notELF := filepath.Join(other, "libcuda.so.2")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o644)
	for _, c := range []struct{ path, want string }{
		{ours, "gpubuf's emulated libcuda.so.1 (" + ours + ")"},
		{versioned, "NVIDIA 550.54.15 (" + versioned + ")"},
		{plain, "NVIDIA, version not in the file name (" + plain + ")"},
	} {
		got, err := Describe(c.path)
		if err != nil || got != c.want {
			t.Errorf("Describe(%s) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
	if _, err := Describe(notELF); err == nil || !strings.Contains(err.Error(), "driver library") {
		t.Errorf("Describe of a shell script: %v, want an error reading the driver library", err)
	}
}

// TestLoadedNone: a test binary of this package links no libcuda.
func TestLoadedNone(t *testing.T) {
	if p, err := Loaded(); err != nil || p != "" {
		t.Errorf("Loaded() = %q, %v; want none", p, err)
	}
}
