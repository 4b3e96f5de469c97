// ptxbuild: arch=sm_80
//
// warp_specialized (see warp_specialized.cu) with its full and empty
// signals as cuda::barrier<thread_scope_block> objects instead of named
// barriers: the same tiles, stages, roles and output, the other sync
// style. On sm_80 libcu++ builds the barrier on an mbarrier in shared
// memory: arrive() is mbarrier.arrive (a release), and wait(token) polls
// mbarrier.test_wait with the token (an acquire), backing off with
// nanosleep.
//
// As with the named barriers, every barrier counts every thread of the
// block: the side that signals arrives and goes on, the side that waits
// arrives and waits for the phase its own arrival belongs to
// (arrive_and_wait). A tile is 8 rows of 32 words. Block b takes tiles b,
// b + gridDim.x, ... For tile t, row r, column c (x = in[256t + 32r + c]):
//   out[256t + 32r + c] = (x ^ (x >> 16)) * 0x045D9F3B
//   row_sums[8t + r]    = sum over c of out[256t + 32r + c]  (mod 2^32)
//
// Launch with blockDim.x a multiple of 32 and at least 64. With stages
// outside 1..4 or an unusable blockDim the kernel writes nothing.

#include <cuda/barrier>

namespace {

using Barrier = cuda::barrier<cuda::thread_scope_block>;

constexpr unsigned kFullMask = 0xffffffffu;
constexpr unsigned kTileRows = 8;
constexpr unsigned kTileWords = kTileRows * 32;
constexpr unsigned kMaxStages = 4;

__device__ __forceinline__ unsigned consume(unsigned x) {
  return (x ^ (x >> 16)) * 0x045D9F3Bu;
}

}  // namespace

extern "C" __global__ void warp_specialized_barrier(const unsigned* __restrict__ in,
                                                    unsigned* __restrict__ out,
                                                    unsigned* __restrict__ row_sums,
                                                    unsigned ntiles, unsigned stages) {
  __shared__ unsigned stage_buf[kMaxStages][kTileRows][32];
  // A __shared__ object's constructor never runs (nvcc warns of the
  // "dynamic initialization", as the CUDA Programming Guide's own barrier
  // examples would); init() below sets each barrier up instead.
#pragma nv_diag_suppress static_var_with_dynamic_init
  __shared__ Barrier full[kMaxStages], empty[kMaxStages];
#pragma nv_diag_default static_var_with_dynamic_init

  const unsigned nthreads = blockDim.x;
  const unsigned warp = threadIdx.x / 32;
  const unsigned lane = threadIdx.x % 32;
  const unsigned nconsumers = blockDim.x / 32 - 1;
  // Uniform over the block, so either every thread returns or none does.
  if (stages == 0 || stages > kMaxStages || nthreads % 32 != 0 || nconsumers == 0) return;

  if (threadIdx.x == 0) {
    for (unsigned s = 0; s < stages; ++s) {
      init(&full[s], nthreads);
      init(&empty[s], nthreads);
    }
  }
  // Orders the initialisation before every thread's first arrival.
  __syncthreads();

  const unsigned mine =
      blockIdx.x < ntiles ? (ntiles - blockIdx.x - 1) / gridDim.x + 1 : 0;

  if (warp == 0) {
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      // Stage s last held tile i - stages: wait until every consumer has
      // arrived after reading it (write after read); the consumers'
      // arrivals release their reads, this wait acquires them.
      if (i >= stages) empty[s].arrive_and_wait();
      for (unsigned r = 0; r < kTileRows; ++r)
        stage_buf[s][r][lane] = in[t * kTileWords + r * 32 + lane];
      // Publish the tile (read after write): the arrival releases the
      // stores above to the consumers whose wait completes this phase.
      // The token is dropped: the producer does not wait for readers.
      (void)full[s].arrive();
    }
  } else {
    const unsigned c = warp - 1;
    for (unsigned i = 0; i < mine; ++i) {
      const unsigned s = i % stages;
      const unsigned t = blockIdx.x + i * gridDim.x;
      // Wait for the producer's copy of tile i into stage s: the phase
      // completes with the producer's arrival, and the wait acquires it.
      full[s].arrive_and_wait();
      for (unsigned r = c; r < kTileRows; r += nconsumers) {
        const unsigned v = consume(stage_buf[s][r][lane]);
        out[t * kTileWords + r * 32 + lane] = v;
        unsigned sum = v;
#pragma unroll
        for (unsigned d = 16; d > 0; d /= 2) sum += __shfl_xor_sync(kFullMask, sum, d);
        if (lane == 0) row_sums[t * kTileRows + r] = sum;
      }
      // Release stage s (its reads happen before this arrival), but only
      // if the producer will wait for it: it refills s for tile
      // i + stages. An arrival nobody waits for would leave the phase
      // incomplete when the block exits.
      if (i + stages < mine) (void)empty[s].arrive();
    }
  }
}
