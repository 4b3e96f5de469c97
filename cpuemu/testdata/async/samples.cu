// Kernels in the manner of CUDA's samples that use asynchronous copies
// (globalToShmemAsyncCopy): cooperative_groups::memcpy_async, a
// double-buffered cuda::pipeline, and cuda::memcpy_async with a
// cuda::barrier, with a twin that reads before it waits.
// TestAsyncSamples (cpuemu/async_samples_test.go) runs them.
#pragma nv_diag_suppress static_var_with_dynamic_init
#include <cooperative_groups.h>
#include <cooperative_groups/memcpy_async.h>
#include <cuda/pipeline>
#include <cuda/barrier>
namespace cg = cooperative_groups;

// out[b] = sum of block b's 256 inputs, copied to shared with cg::memcpy_async.
extern "C" __global__ void cg_memcpy(const int *in, int *out) {
  __shared__ int s[256];
  cg::thread_block b = cg::this_thread_block();
  cg::memcpy_async(b, s, in + blockIdx.x * 256, sizeof(int) * 256);
  cg::wait(b);
  __shared__ int acc;
  if (b.thread_rank() == 0) acc = 0;
  b.sync();
  atomicAdd(&acc, s[b.thread_rank()]);
  b.sync();
  if (b.thread_rank() == 0) out[blockIdx.x] = acc;
}

// Double-buffered tiles through cuda::pipeline (thread scope), as the
// samples' globalToShmemAsyncCopy does: out[t] = 2 * in[t].
extern "C" __global__ void pipe_double(const int *in, int *out, int ntiles) {
  __shared__ int buf[2][128];
  auto pipe = cuda::make_pipeline();
  int t = threadIdx.x;
  pipe.producer_acquire();
  cuda::memcpy_async(&buf[0][t], &in[t], sizeof(int), pipe);
  pipe.producer_commit();
  for (int i = 0; i < ntiles; i++) {
    if (i + 1 < ntiles) {
      pipe.producer_acquire();
      cuda::memcpy_async(&buf[(i + 1) & 1][t], &in[(i + 1) * 128 + t], sizeof(int), pipe);
      pipe.producer_commit();
    }
    pipe.consumer_wait();
    out[i * 128 + t] = 2 * buf[i & 1][t];
    pipe.consumer_release();
  }
}

// cuda::barrier with cuda::memcpy_async: the block copies a tile, every
// thread reads its neighbour's word: out[t] = in[(t+1)%256].
extern "C" __global__ void barrier_copy(const int *in, int *out) {
  __shared__ int s[256];
  __shared__ cuda::barrier<cuda::thread_scope_block> bar;
  auto block = cg::this_thread_block();
  if (block.thread_rank() == 0) init(&bar, block.size());
  block.sync();
  cuda::memcpy_async(block, s, in, sizeof(int) * 256, bar);
  bar.arrive_and_wait();
  out[threadIdx.x] = s[(threadIdx.x + 1) % 256];
}

// The same, racy: reads before waiting.
extern "C" __global__ void barrier_copy_racy(const int *in, int *out) {
  __shared__ int s[256];
  __shared__ cuda::barrier<cuda::thread_scope_block> bar;
  auto block = cg::this_thread_block();
  if (block.thread_rank() == 0) init(&bar, block.size());
  block.sync();
  cuda::memcpy_async(block, s, in, sizeof(int) * 256, bar);
  int v = s[(threadIdx.x + 1) % 256];
  bar.arrive_and_wait();
  out[threadIdx.x] = v;
}
