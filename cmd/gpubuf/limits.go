package main

// Bounds on what the command line may ask for: every size a user gives is
// checked against one of these (or a limit of the package it goes to)
// before anything is allocated, and bad input exits 2 naming its flag.

import (
	"fmt"
	"io"
	"os"
)

const (
	// maxPTXFileBytes bounds a PTX file the CLI reads (launch, race, run
	// --ptx). It matches the PTX front end's limit on source size, so a
	// file the front end would refuse is refused before it is read whole.
	maxPTXFileBytes = 64 << 20
	// maxSeeds bounds --seeds (race, demo): each seed is a launch.
	maxSeeds = 1 << 20
)

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
