// Warp specialisation: one producer warp copies tiles from global memory
// into a ring of `stages` shared-memory stages; the other warps of the block
// (the consumers) transform each tile and sum its rows. Full and empty are
// signalled per stage with named barriers, as CUTLASS's NamedBarrier does:
// the side that signals uses bar.arrive (it does not wait), the side that
// waits uses bar.sync, and each barrier counts every thread of the block.
// The two sides reach a barrier from different instructions, which is legal
// for named barriers with a thread count.
//
// A tile is 8 rows of 32 words. Block b takes tiles b, b + gridDim.x, ...
// For tile t, row r, column c (x = in[256t + 32r + c]):
//   out[256t + 32r + c] = (x ^ (x >> 16)) * 0x045D9F3B
//   row_sums[8t + r]    = sum over c of out[256t + 32r + c]  (mod 2^32)
//
// Launch with blockDim.x a multiple of 32 and at least 64 (warp 0 produces,
// warps 1.. consume; warps past the 8th consumer have no rows but still
// take part in the barriers). With stages outside 1..4 or an unusable
// blockDim the kernel returns without writing anything.

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr unsigned kTileRows = 8;
constexpr unsigned kTileWords = kTileRows * 32;
constexpr unsigned kMaxStages = 4;

// Barrier 0 belongs to __syncthreads. Stage s is full at 1+s, empty at 5+s.
__device__ __forceinline__ unsigned full_barrier(unsigned s) { return 1 + s; }
__device__ __forceinline__ unsigned empty_barrier(unsigned s) { return 1 + kMaxStages + s; }

// The "memory" clobbers keep the compiler from moving shared-memory
// accesses across a barrier, just as __syncthreads() does.
__device__ __forceinline__ void barrier_sync(unsigned id, unsigned nthreads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(nthreads) : "memory");
}
__device__ __forceinline__ void barrier_arrive(unsigned id, unsigned nthreads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(nthreads) : "memory");
}

__device__ __forceinline__ unsigned consume(unsigned x) {
  return (x ^ (x >> 16)) * 0x045D9F3Bu;
}

}  // namespace

extern "C" __global__ void warp_specialized(const unsigned* __restrict__ in,
                                            unsigned* __restrict__ out,
                                            unsigned* __restrict__ row_sums,
                                            unsigned ntiles, unsigned stages) {
  __shared__ unsigned stage_buf[kMaxStages][kTileRows][32];

  const unsigned nthreads = blockDim.x;
  const unsigned warp = threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  const unsigned nconsumers = blockDim.x / 32 - 1;
  // Uniform over the block, so either every thread returns or none does.
  if (stages == 0 || stages > kMaxStages || nthreads % 32 != 0 || nconsumers == 0) return;

  // This block's tiles: blockIdx.x + i * gridDim.x for i < mine.
  const unsigned mine =
      blockIdx.x < ntiles ? (ntiles - blockIdx.x - 1) / gridDim.x + 1 : 0;

  if (warp == 0) {
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      // Stage s last held tile i - stages: wait until every consumer has
      // read it before overwriting it (write after read).
      if (i >= stages) barrier_sync(empty_barrier(s), nthreads);
      for (unsigned r = 0; r < kTileRows; ++r)
        stage_buf[s][r][lane] = in[t * kTileWords + r * 32 + lane];
      // Publish the tile (read after write); no need to wait for readers.
      barrier_arrive(full_barrier(s), nthreads);
    }
  } else {
    const unsigned c = warp - 1;
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      // Wait for the producer's copy of tile i into stage s.
      barrier_sync(full_barrier(s), nthreads);
      for (unsigned r = c; r < kTileRows; r += nconsumers) {
        const unsigned v = consume(stage_buf[s][r][lane]);
        out[t * kTileWords + r * 32 + lane] = v;
        unsigned sum = v;
#pragma unroll
        for (unsigned d = 16; d > 0; d /= 2) sum += __shfl_xor_sync(kFullMask, sum, d);
        if (lane == 0) row_sums[t * kTileRows + r] = sum;
      }
      // Release stage s, but only if the producer will wait for it (it
      // refills s for tile i + stages); an arrival nobody waits for would be
      // left pending on the barrier when the block exits.
      if (i + stages < mine) barrier_arrive(empty_barrier(s), nthreads);
    }
  }
}
