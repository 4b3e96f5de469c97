// Package bench measures gpubuf on a device and returns what it measured as
// plain result structs; it prints nothing. The gpubuf bench command prints
// the results as tables and draws them with Plot.
//
// Three sections:
//
//   - Ring: the staging ring (host.Ring, copy only) fed by one producer
//     goroutine and drained by one consumer, in GB/s and batches/s, for one
//     slot size and depth per call; and the ring's own work per batch, the
//     same ring on streams that do no work, so that it stays visible on a
//     GPU, where the driver's calls make most of a batch's time.
//   - Transfer: the three ways to get a message of a given size to a
//     kernel (Mode: a pageable copy, a page-locked staged copy, or the
//     kernel reading mapped host memory directly), each followed by the
//     same memory-bound reader kernel, in µs per message. FindCrossover
//     finds x*, the smallest measured size from which the staged copy
//     beats zero-copy. On the emulator the three modes are the same memory
//     copy: TransferNA says so, and callers show the modes as not
//     applicable rather than inventing x*.
//   - Kernels: the batch kernels of package kernels, in lane-instructions
//     per second on the emulator (run through cpuemu directly, which
//     counts them) and in GB/s of input on a GPU (timed with events).
//
// Every case runs for a Budget: a fixed count of repetitions, or as many
// as fit in a duration. Results that a kernel computes are checked against
// the Go references in package kernels, so a fast wrong answer is an error,
// not a result.
package bench
