// Kernels built on CUDA's own libraries (CUB and cooperative groups), as
// users write them. Each is correct: the checker must find no error in
// any of them, on any schedule. TestLibraryKernels (cpuemu/libs_test.go)
// checks their results against Go references.
#include <cub/cub.cuh>
#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>
#include <cooperative_groups/scan.h>

namespace cg = cooperative_groups;

// out[warp] = sum of the warp's 32 inputs.
extern "C" __global__ void cub_warp_reduce(const int *in, int *out) {
  typedef cub::WarpReduce<int> WR;
  __shared__ typename WR::TempStorage tmp[4];
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int w = threadIdx.x / 32;
  int s = WR(tmp[w]).Sum(in[t]);
  if (threadIdx.x % 32 == 0) out[t / 32] = s;
}

// out[block] = sum of the block's 128 inputs.
extern "C" __global__ void cub_block_reduce(const int *in, int *out) {
  typedef cub::BlockReduce<int, 128> BR;
  __shared__ typename BR::TempStorage tmp;
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int s = BR(tmp).Sum(in[t]);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// out = inclusive prefix sums of each block's 128 inputs, twice in a row
// through the same temporary storage (so the second scan must wait).
extern "C" __global__ void cub_block_scan(const int *in, int *out) {
  typedef cub::BlockScan<int, 128> BS;
  __shared__ typename BS::TempStorage tmp;
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int x;
  BS(tmp).InclusiveSum(in[t], x);
  __syncthreads();
  BS(tmp).InclusiveSum(x, x);
  out[t] = x;
}

// out = exclusive prefix sums within each warp.
extern "C" __global__ void cub_warp_scan(const int *in, int *out) {
  typedef cub::WarpScan<int> WS;
  __shared__ typename WS::TempStorage tmp[4];
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int x;
  WS(tmp[threadIdx.x / 32]).ExclusiveSum(in[t], x);
  out[t] = x;
}

// Each block sorts its 128 * 4 keys ascending (blocked arrangement).
extern "C" __global__ void cub_block_radix_sort(const unsigned *in, unsigned *out) {
  typedef cub::BlockLoad<unsigned, 128, 4, cub::BLOCK_LOAD_TRANSPOSE> BL;
  typedef cub::BlockRadixSort<unsigned, 128, 4> BRS;
  typedef cub::BlockStore<unsigned, 128, 4, cub::BLOCK_STORE_TRANSPOSE> BSt;
  __shared__ union {
    typename BL::TempStorage load;
    typename BRS::TempStorage sort;
    typename BSt::TempStorage store;
  } tmp;
  unsigned k[4];
  int base = blockIdx.x * 128 * 4;
  BL(tmp.load).Load(in + base, k);
  __syncthreads();
  BRS(tmp.sort).Sort(k);
  __syncthreads();
  BSt(tmp.store).Store(out + base, k);
}

// hist[b] = how many of the block's 128 * 2 inputs (each below 64) equal b;
// each block has its own 64 counters.
extern "C" __global__ void cub_block_histogram(const unsigned char *in, unsigned *hist) {
  typedef cub::BlockHistogram<unsigned char, 128, 2, 64> BH;
  __shared__ typename BH::TempStorage tmp;
  __shared__ unsigned smem[64];
  unsigned char v[2];
  int base = blockIdx.x * 256;
  v[0] = in[base + threadIdx.x * 2];
  v[1] = in[base + threadIdx.x * 2 + 1];
  BH(tmp).Histogram(v, smem);
  __syncthreads();
  if (threadIdx.x < 64) hist[blockIdx.x * 64 + threadIdx.x] = smem[threadIdx.x];
}

// out[tile] = sum over each tile of 32 threads, by cg::reduce.
extern "C" __global__ void cg_tile_reduce(const int *in, int *out) {
  cg::thread_block b = cg::this_thread_block();
  cg::thread_block_tile<32> tile = cg::tiled_partition<32>(b);
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  int s = cg::reduce(tile, in[t], cg::plus<int>());
  if (tile.thread_rank() == 0) out[t / 32] = s;
}

// out = inclusive prefix sums within tiles of 16, by cg::inclusive_scan.
extern "C" __global__ void cg_tile_scan(const int *in, int *out) {
  cg::thread_block b = cg::this_thread_block();
  cg::thread_block_tile<16> tile = cg::tiled_partition<16>(b);
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  out[t] = cg::inclusive_scan(tile, in[t]);
}

// out[block] = sum of the block's inputs: a tree in shared memory whose
// steps are separated by the block's cg sync, then a tile reduce for the
// last warp.
extern "C" __global__ void cg_block_tree(const int *in, int *out) {
  __shared__ int s[128];
  cg::thread_block b = cg::this_thread_block();
  unsigned r = b.thread_rank();
  s[r] = in[blockIdx.x * 128 + r];
  b.sync();
  for (unsigned n = 64; n >= 32; n /= 2) {
    if (r < n) s[r] += s[r + n];
    b.sync();
  }
  if (r < 32) {
    cg::thread_block_tile<32> w = cg::tiled_partition<32>(b);
    int x = cg::reduce(w, s[r], cg::plus<int>());
    if (r == 0) out[blockIdx.x] = x;
  }
}

// Coalesced groups: the odd lanes of each warp sum their inputs.
extern "C" __global__ void cg_coalesced_odd(const int *in, int *out) {
  int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t & 1) {
    cg::coalesced_group g = cg::coalesced_threads();
    int s = cg::reduce(g, in[t], cg::plus<int>());
    if (g.thread_rank() == 0) out[t / 32] = s;
  }
}
