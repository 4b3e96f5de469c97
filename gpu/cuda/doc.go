// Package cuda is the CUDA backend of package gpu: NVIDIA GPUs through the
// CUDA driver API, by way of gorgonia.org/cu and a small cgo shim of its
// own (shim.go) for what cu lacks. Importing it registers the backend as
// gpu.BackendCUDA.
//
// The driver code is built only with the build tag cuda, and needs the
// CUDA headers (cuda.h) and the driver library (libcuda) to build. A binary
// built with it cannot start on a machine without a GPU: gorgonia.org/cu's
// init calls cuInit and exits the program when it fails. Without the tag
// the package holds only ErrHostMemoryInUse and the backend's rules that
// need no driver (rules.go), so that their tests run everywhere. The
// build takes one cuda.h, from CUDA 11.x or 12.x: see shim.go, and the
// README on choosing it with CGO_CPPFLAGS. The driver cannot report a
// kernel's parameters:
// the backend reads them from the PTX with gpubuf's one front end
// (internal/ptx), which is built and tested everywhere.
//
// A kernel's printf output is the driver's business: it prints the
// buffer (cudaLimitPrintfFifoSize, 1 MiB by default) to the process's
// standard output when the context synchronises, as in any CUDA
// program, and gpu.EmuOptions.Stdout and PrintfBytes do not apply. A
// failed device-side assert makes the launch fail with
// CUDA_ERROR_ASSERT, after the driver has printed its message.
package cuda
