//go:build cuda

package cuda

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

const backend = gpu.BackendCUDA

// cuResultType is the type of the errors gorgonia.org/cu returns for a
// failed driver call: an unexported integer type holding the CUresult. Its
// Error method gives only a Go-style name (OutOfMemory), so wrapErr asks
// the driver for the real name and text instead.
var cuResultType = reflect.TypeOf(cu.OutOfMemory)

// resultCode is the CUresult inside err, if err (or an error it wraps:
// cu's Ctx methods wrap with github.com/pkg/errors) is a cu result.
func resultCode(err error) (int64, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if reflect.TypeOf(e) == cuResultType {
			return reflect.ValueOf(e).Int(), true
		}
	}
	return 0, false
}

// isResult reports whether err is the driver error want.
func isResult(err error, want error) bool {
	if err == nil {
		return false
	}
	c, ok := resultCode(err)
	w, _ := resultCode(want)
	if ok {
		return c == w
	}
	var ge *gpu.Error
	if errors.As(err, &ge) {
		return ge.Code == codeError("", w).Code
	}
	return false
}

// wrapErr turns an error of a driver call into a *gpu.Error of operation
// op carrying the driver's error name and text; nil stays nil.
func wrapErr(op string, err error) *gpu.Error {
	if err == nil {
		return nil
	}
	var ge *gpu.Error
	if errors.As(err, &ge) {
		c := *ge
		if c.Op == "" {
			c.Op = op
		} else if op != "" && c.Op != op {
			c.Op = op + ": " + c.Op
		}
		return &c
	}
	if code, ok := resultCode(err); ok {
		return codeError(op, code)
	}
	return &gpu.Error{Backend: backend, Op: op, Msg: err.Error(), Err: err}
}

// closedErr is the error of a call on a closed device or object.
func closedErr(op string) *gpu.Error {
	return &gpu.Error{Backend: backend, Op: op, Err: gpu.ErrClosed}
}

// usageErr is the error of a call with bad arguments, found before the
// driver is asked.
func usageErr(op, format string, a ...any) *gpu.Error {
	return &gpu.Error{Backend: backend, Op: op, Msg: fmt.Sprintf(format, a...)}
}

// joinErrs is nil, the one error, or one error listing them all (an error
// repeated, as a context in an error state repeats it for every release,
// is listed once with its count).
func joinErrs(op string, errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	var order []string
	count := map[string]int{}
	for _, e := range errs {
		s := e.Error()
		if count[s] == 0 {
			order = append(order, s)
		}
		count[s]++
	}
	msg := fmt.Sprintf("%d errors: ", len(errs))
	for i, s := range order {
		if i > 0 {
			msg += "; "
		}
		msg += s
		if n := count[s]; n > 1 {
			msg += fmt.Sprintf(" (%d times)", n)
		}
	}
	return &gpu.Error{Backend: backend, Op: op, Msg: msg, Err: errors.Join(errs...)}
}
