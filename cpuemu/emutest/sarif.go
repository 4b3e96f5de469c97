package emutest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/sarif"
)

// SARIFEnv names the environment variable that makes a test binary write
// its checked launches' findings as SARIF 2.1.0 (see package cpuemu/sarif),
// for code scanning:
//
//	GPUBUF_SARIF=gpubuf.sarif go test ./mykernels
//	GPUBUF_SARIF=sarif/ go test ./...
//
// A file name gets the findings of every launch of the binary that
// Launch or LaunchReport made, each distinct finding once. A directory
// (one that exists, or a name ending in "/") gets one file per test
// binary, named after its package, so that the binaries `go test ./...`
// runs side by side do not overwrite each other; each file's run has the
// package as its category (runAutomationDetails.id).
//
// The file is written after the binary's first checked launch and again
// after every launch that finds something, whole each time (to a
// temporary file that then replaces it), so it is complete whenever the
// binary stops and needs no TestMain. Paths are relative to the module's
// root (the directory of the go.mod above the test's directory), which
// is what code scanning takes a relative path to be relative to.
const SARIFEnv = "GPUBUF_SARIF"

var sarifOut struct {
	mu      sync.Mutex
	path    string // "" once it is known that there is none
	log     *sarif.Log
	written bool
	failed  bool // a write failed: said once, then no more tries
	ptx     map[*cpuemu.Module]string
}

// notePTXPath remembers where a module's PTX file is, for findings
// without a CUDA line.
func notePTXPath(m *cpuemu.Module, path string) {
	if os.Getenv(SARIFEnv) == "" || m == nil {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	sarifOut.mu.Lock()
	defer sarifOut.mu.Unlock()
	if sarifOut.ptx == nil {
		sarifOut.ptx = map[*cpuemu.Module]string{}
	}
	sarifOut.ptx[m] = abs
}

// recordSARIF adds a checked launch to the SARIF file, when SARIFEnv asks
// for one. A launch without a report marks the analysis as failed.
func recordSARIF(m *cpuemu.Module, kernel string, cfg cpuemu.LaunchConfig, res *cpuemu.Result, err error) {
	env := os.Getenv(SARIFEnv)
	if env == "" {
		return
	}
	sarifOut.mu.Lock()
	defer sarifOut.mu.Unlock()
	if sarifOut.failed {
		return
	}
	if sarifOut.log == nil {
		root := moduleRoot()
		path, category := sarifPath(env)
		sarifOut.path = path
		sarifOut.log = sarif.NewLog(sarif.Options{SrcRoot: root, Category: category})
	}
	l := sarifOut.log
	before := l.Len()
	changed := false
	switch {
	case res == nil || res.Report == nil:
		if err == nil {
			err = errors.New("no checker report")
		}
		l.AddFailure(kernel, err)
		changed = true
	default:
		ptx := sarifOut.ptx[m]
		if ptx == "" && m != nil {
			ptx = m.Name()
		}
		l.Add(sarif.Launch{Report: res.Report, PTX: ptx, Schedule: ScheduleOf(cfg).String()})
		changed = res.Report.Findings(cpuemu.SeverityInfo) > 0 || res.Report.Fatal != nil || l.Len() != before
	}
	if sarifOut.written && !changed {
		return
	}
	if werr := writeSARIFFile(sarifOut.path, l); werr != nil {
		sarifOut.failed = true
		fmt.Fprintf(os.Stderr, "emutest: %s=%s: %v\n", SARIFEnv, env, werr)
		return
	}
	sarifOut.written = true
}

// sarifPath is the file to write, and the run's category in a directory
// of per-binary files.
func sarifPath(env string) (string, string) {
	if st, err := os.Stat(env); !(err == nil && st.IsDir()) && !strings.HasSuffix(env, "/") && !strings.HasSuffix(env, string(filepath.Separator)) {
		return env, ""
	}
	pkg := "test"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
		pkg = strings.TrimSuffix(bi.Path, ".test") // a test binary's path is its package's, with .test
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, pkg)
	return filepath.Join(env, name+".sarif"), "gpubuf-emutest/" + pkg + "/"
}

// writeSARIFFile writes the whole log to a temporary file beside path
// and renames it over path.
func writeSARIFFile(path string, l *sarif.Log) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = l.Write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// moduleRoot is the directory of the nearest go.mod at or above the
// working directory (a test's package directory), or the working
// directory itself without one.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			return wd
		}
		d = up
	}
}
