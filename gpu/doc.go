// Package gpu is gpubuf's device API: one set of types (Device, Module,
// Kernel, DeviceBuffer, HostBuffer, Stream, Event, LaunchConfig) over
// every backend, so that the same Go code runs on an NVIDIA GPU or on the
// CPU.
//
// Backends register themselves, as database/sql drivers do: import
// gpubuf/gpu/emu for the PTX emulator (package cpuemu), and, in a binary
// built with -tags cuda, gpubuf/gpu/cuda for GPUs through the CUDA driver
// API. Open picks the backend Options.Backend or the GPUBUF_BACKEND
// environment variable names; otherwise the best one the binary has. A
// backend that was asked for and cannot be had is an error that says why.
//
// Every error is an *Error carrying the backend, the operation, and the
// driver's error name and text, or the emulator's typed error (errors.As
// reaches cpuemu.FaultError, cpuemu.DeadlockError, ...).
package gpu
