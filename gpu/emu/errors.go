package emu

import (
	"errors"
	"fmt"

	"github.com/gpubuf/gpubuf/gpu"
)

func opErr(op string, err error) error {
	return &gpu.Error{Backend: gpu.BackendEmu, Op: op, Err: err}
}

func msgErr(op, format string, a ...any) error {
	return &gpu.Error{Backend: gpu.BackendEmu, Op: op, Msg: fmt.Sprintf(format, a...)}
}

// closedErr is a use of something closed or freed; msg says what.
func closedErr(op, msg string) error {
	return &gpu.Error{Backend: gpu.BackendEmu, Op: op, Msg: msg, Err: gpu.ErrClosed}
}

// ownErr gives an error of package gpu (CheckArgs') this backend's name.
func ownErr(err error) error {
	var ge *gpu.Error
	if errors.As(err, &ge) && ge.Backend == "" {
		ge.Backend = gpu.BackendEmu
	}
	return err
}

// checkRange checks that n bytes at off lie inside a size-byte what.
func checkRange(op, what string, off, n, size int) error {
	switch {
	case n < 0:
		return msgErr(op, "negative size %d", n)
	case off < 0:
		return msgErr(op, "negative offset %d into the %s", off, what)
	case off > size || n > size-off:
		return msgErr(op, "%d bytes at offset %d run past the end of the %d-byte %s", n, off, size, what)
	}
	return nil
}
