// Package host feeds kernels from the CPU: a bounded ring of page-locked
// staging slots (Ring) and, on top of it, batch pipelines of fixed-size
// records (Pipeline).
//
// The ring is the bounded buffer of the classic producer/consumer problem,
// with the device as its consumer, and it is shaped like io_uring: producers
// fill slots and submit them (the submission queue), and results come back
// through a completion queue, in submission order or as they finish.
//
//	producers ──Acquire/fill/Submit──▶ N host slots (page-locked)
//	     ▲                                   │ async copy on one of K streams
//	     │ slot free once its copy is done   ▼
//	     └──────────────────────────── device staging buffer ─▶ kernel
//	                                         │ result copied back
//	consumer ◀──────────Next────────── completion queue
//
// Acquire blocks while every slot is in use: that is the backpressure that
// keeps memory bounded however fast producers are and however slow the
// consumer is. A slot is handed out again only when the last device
// operation that reads it has completed: its copy when batches are staged,
// its kernel in zero-copy mode, where kernels read the mapped slot directly.
//
// Close drains: every submitted batch completes and is delivered. Abort
// cancels the batches that have not reached the device and reports them.
// Every batch is delivered exactly once, with its error when it failed.
package host
