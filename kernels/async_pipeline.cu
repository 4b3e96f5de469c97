// ptxbuild: arch=sm_80
//
// An S-stage asynchronous pipeline, warp-specialised: CUTLASS's
// PipelineAsync written out with the Ampere instructions it is built on.
// Warp 0 (the producer) streams tiles from global memory into `stages`
// shared-memory stages with cp.async; warps 1.. (the consumers) reduce
// each tile. Each stage s has two mbarriers:
//
//   full[s]   counts the 32 producer threads; its phase k completes when
//             the k-th tile put in s has landed (cp.async.mbarrier.arrive)
//             and the producer's stores for it are released (arrive);
//   empty[s]  counts every consumer thread; its phase k completes when
//             all of them have finished reading the k-th tile of s.
//
// Round r = i / stages of tile i waits on phase r of full[s] (parity r&1)
// and, in the producer, on phase r-1 of empty[s]: parity (r&1)^1, which on
// a fresh barrier (round 0) is the phase "before phase 0", complete by
// definition, so the first wait on each stage returns at once. That is
// CUTLASS's producer start state (phase 1).
//
// A tile is tile_words words (a multiple of 4, 4..1024). Block b takes
// tiles b, b + gridDim.x, ... For tile t (x ranging over in[t*tile_words ..
// (t+1)*tile_words)):
//
//   sums[3t .. 3t+3) = {sum of x mod 2^32, min x, max x}   (batch_reduce's)
//
// The pipeline also runs a logical clock, to measure the stage bound (see
// AsyncPipelineTimeline in ref.go and `gpubuf sdf --latency`): a copy takes
// `latency` ticks from issue to landing, a consumer takes `work` ticks per
// tile, and the producer issues tile i of its block as soon as tile i-1 is
// issued and stage s is free:
//
//   issue(i)  = max(issue(i-1), free(i - stages))   (0 for indices < 0)
//   ready(i)  = issue(i) + latency
//   start(i)  = max(done(i-1), ready(i))            (done(-1) = 0)
//   done(i)   = free(i) = start(i) + work
//   timeline[2t], timeline[2t+1] = ready(i), start(i)
//
// The consumer waits at tile i when ready(i) > done(i-1). The times travel
// through shared memory with the tiles (ready_at[s] with the copy, free_at[s]
// with the release), ordered by the same mbarriers.
//
// Launch with blockDim.x a multiple of 32 and at least 64 (one producer
// warp, one consumer warp or more), in 16-byte aligned. With stages outside
// 1..8, tile_words outside 4..1024 or not a multiple of 4, or an unusable
// blockDim the kernel returns without writing anything.
//
// One body serves the correct kernel and its racy twins; the template
// argument selects the bug.

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr unsigned kMaxStages = 8;
constexpr unsigned kMaxTileWords = 1024;

enum PipelineBug {
  kCorrect,
  kNoWait,        // a consumer reads the stage before its "full" wait
  kEarlyEmpty,    // a consumer releases the stage before it has read it
  kProducerParity,  // the producer's first "empty" wait uses parity 0
  kFullParity,    // a consumer's "full" waits use the wrong parity
};

// All of the pipeline's shared state, in one object so that its layout is
// fixed: full[0] at shared offset 0, empty[0] at 8*kMaxStages = 0x40.
struct __align__(16) Pipe {
  unsigned long long full[kMaxStages];
  unsigned long long empty[kMaxStages];
  unsigned ready_at[kMaxStages];  // logical time the stage's tile lands
  unsigned free_at[kMaxStages];   // logical time the consumers release it
  unsigned buf[kMaxStages][kMaxTileWords];
};

__device__ __forceinline__ unsigned smem(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// The "memory" clobbers keep the compiler from moving shared-memory
// accesses across a barrier operation.
__device__ __forceinline__ void mbar_init(unsigned long long* bar, unsigned count) {
  asm volatile("mbarrier.init.shared.b64 [%0], %1;" ::"r"(smem(bar)), "r"(count) : "memory");
}

// An arrive-on: a release at CTA scope of everything this thread did
// before it, to every thread whose wait observes the phase it completes.
__device__ __forceinline__ void mbar_arrive(unsigned long long* bar) {
  asm volatile("{\n\t.reg .b64 state;\n\tmbarrier.arrive.shared.b64 state, [%0];\n\t}" ::"r"(smem(bar))
               : "memory");
}

// Waits for the phase of parity `parity` to complete: the current phase if
// its parity is `parity`, else the one before it (which has, so it returns
// at once). An acquire at CTA scope of the arrivals of that phase. sm_80
// has test_wait only (try_wait is sm_90), so the wait polls.
__device__ __forceinline__ void mbar_wait(unsigned long long* bar, unsigned parity) {
  unsigned done;
  do {
    asm volatile(
        "{\n\t.reg .pred p;\n\tmbarrier.test_wait.parity.shared.b64 p, [%1], %2;\n\tselp.u32 %0, 1, 0, p;\n\t}"
        : "=r"(done)
        : "r"(smem(bar)), "r"(parity)
        : "memory");
  } while (!done);
}

// A 16-byte asynchronous copy from global to shared memory (cache at L2
// only: the tile is read once).
__device__ __forceinline__ void cp_async16(unsigned* dst, const unsigned* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem(dst)), "l"(src) : "memory");
}

// Makes the current phase of bar wait for this thread's earlier cp.async
// copies: one more pending arrival now, which arrives when they land.
__device__ __forceinline__ void cp_async_arrive(unsigned long long* bar) {
  asm volatile("cp.async.mbarrier.arrive.shared.b64 [%0];" ::"r"(smem(bar)) : "memory");
}

__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;" ::: "memory"); }

struct Reduction {
  unsigned sum, lo, hi;
};

// One consumer warp's share of a tile: words c*32 + lane, stepping by the
// consumer threads, reduced over the warp. Every lane makes the same trips.
__device__ __forceinline__ Reduction reduce_stage(const unsigned* stage, unsigned tile_words,
                                                  unsigned c, unsigned nconsumers, unsigned lane) {
  Reduction r{0, 0xffffffffu, 0};
  for (unsigned base = c * 32; base < tile_words; base += 32 * nconsumers) {
    if (base + lane < tile_words) {
      const unsigned x = stage[base + lane];  // the consumer's read of the stage
      r.sum += x;
      r.lo = min(r.lo, x);
      r.hi = max(r.hi, x);
    }
  }
#pragma unroll
  for (unsigned d = 16; d > 0; d /= 2) {
    r.sum += __shfl_xor_sync(kFullMask, r.sum, d);
    r.lo = min(r.lo, __shfl_xor_sync(kFullMask, r.lo, d));
    r.hi = max(r.hi, __shfl_xor_sync(kFullMask, r.hi, d));
  }
  return r;
}

template <PipelineBug kBug>
__device__ __forceinline__ void async_pipeline_body(
    const unsigned* __restrict__ in, unsigned* __restrict__ sums, unsigned* __restrict__ timeline,
    unsigned ntiles, unsigned tile_words, unsigned stages, unsigned latency, unsigned work) {
  __shared__ Pipe pipe;

  const unsigned warp = threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  const unsigned nconsumers = blockDim.x / 32 - 1;
  // Uniform over the block, so either every thread returns or none does.
  if (stages == 0 || stages > kMaxStages || tile_words < 4 || tile_words > kMaxTileWords ||
      tile_words % 4 != 0 || blockDim.x % 32 != 0 || nconsumers == 0)
    return;

  if (threadIdx.x == 0) {
    for (unsigned s = 0; s < stages; ++s) {
      mbar_init(&pipe.full[s], 32);
      mbar_init(&pipe.empty[s], 32 * nconsumers);
      pipe.free_at[s] = 0;
    }
  }
  // Orders the initialisation before every thread's first use.
  __syncthreads();

  // This block's tiles: blockIdx.x + i * gridDim.x for i < mine.
  const unsigned mine = blockIdx.x < ntiles ? (ntiles - blockIdx.x - 1) / gridDim.x + 1 : 0;
  // CUTLASS's producer start state is phase 1: the producer's first wait
  // on each empty barrier asks for the phase before phase 0.
  const unsigned producer_start = kBug == kProducerParity ? 0 : 1;
  const unsigned consumer_start = kBug == kFullParity ? 1 : 0;

  if (warp == 0) {
    unsigned issued = 0;  // logical time of the last issue
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned round = i / stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      // producer_acquire: wait until every consumer has released the tile
      // that last held stage s (round - 1), so the copies below cannot
      // overwrite what is still being read (write after read), and acquire
      // free_at[s].
      mbar_wait(&pipe.empty[s], (round & 1) ^ producer_start);
      issued = max(issued, pipe.free_at[s]);
      if (lane == 0) {
        pipe.ready_at[s] = issued + latency;
        sums[3 * t] = 0;
        sums[3 * t + 1] = 0xffffffffu;
        sums[3 * t + 2] = 0;
      }
      const unsigned* src = in + t * tile_words;
      for (unsigned j = 4 * lane; j < tile_words; j += 4 * 32) cp_async16(&pipe.buf[s][j], src + j);
      // producer_commit: phase `round` of full[s] cannot complete before
      // this thread's copies land ...
      cp_async_arrive(&pipe.full[s]);
      // ... nor before this arrival, which releases ready_at[s] and the
      // sums' initial values to the consumers that wait on the phase.
      mbar_arrive(&pipe.full[s]);
    }
    // Keep the producer's copies in flight to the end of its thread, as
    // CUTLASS's producer tail does; the consumers' waits cover them anyway.
    cp_async_wait_all();
  } else {
    const unsigned c = warp - 1;
    unsigned done = 0;  // logical time the previous tile was finished
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned round = i / stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      Reduction r;
      if (kBug == kNoWait)  // the bug: the stage is read before the wait that covers its copies
        r = reduce_stage(pipe.buf[s], tile_words, c, nconsumers, lane);
      // consumer_wait: wait for phase `round` of full[s]: the tile's copies
      // have landed (read after write) and the producer's stores before its
      // arrival are visible.
      mbar_wait(&pipe.full[s], (round & 1) ^ consumer_start);
      const unsigned ready = pipe.ready_at[s];
      const unsigned start = max(done, ready);
      done = start + work;
      if (kBug == kEarlyEmpty) {  // the bug: the stage is released before it is read
        if (c == 0 && lane == 0) pipe.free_at[s] = done;
        mbar_arrive(&pipe.empty[s]);
      }
      if (kBug != kNoWait) r = reduce_stage(pipe.buf[s], tile_words, c, nconsumers, lane);
      if (kBug != kEarlyEmpty) {
        // consumer_release: this thread has finished reading stage s (and,
        // in consumer 0's lane 0, written free_at[s]); once every consumer
        // thread has arrived, the producer may refill it.
        if (c == 0 && lane == 0) pipe.free_at[s] = done;
        mbar_arrive(&pipe.empty[s]);
      }
      if (lane == 0) {
        atomicAdd(&sums[3 * t], r.sum);
        atomicMin(&sums[3 * t + 1], r.lo);
        atomicMax(&sums[3 * t + 2], r.hi);
      }
      if (c == 0 && lane == 0) {
        timeline[2 * t] = ready;
        timeline[2 * t + 1] = start;
      }
    }
  }
}

}  // namespace

extern "C" __global__ void async_pipeline(const unsigned* __restrict__ in, unsigned* __restrict__ sums,
                                          unsigned* __restrict__ timeline, unsigned ntiles,
                                          unsigned tile_words, unsigned stages, unsigned latency,
                                          unsigned work) {
  async_pipeline_body<kCorrect>(in, sums, timeline, ntiles, tile_words, stages, latency, work);
}

// Racy twin: consumers reduce the stage before waiting on "full", so they
// may read it before the producer's cp.async has landed (read after write
// against the asynchronous copy).
extern "C" __global__ void async_pipeline_nowait(const unsigned* __restrict__ in,
                                                 unsigned* __restrict__ sums,
                                                 unsigned* __restrict__ timeline, unsigned ntiles,
                                                 unsigned tile_words, unsigned stages,
                                                 unsigned latency, unsigned work) {
  async_pipeline_body<kNoWait>(in, sums, timeline, ntiles, tile_words, stages, latency, work);
}

// Racy twin: consumers arrive on "empty" before they reduce the stage, so
// the producer's next copies into it may land while it is still being read
// (write after read).
extern "C" __global__ void async_pipeline_early_empty(const unsigned* __restrict__ in,
                                                      unsigned* __restrict__ sums,
                                                      unsigned* __restrict__ timeline,
                                                      unsigned ntiles, unsigned tile_words,
                                                      unsigned stages, unsigned latency,
                                                      unsigned work) {
  async_pipeline_body<kEarlyEmpty>(in, sums, timeline, ntiles, tile_words, stages, latency, work);
}

// Deadlocking twin: the producer starts in phase 0 instead of 1, so its
// first wait on empty[0] asks for phase 0 to complete, which needs the
// consumers to release a tile they are still waiting to receive.
extern "C" __global__ void async_pipeline_parity(const unsigned* __restrict__ in,
                                                 unsigned* __restrict__ sums,
                                                 unsigned* __restrict__ timeline, unsigned ntiles,
                                                 unsigned tile_words, unsigned stages,
                                                 unsigned latency, unsigned work) {
  async_pipeline_body<kProducerParity>(in, sums, timeline, ntiles, tile_words, stages, latency, work);
}

// Racy twin: consumers start in phase 1, so each "full" wait asks for the
// phase before the one they need, which has completed: it returns at once
// and the stage is read before its copies are known to have landed (read
// after write, not a deadlock).
extern "C" __global__ void async_pipeline_full_parity(const unsigned* __restrict__ in,
                                                      unsigned* __restrict__ sums,
                                                      unsigned* __restrict__ timeline,
                                                      unsigned ntiles, unsigned tile_words,
                                                      unsigned stages, unsigned latency,
                                                      unsigned work) {
  async_pipeline_body<kFullParity>(in, sums, timeline, ntiles, tile_words, stages, latency, work);
}
