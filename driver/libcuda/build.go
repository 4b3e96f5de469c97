// Package libcuda is the source of gpubuf's libcuda.so.1, a CUDA driver
// API library served by the emulator (gpubuf driver-serve), and what
// builds it: embedded in the gpubuf binary, so that gpubuf exec can build
// it with the system's C compiler on first use.
package libcuda

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

//go:embed csrc
var sources embed.FS

// IncludeDir is where Debian's nvidia-cuda-dev puts cuda.h, which the
// library is compiled against.
const IncludeDir = "/usr/include"

// SoName is the library's file name: what a program linked with -lcuda
// loads.
const SoName = "libcuda.so.1"

// GenerateFromSystem runs Generate on the headers in includeDir and the
// embedded libcuda.c.
func GenerateFromSystem(includeDir string) (map[string][]byte, error) {
	cudaH, err := os.ReadFile(filepath.Join(includeDir, "cuda.h"))
	if err != nil {
		return nil, fmt.Errorf("reading the CUDA driver header (install nvidia-cuda-dev): %w", err)
	}
	typedefs, err := os.ReadFile(filepath.Join(includeDir, "cudaTypedefs.h"))
	if err != nil {
		return nil, fmt.Errorf("reading the CUDA driver header (install nvidia-cuda-dev): %w", err)
	}
	src, err := sources.ReadFile("csrc/libcuda.c")
	if err != nil {
		return nil, err
	}
	return Generate(cudaH, typedefs, src)
}

// Hash identifies the sources: a library built from them lives in a
// directory of this name, so that a gpubuf of other sources never loads
// it.
func Hash() string {
	h := sha256.New()
	names, _ := sourceNames()
	for _, n := range names {
		b, _ := sources.ReadFile(n)
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func sourceNames() ([]string, error) {
	ents, err := sources.ReadDir("csrc")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		names = append(names, "csrc/"+e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Build compiles the library into dir/libcuda.so.1 with the C compiler cc
// (the CC environment variable's, else "cc") against the cuda.h in
// includeDir, and returns the library's path. It writes the sources to a
// temporary directory beside it and renames the library into place, so a
// concurrent build or a crash never leaves a half-written library.
func Build(dir, includeDir string) (string, error) {
	if _, err := os.Stat(filepath.Join(includeDir, "cuda.h")); err != nil {
		return "", fmt.Errorf("building %s needs the CUDA driver header cuda.h in %s (Debian: apt install nvidia-cuda-dev): %w", SoName, includeDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	names, err := sourceNames()
	if err != nil {
		return "", err
	}
	for _, n := range names {
		b, err := sources.ReadFile(n)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(n)), b, 0o644); err != nil {
			return "", err
		}
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	out := filepath.Join(tmp, SoName)
	cmd := exec.Command(cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wno-deprecated-declarations",
		"-I"+includeDir, "-Wl,-soname,"+SoName, "-o", out, filepath.Join(tmp, "libcuda.c"), "-lpthread")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s with %s: %v\n%s", SoName, cc, err, msg)
	}
	final := filepath.Join(dir, SoName)
	if err := os.Rename(out, final); err != nil {
		return "", err
	}
	return final, nil
}
