// Kernels whose blocks wait for each other at a grid-wide barrier
// (cooperative_groups::this_grid().sync()), which only a cooperative
// launch (cudaLaunchCooperativeKernel) allows. TestCooperativeCUDA
// (cpuemu/coop_test.go) runs them.
#include <cooperative_groups.h>
namespace cg = cooperative_groups;

// Each thread doubles its element into tmp; after the grid sync it reads
// the element one block further on (wrapping), which another block wrote.
extern "C" __global__ void shift(const int *in, int *tmp, int *out, int n) {
  cg::grid_group g = cg::this_grid();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) tmp[i] = 2 * in[i];
  g.sync();
  if (i < n) out[i] = tmp[(i + blockDim.x) % n];
}

// The same with only a block barrier: blocks race.
extern "C" __global__ void shift_nosync(const int *in, int *tmp, int *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) tmp[i] = 2 * in[i];
  __syncthreads();
  if (i < n) out[i] = tmp[(i + blockDim.x) % n];
}

// k rounds between two buffers: each element becomes itself plus the
// element one block further on, with a grid sync after each round.
extern "C" __global__ void rounds(int *a, int *b, int n, int k) {
  cg::grid_group g = cg::this_grid();
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  for (int r = 0; r < k; r++) {
    const int *src = (r & 1) ? b : a;
    int *dst = (r & 1) ? a : b;
    if (i < n) dst[i] = src[i] + src[(i + blockDim.x) % n];
    g.sync();
  }
}

// Block 0 returns before the grid sync that the other blocks wait at:
// they wait forever.
extern "C" __global__ void early_exit(int *out) {
  cg::grid_group g = cg::this_grid();
  if (blockIdx.x == 0) return;
  g.sync();
  out[blockIdx.x] = 1;
}
