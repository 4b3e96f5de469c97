// Package ptxbuild compiles the kernels' CUDA sources to PTX so that the
// output is the same on every machine, byte for byte.
//
// nvcc bakes two machine-dependent things into PTX built with -lineinfo:
// the absolute path of the source in its .file directive, and a hash of
// that path inside the names it writes to .section .debug_str (internal
// linkage symbols such as _ZN..._INTERNAL_5d082601_10_handoff_cu_...). The
// hash does not depend on the file's contents. So every source is copied
// into one fixed directory, StagingDir, and compiled there from that
// directory as a bare file name, which fixes both; then Rewrite replaces
// the staged path in .file with the repository-relative one, and the paths
// of CUDA headers (which depend on where the toolkit is installed) with
// their paths below the toolkit's include directory.
//
// The generator (kernels/internal/ptxgen, run by go generate) writes the
// result next to the sources; the kernels tests compile again and compare.
package ptxbuild

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// StagingDir is where sources are compiled. It must be the same path on
// every machine, because nvcc records it in the PTX (see the package doc).
const StagingDir = "/tmp/gpubuf-ptx-staging"

// WantVersion is the nvcc release the committed PTX comes from; other
// releases emit different (equally valid) PTX.
const WantVersion = "V11.8.89"

// Flags are nvcc's arguments before the source name, for a source
// without an arch directive (see Arch).
//
// --allow-unsupported-compiler: nvcc 11.8 refuses gcc newer than 11 even
// with -ptx, where the host compiler only preprocesses. With the flag,
// g++-12 gives byte-identical PTX to g++-11 (checked), so the check buys
// nothing here. Debian's nvcc picks g++-11 by itself when it is installed.
var Flags = []string{"-ptx", "-lineinfo", "-O3", "-arch=sm_70", "--allow-unsupported-compiler"}

// ErrNoNVCC reports that nvcc is not on PATH.
var ErrNoNVCC = errors.New("nvcc not found on PATH")

// VersionError reports an nvcc other than WantVersion.
type VersionError struct {
	Found string // the version nvcc printed, e.g. "V12.4.131", or its whole output
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("nvcc %s found, want %s", e.Found, WantVersion)
}

var versionRE = regexp.MustCompile(`\bV\d+\.\d+\.\d+\b`)

// CheckNVCC finds nvcc and checks its version. It returns ErrNoNVCC or a
// *VersionError when the PTX it would emit cannot match the committed PTX.
func CheckNVCC() error {
	path, err := exec.LookPath("nvcc")
	if err != nil {
		return ErrNoNVCC
	}
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --version: %w: %s", path, err, out)
	}
	found := versionRE.FindString(string(out))
	if found == "" {
		return &VersionError{Found: strings.TrimSpace(string(out))}
	}
	if found != WantVersion {
		return &VersionError{Found: found}
	}
	return nil
}

// DefaultArch is the target of a source without an arch directive: Volta,
// the oldest GPU with independent thread scheduling.
const DefaultArch = "sm_70"

// archRE is a source's arch directive, a line of its own such as
//
//	// ptxbuild: arch=sm_80
//
// for kernels that use instructions Volta lacks (cp.async, mbarrier).
var archRE = regexp.MustCompile(`(?m)^// ptxbuild: arch=(sm_[0-9]+)\s*$`)

// Arch is the target a source compiles for: its arch directive's, or
// DefaultArch. Two directives are an error, as is one nvcc 11.8 cannot
// target (below sm_70 or above sm_90).
func Arch(src []byte) (string, error) {
	ms := archRE.FindAllSubmatch(src, -1)
	switch len(ms) {
	case 0:
		return DefaultArch, nil
	case 1:
	default:
		return "", fmt.Errorf("%d arch directives; want at most one", len(ms))
	}
	arch := string(ms[0][1])
	n, _ := strconv.Atoi(strings.TrimPrefix(arch, "sm_"))
	if n < 70 || n > 90 {
		return "", fmt.Errorf("arch directive %s: want sm_70 to sm_90", arch)
	}
	return arch, nil
}

// CommandLine is the nvcc command run in StagingDir for source name,
// compiled for arch (see Arch).
func CommandLine(name, arch string) []string {
	args := append([]string{"nvcc"}, Flags...)
	for i, a := range args {
		if strings.HasPrefix(a, "-arch=") {
			args[i] = "-arch=" + arch
		}
	}
	if ccbin := os.Getenv("NVCC_CCBIN"); ccbin != "" {
		args = append(args, "-ccbin", ccbin)
	}
	return append(args, name, "-o", PTXName(name))
}

// PTXName is the output name for a source: handoff.cu -> handoff.ptx.
func PTXName(source string) string {
	return strings.TrimSuffix(source, filepath.Ext(source)) + ".ptx"
}

// Sources lists the .cu files in dir, sorted.
func Sources(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.cu"))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = filepath.Base(m)
	}
	sort.Strings(names)
	return names, nil
}

// Compile compiles every .cu file in srcDir and returns each one's
// rewritten PTX, keyed by the .ptx name. relDir is srcDir's path relative
// to the repository root ("kernels"): .file directives name the sources by
// it. Headers (*.cuh, *.h) in srcDir are staged too, so sources may include
// them. Compile holds a lock on StagingDir while it works, so concurrent
// runs (go generate and go test, say) do not trample each other.
func Compile(srcDir, relDir string) (map[string][]byte, error) {
	if err := CheckNVCC(); err != nil {
		return nil, err
	}
	sources, err := Sources(srcDir)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("no .cu files in %s", srcDir)
	}
	if err := os.MkdirAll(StagingDir, 0o777); err != nil {
		return nil, fmt.Errorf("staging directory: %w", err)
	}
	unlock, err := lockDir(StagingDir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", StagingDir, err)
	}
	defer unlock()

	if err := stage(srcDir); err != nil {
		return nil, err
	}
	result := make(map[string][]byte, len(sources))
	for _, name := range sources {
		src, err := os.ReadFile(filepath.Join(srcDir, name))
		if err != nil {
			return nil, err
		}
		arch, err := Arch(src)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cmdline := CommandLine(name, arch)
		cmd := exec.Command(cmdline[0], cmdline[1:]...)
		cmd.Dir = StagingDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", strings.Join(cmdline, " "), err, out)
		}
		ptx, err := os.ReadFile(filepath.Join(StagingDir, PTXName(name)))
		if err != nil {
			return nil, err
		}
		if result[PTXName(name)], err = Rewrite(ptx, relDir); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return result, nil
}

// stage empties StagingDir of earlier inputs and outputs, then copies in
// srcDir's sources and headers.
func stage(srcDir string) error {
	for _, pattern := range []string{"*.cu", "*.cuh", "*.h", "*.ptx"} {
		old, _ := filepath.Glob(filepath.Join(StagingDir, pattern))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("clean staging directory: %w", err)
			}
		}
	}
	for _, pattern := range []string{"*.cu", "*.cuh", "*.h"} {
		files, _ := filepath.Glob(filepath.Join(srcDir, pattern))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(StagingDir, filepath.Base(f)), data, 0o666); err != nil {
				return fmt.Errorf("stage %s: %w", filepath.Base(f), err)
			}
		}
	}
	return nil
}

// fileRE matches a .file directive: index, quoted path, optional
// timestamp and size (nvcc 11.8 writes none).
var fileRE = regexp.MustCompile(`(?m)^(\s*\.file\s+\d+\s+)"([^"]*)"`)

// Rewrite makes nvcc's PTX machine-independent: .file paths in StagingDir
// become relDir/name; other absolute paths, the CUDA headers, become their
// path below the last "include" directory ("/usr/include/sm_30_intrinsics.hpp"
// and "/usr/local/cuda-11.8/targets/x86_64-linux/include/sm_30_intrinsics.hpp"
// both become "sm_30_intrinsics.hpp"), or their base name when there is no
// include directory. Nothing else changes.
func Rewrite(ptx []byte, relDir string) ([]byte, error) {
	out := fileRE.ReplaceAllFunc(ptx, func(m []byte) []byte {
		sub := fileRE.FindSubmatch(m)
		return fmt.Appendf(nil, "%s%q", sub[1], rewritePath(string(sub[2]), relDir))
	})
	if bytes.Contains(out, []byte(StagingDir)) {
		return nil, fmt.Errorf("the staging path %s is still in the PTX after rewriting .file", StagingDir)
	}
	return out, nil
}

// rewritePath maps one .file path. PTX paths use forward slashes on every
// host, hence package path rather than path/filepath.
func rewritePath(p, relDir string) string {
	if dir, name := path.Split(p); path.Clean(dir) == StagingDir {
		return relDir + "/" + name
	}
	if !strings.HasPrefix(p, "/") {
		return p
	}
	if i := strings.LastIndex(p, "/include/"); i >= 0 {
		return p[i+len("/include/"):]
	}
	return path.Base(p)
}

// Ptxas assembles ptx for arch (e.g. "sm_90") with ptxas and discards the
// result; the error carries ptxas's messages.
func Ptxas(ptx []byte, arch string) error {
	dir, err := os.MkdirTemp("", "gpubuf-ptxas-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.ptx")
	if err := os.WriteFile(in, ptx, 0o666); err != nil {
		return err
	}
	cmd := exec.Command("ptxas", "-arch="+arch, in, "-o", filepath.Join(dir, "out.cubin"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ptxas -arch=%s: %w\n%s", arch, err, out)
	}
	return nil
}
