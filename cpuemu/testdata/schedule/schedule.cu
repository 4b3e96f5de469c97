// Kernels for the checker's warnings (cpuemu/schedule_test.go): code whose
// outcome depends on the schedule though the PTX memory model finds no
// data race in it, CUDA's own synchronisation that must stay silent, the
// experimental multi-warp cg::reduce, and a block sync that half the
// block skips. See README.md.
#define _CG_ABI_EXPERIMENTAL
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>

namespace cg = cooperative_groups;

// The legacy warp-synchronous reduction that Volta's independent thread
// scheduling broke: volatile, so morally strong and no data race, but with
// no __syncwarp a lane may read its neighbour's slot before or after the
// neighbour added to it. One warp sums in[0..63] into out[0].
extern "C" __global__ void legacy_reduce(const int *in, int *out) {
  __shared__ int s[64];
  unsigned t = threadIdx.x;
  s[t] = in[t] + in[t + 32];
  __syncwarp();
  volatile int *v = s;
  if (t < 16) {
    v[t] += v[t + 16];  // @sched
    v[t] += v[t + 8];   // @sched
    v[t] += v[t + 4];   // @sched
    v[t] += v[t + 2];   // @sched
    v[t] += v[t + 1];   // @sched
  }
  if (t == 0)
    out[0] = v[0];
}

// The same with __syncwarp between the steps, reading before writing:
// ordered, so silent.
extern "C" __global__ void legacy_reduce_fixed(const int *in, int *out) {
  __shared__ int s[64];
  unsigned t = threadIdx.x;
  s[t] = in[t] + in[t + 32];
  __syncwarp();
  volatile int *v = s;
  for (int k = 16; k > 0; k >>= 1) {
    int x = 0;
    if (t < k)
      x = v[t] + v[t + k];
    __syncwarp();
    if (t < k)
      v[t] = x;
    __syncwarp();
  }
  if (t == 0)
    out[0] = v[0];
}

// A multi-warp tile's sync (details::sync_warps: atomicOr, then a volatile
// spin) between rounds in which each thread writes only its own slot: the
// synchronisation alone must give no finding.
extern "C" __global__ void tile_sync_only(int *out, int rounds) {
  __shared__ cg::experimental::block_tile_memory<4, 256> scratch;
  cg::thread_block block = cg::experimental::this_thread_block(scratch);
  auto tile = cg::experimental::tiled_partition<128>(block);
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  for (int r = 0; r < rounds; r++) {
    out[i] += tile.thread_rank();
    tile.sync();
  }
}

// CUDA 11.8's experimental multi-warp cg::reduce: a tile of 128 threads
// (four warps) with block_tile_memory; out[tile] is the tile's sum.
extern "C" __global__ void tile_reduce(const int *in, int *out) {
  __shared__ cg::experimental::block_tile_memory<4, 256> scratch;
  cg::thread_block block = cg::experimental::this_thread_block(scratch);
  auto tile = cg::experimental::tiled_partition<128>(block);
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  int sum = cg::reduce(tile, in[i], cg::plus<int>());
  if (tile.thread_rank() == 0)
    out[i / 128] = sum;
}

// cg::this_thread_block().sync() is barrier.sync, not aligned: when the
// upper half of the block returns, the lower half's sync completes, but
// every thread of a group must call its sync().
extern "C" __global__ void block_sync_half_exits(int *out) {
  cg::thread_block block = cg::this_thread_block();
  if (threadIdx.x >= blockDim.x / 2)
    return;
  out[threadIdx.x] = 1;
  block.sync();  // @exited
  out[threadIdx.x] += 1;
}
