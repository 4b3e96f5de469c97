// Package kernels holds the CUDA kernels that gpubuf runs and tests, as
// CUDA sources (*.cu) and the PTX that nvcc 11.8 compiles them to (*.ptx,
// generated and committed, embedded in the binary).
//
// The kernels come in four groups:
//
//   - warp-level producer/consumer patterns, where lanes of one warp hand
//     data to each other through shared memory: lane_handoff, pingpong,
//     warp_ring (a ring run by a fused schedule, to check the SDF bound
//     b_min = r_p + r_c - gcd(r_p, r_c)) and warp_specialized (whole warps
//     as producer and consumers, signalling through named barriers);
//   - Ampere producer/consumer pipelines, built for sm_80: async_pipeline
//     (cp.async into S shared stages, full/empty mbarriers per stage, a
//     logical clock for the stage bound S_min = 1 + ceil(L/T)) and
//     warp_specialized_barrier (warp_specialized on cuda::barrier);
//   - batch kernels that the staging ring runs on each batch of records:
//     batch_reduce, batch_scan, batch_histogram, batch_checksum;
//   - particles_step, the physics step of the viewer's particle simulation:
//     blocks stage positions in shared memory between __syncthreads, and a
//     float32 Go reference matches it bit for bit;
//   - racy twins: copies of correct kernels with one deliberate
//     synchronisation bug each (a race or a deadlock), for the emulator's
//     race and sync checker to find.
//
// All returns the catalogue: each kernel's parameters, purpose, and for a
// twin, the bug it carries. The pure-Go reference implementations in ref.go
// give the exact output buffers of every correct kernel, so a backend can
// be checked against them.
//
// Conventions shared by all kernels: names are unmangled (extern "C");
// pointers are 64-bit, counts are unsigned 32-bit (keep element counts
// below 2^31); blockDim.x must be a multiple of 32, and only x dimensions
// are used. Except warp_ring, whose
// outputs are per warp, every correct kernel's result does not depend on the
// grid and block sizes.
//
// Regenerate the PTX after editing a source with go generate (see gen.go).
package kernels
