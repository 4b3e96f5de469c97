//go:build cuda

package cuda

// The shim: the driver calls gorgonia.org/cu lacks (page-locked host memory
// with chosen flags, host registration, mapped device pointers, function
// attributes, the occupancy calculator, cooperative launches) and the
// driver's own names and texts for its error codes.

// The build takes one cuda.h, on purpose. gorgonia.org/cu's #cgo lines put
// -I/usr/local/cuda/include and a few other toolkit directories ahead of
// the compiler's own (/usr/include, where Debian's nvidia-cuda-dev puts
// it); the shim lists the same directories in the same order, so that cu
// and the shim find the same cuda.h, not one each. CGO_CPPFLAGS comes
// before every package's flags, so -I there picks the header for both:
// test.sh points it at Debian's CUDA 11.8 header, and the README says how
// to point it elsewhere. The header must be CUDA 11.x or 12.x: cu does not
// compile against CUDA 13's, and the check below says so for the shim.

// #cgo linux CFLAGS: -I/usr/local/cuda/include
// #cgo linux CFLAGS: -I/usr/local/cuda-11.0/targets/x86_64-linux/include
// #cgo linux CFLAGS: -I/usr/local/cuda-10.2/include/
// #cgo linux CFLAGS: -I/usr/include
// #cgo linux CFLAGS: -I/opt/cuda/include
// #cgo LDFLAGS: -lcuda
// #include <stdlib.h>
// #include <cuda.h>
// #if !defined(CUDA_VERSION)
// #error "gpubuf: the cuda.h found defines no CUDA_VERSION; point CGO_CPPFLAGS=-I at the include directory of a CUDA 11.x or 12.x toolkit"
// #elif CUDA_VERSION < 11000 || CUDA_VERSION >= 13000
// #error "gpubuf's CUDA backend builds against cuda.h from CUDA 11.x or 12.x (CUDA_VERSION 11000 to 12999); point CGO_CPPFLAGS=-I at the include directory of such a toolkit"
// #endif
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

// resultError is the driver's error r of operation op: its name
// (CUDA_ERROR_OUT_OF_MEMORY) and text ("out of memory"), as the driver
// gives them.
func resultError(op string, r C.CUresult) *gpu.Error {
	code := fmt.Sprintf("CUresult(%d)", int(r))
	msg := "an error code this driver does not know"
	var name, text *C.char
	if C.cuGetErrorName(r, &name) == C.CUDA_SUCCESS && name != nil {
		code = C.GoString(name)
	}
	if C.cuGetErrorString(r, &text) == C.CUDA_SUCCESS && text != nil {
		msg = C.GoString(text)
	}
	return &gpu.Error{Backend: gpu.BackendCUDA, Op: op, Code: code, Msg: msg}
}

// check is nil for CUDA_SUCCESS, else resultError. op is filled in by
// the caller (see wrapErr).
func check(r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return resultError("", r)
}

// codeError is resultError for a CUresult held in an int64 (from a cu
// error, see wrapErr).
func codeError(op string, code int64) *gpu.Error { return resultError(op, C.CUresult(code)) }

// Host allocation flags (cuMemHostAlloc) and registration flags
// (cuMemHostRegister).
const (
	hostAllocPortable      = C.CU_MEMHOSTALLOC_PORTABLE
	hostAllocDeviceMap     = C.CU_MEMHOSTALLOC_DEVICEMAP
	hostAllocWriteCombined = C.CU_MEMHOSTALLOC_WRITECOMBINED
	hostRegisterPortable   = C.CU_MEMHOSTREGISTER_PORTABLE
	hostRegisterDeviceMap  = C.CU_MEMHOSTREGISTER_DEVICEMAP
)

// headerVersion is the CUDA_VERSION of the cuda.h the build took
// (12040 for CUDA 12.4).
const headerVersion = int(C.CUDA_VERSION)

// Device attributes cu has no names for.
const (
	attrMaxSharedPerBlockOptin = cu.DeviceAttribute(C.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN)
	attrCooperativeLaunch      = cu.DeviceAttribute(C.CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH)
)

// funcAttrMaxDynamicShared is the function attribute cu has no name for:
// the dynamic shared memory a launch of the function may have
// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
const funcAttrMaxDynamicShared = cu.FunctionAttribute(C.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)

// rules.go's compute modes are cuda.h's: a negative or out-of-range
// index below stops the build if they ever differ.
var (
	_ = [1]struct{}{}[computeModeDefault-int(C.CU_COMPUTEMODE_DEFAULT)]
	_ = [1]struct{}{}[computeModeProhibited-int(C.CU_COMPUTEMODE_PROHIBITED)]
	_ = [1]struct{}{}[computeModeExclusiveProcess-int(C.CU_COMPUTEMODE_EXCLUSIVE_PROCESS)]
)

// errCooperativeTooLarge is the driver's error for a cooperative grid
// the device cannot hold at once.
const errCooperativeTooLarge = C.CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE

// memHostAlloc allocates n bytes of page-locked host memory
// (cuMemHostAlloc).
func memHostAlloc(n int, flags uint) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	if err := check(C.cuMemHostAlloc(&p, C.size_t(n), C.uint(flags))); err != nil {
		return nil, err
	}
	return p, nil
}

// memFreeHost frees memory of memHostAlloc (cuMemFreeHost).
func memFreeHost(p unsafe.Pointer) error { return check(C.cuMemFreeHost(p)) }

// memHostRegister page-locks n bytes at p (cuMemHostRegister).
func memHostRegister(p unsafe.Pointer, n int, flags uint) error {
	return check(C.cuMemHostRegister(p, C.size_t(n), C.uint(flags)))
}

// memHostUnregister undoes memHostRegister (cuMemHostUnregister).
func memHostUnregister(p unsafe.Pointer) error { return check(C.cuMemHostUnregister(p)) }

// memHostDevicePointer is the device address of mapped page-locked host
// memory (cuMemHostGetDevicePointer).
func memHostDevicePointer(p unsafe.Pointer) (uint64, error) {
	var d C.CUdeviceptr
	if err := check(C.cuMemHostGetDevicePointer(&d, p, 0)); err != nil {
		return 0, err
	}
	return uint64(d), nil
}

// cfunc is f's CUfunction. cu.Function is a struct whose only field is the
// handle, and cu has no accessor for it; the array index below stops the
// build if the two ever differ in size.
func cfunc(f cu.Function) C.CUfunction {
	var _ = [1]struct{}{}[unsafe.Sizeof(cu.Function{})-unsafe.Sizeof(C.CUfunction(nil))]
	return *(*C.CUfunction)(unsafe.Pointer(&f))
}

// funcSetMaxDynamicShared lets f be launched with up to n bytes of dynamic
// shared memory (cuFuncSetAttribute with
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES): without it a launch
// may ask for at most 48 KiB.
func funcSetMaxDynamicShared(f cu.Function, n int) error {
	return check(C.cuFuncSetAttribute(cfunc(f), C.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, C.int(n)))
}

// occupancyMaxPotentialBlockSize is the block size that gives f the most
// resident warps when each block uses dynSMem bytes of dynamic shared
// memory, and the smallest grid that fills the device at that size
// (cuOccupancyMaxPotentialBlockSize, no block size limit).
func occupancyMaxPotentialBlockSize(f cu.Function, dynSMem int) (minGrid, block int, err error) {
	var g, b C.int
	if err := check(C.cuOccupancyMaxPotentialBlockSize(&g, &b, cfunc(f), nil, C.size_t(dynSMem), 0)); err != nil {
		return 0, 0, err
	}
	return int(g), int(b), nil
}

// cstream is s's CUstream, as cfunc is a function's.
func cstream(s cu.Stream) C.CUstream {
	var _ = [1]struct{}{}[unsafe.Sizeof(cu.Stream{})-unsafe.Sizeof(C.CUstream(nil))]
	return *(*C.CUstream)(unsafe.Pointer(&s))
}

// launchCooperative queues f as a cooperative launch on stream
// (cuLaunchCooperativeKernel): every block resident at once, so that they
// may synchronise grid-wide. args point at 8-byte holders, which are
// copied to C memory first, as cu's Launch copies them (cgo forbids Go
// pointers to Go pointers).
func launchCooperative(f cu.Function, grid, block gpu.Dim3, sharedBytes int, stream cu.Stream, args []unsafe.Pointer) error {
	var argv, argp unsafe.Pointer
	if n := len(args); n > 0 {
		argv = C.malloc(C.size_t(8 * n))
		argp = C.malloc(C.size_t(8 * n))
		defer C.free(argv)
		defer C.free(argp)
		for i, a := range args {
			v := unsafe.Add(argv, 8*i)
			*(*unsafe.Pointer)(unsafe.Add(argp, 8*i)) = v
			*(*uint64)(v) = *(*uint64)(a)
		}
	}
	return check(C.cuLaunchCooperativeKernel(cfunc(f),
		C.uint(grid.X), C.uint(grid.Y), C.uint(grid.Z),
		C.uint(block.X), C.uint(block.Y), C.uint(block.Z),
		C.uint(sharedBytes), cstream(stream), (*unsafe.Pointer)(argp)))
}
