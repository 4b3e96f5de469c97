package cuda

// The backend's rules that need no driver: which context a compute mode
// allows, how much shared memory a launch may have and when the kernel
// must opt in to it, and what Close says of host memory still in use.
// They are built without the cuda tag too, so that their tests run on
// every machine.

import (
	"errors"
	"fmt"
	"strings"
)

// ErrHostMemoryInUse is wrapped by the error of a Device's Close that
// refuses because host memory from AllocHost whose Bytes were taken has
// not been freed: that memory belongs to the device's CUDA context and
// would be unmapped with it, under the caller's slices. Free those
// buffers (close the host.Ring or host.Pipeline that holds them) and
// Close again.
var ErrHostMemoryInUse = errors.New("host memory from AllocHost is still in use")

// Compute modes (CUcomputemode, CU_DEVICE_ATTRIBUTE_COMPUTE_MODE). The
// shim stops the build if cuda.h ever gives them other values.
const (
	computeModeDefault          = 0 // any number of contexts
	computeModeProhibited       = 2 // no context at all
	computeModeExclusiveProcess = 3 // one context, of one process
)

// computeModeName is a compute mode as cuda.h names it.
func computeModeName(mode int) string {
	switch mode {
	case computeModeDefault:
		return "CU_COMPUTEMODE_DEFAULT"
	case computeModeProhibited:
		return "CU_COMPUTEMODE_PROHIBITED"
	case computeModeExclusiveProcess:
		return "CU_COMPUTEMODE_EXCLUSIVE_PROCESS"
	}
	return fmt.Sprintf("compute mode %d, which this build does not know", mode)
}

// contextKind is the CUDA context a Device works in.
type contextKind int

const (
	// ownContext is a context of the Device's own (cuCtxCreate),
	// destroyed by its Close: devices do not share work, errors or
	// synchronisation.
	ownContext contextKind = iota
	// primaryContext is the GPU's primary context
	// (cuDevicePrimaryCtxRetain), shared by every Device on that GPU in
	// the process and by the CUDA runtime; Close releases it
	// (cuDevicePrimaryCtxRelease), and the driver destroys it when the
	// last user has.
	primaryContext
)

// contextFor chooses the context a Device on GPU ordinal works in, by the
// GPU's compute mode. In exclusive-process mode a process may hold one
// context on the GPU: a second cuCtxCreate fails, so every Device shares
// the primary context, as the CUDA runtime does. In compute-prohibited
// mode no context can be had, and the error says so rather than the
// driver's CUDA_ERROR_UNKNOWN. A mode this build does not know gets a
// context of its own; if the driver refuses it, open's error names the
// mode.
func contextFor(ordinal, mode int) (contextKind, error) {
	switch mode {
	case computeModeExclusiveProcess:
		return primaryContext, nil
	case computeModeProhibited:
		return 0, fmt.Errorf("GPU %d is in %s: no CUDA context may be created on it (nvidia-smi --compute-mode shows and sets the mode)",
			ordinal, computeModeName(mode))
	}
	return ownContext, nil
}

// sharedPlan applies the driver's rules for shared memory to a launch (or
// an occupancy query) asking for dyn bytes of dynamic shared memory per
// block, of a kernel with static bytes of static shared memory
// (CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES) that is allowed allowed bytes of
// dynamic shared memory now (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES),
// on a device whose blocks may have optin bytes of shared memory in all
// once their kernel opts in
// (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN).
//
// Without opting in, a block has at most 48 KiB of shared memory, static
// and dynamic together (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK),
// so a kernel's attribute starts at no more than 48 KiB less its static
// memory; a launch asking for more dynamic memory than the attribute
// fails unless the attribute is first raised (cuFuncSetAttribute), and
// the attribute plus the static memory may not exceed the opt-in limit. raise is the value to raise
// the attribute to first, 0 when it already allows dyn; problem says why
// no launch can have dyn bytes, "" when one can.
func sharedPlan(static, dyn, allowed, optin int) (raise int, problem string) {
	if problem := sharedProblem(static, dyn, optin); problem != "" {
		return 0, problem
	}
	if dyn > allowed {
		return dyn, ""
	}
	return 0, ""
}

// sharedProblem is sharedPlan's problem alone: why no launch of the
// kernel can have dyn bytes of dynamic shared memory, or "".
func sharedProblem(static, dyn, optin int) string {
	switch {
	case dyn < 0:
		return fmt.Sprintf("negative dynamic shared memory size %d", dyn)
	case dyn > optin-static:
		return fmt.Sprintf("%d bytes of dynamic shared memory and the kernel's %d bytes of static shared memory make %d; the device allows a block at most %d in all, so this kernel at most %d dynamic",
			dyn, static, int64(dyn)+int64(static), optin, max(0, optin-static))
	}
	return ""
}

// lentHostMessage is what Close says when it refuses because of host
// buffers whose Bytes were taken: their sizes, in the order given.
func lentHostMessage(sizes []int) string {
	list := make([]string, len(sizes))
	for i, n := range sizes {
		list[i] = fmt.Sprint(n)
	}
	what, verb := "a host buffer", "has"
	bytes := strings.Join(list, "")
	if len(sizes) > 1 {
		what, verb = fmt.Sprintf("%d host buffers", len(sizes)), "have"
		bytes = strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
	}
	return fmt.Sprintf("%s from AllocHost (%s bytes) whose Bytes were taken %s not been freed; "+
		"the device stays open, since its context owns that memory and closing it would unmap it under the slices: "+
		"free them first (close the ring or pipeline that holds them), then Close", what, bytes, verb)
}
