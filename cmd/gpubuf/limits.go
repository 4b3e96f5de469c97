package main

// Bounds on what the command line may ask for: every size a user gives is
// checked against one of these (or a limit of the package it goes to)
// before anything is allocated, and bad input exits 2 naming its flag.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/ptx"
)

const (
	// maxPTXFileBytes bounds a PTX file the CLI reads (launch, race,
	// kernels, run --ptx): the front end's limit on source size, so a
	// file it would refuse is refused before it is read whole.
	maxPTXFileBytes = ptx.DefaultMaxSourceBytes
	// maxSeeds bounds --seeds (race, demo): each seed is a launch.
	maxSeeds = 1 << 20
)

// The default --timeout of launch and race: a floor, a term per thread,
// a factor for the race checker, and a ceiling (RATIONALE.md says why).
const (
	timeoutFloor         = 10 * time.Second
	timeoutPerThread     = 100 * time.Microsecond
	timeoutCheckerFactor = 10
	timeoutCeiling       = time.Hour
)

// defaultTimeout is the wall-clock limit of a launch of threads threads,
// under the checker or not, when --timeout is not given.
func defaultTimeout(threads int64, checker bool) time.Duration {
	d := timeoutFloor + time.Duration(min(threads, int64(timeoutCeiling/timeoutPerThread)))*timeoutPerThread
	if checker {
		d *= timeoutCheckerFactor
	}
	return min(d, timeoutCeiling)
}

// explainTimeout says, after a launch stopped by the wall clock, which
// limit that was and how to move it.
func (o *launchOpts) explainTimeout(err error, stderr io.Writer) {
	var te *cpuemu.TimeoutError
	if !errors.As(err, &te) {
		return
	}
	which := "--timeout"
	if !o.timeoutSet {
		which = fmt.Sprintf("the default for %d threads", o.grid.Count()*o.block.Count())
		if o.race {
			which += " under the checker"
		}
	}
	fmt.Fprintf(stderr, "gpubuf %s: that is the wall-clock limit (%s: %v), which depends on this machine's speed; raise it with --timeout DURATION, or --timeout 0 for none (--max-instructions is the deterministic limit)\n",
		o.cmd, which, o.timeout)
}

// timeoutHelp documents --timeout beside --max-instructions.
const timeoutHelp = `wall-clock limit on the launch, a Go ` + "`DURATION`" + ` (30s, 5m; 0: none). Default: 10s + 100µs a
thread, ×10 under the race checker, at most 1h. How much a kernel runs within it depends on
the machine's speed and load; --max-instructions is the limit that does not`

// tooLongError is a file longer than its reader's limit.
type tooLongError struct {
	Path string
	Max  int64
	Size int64 // the file's size when it is a regular file, else -1
}

func (e *tooLongError) Error() string { return fmt.Sprintf("%s is more than %d bytes", e.Path, e.Max) }

// readFileLimit reads the file at path, or fails with a *tooLongError,
// without reading more than max+1 bytes, when it is longer than max: an
// endless file (/dev/zero, a pipe that is never closed) must not be read
// into memory whole.
func readFileLimit(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	if size > max {
		return nil, &tooLongError{Path: path, Max: max, Size: size}
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, &tooLongError{Path: path, Max: max, Size: size}
	}
	return b, nil
}
