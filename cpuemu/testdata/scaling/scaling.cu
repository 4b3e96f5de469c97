// The single-pass reduction of the CUDA Programming Guide's "Memory Fence
// Functions" example (and the threadFenceReduction sample): every block
// sums its share of the input, thread 0 writes the block's partial sum to
// global memory, fences, and takes a ticket from a global counter with
// atomicInc; the block that draws the last ticket adds up every block's
// partial and resets the counter for the next launch.
//
// cpuemu's checker benchmark (BenchmarkCheckScaling) runs it at grids of
// 8 to 256 blocks, and cpuemu/checkscale_test.go checks its sum and that
// the checker finds nothing in fence_reduce and the race in its twin.
//
// Launch with blockDim.x = 256 (the shared array's size; the tree below
// needs a power of two).

#define THREADS 256

__device__ unsigned int retirement_count = 0;

// fence_reduce writes the sum of in[0..n) (mod 2^32) to *out.
//
// The PTX memory model's patterns (ISA §8.8): before the ticket, the
// release pattern, the partial's write, then a fence, then the atomic (a
// strong write); after it, in the last block, the acquire pattern, the
// atomic (a strong read that sees every earlier ticket through the chain
// of read-modify-writes), then a fence. __syncthreads then hands what
// thread 0 learnt to the whole block. The Guide's example has no second
// fence and reads the partials through a volatile pointer instead.
extern "C" __global__ void fence_reduce(const unsigned* in, unsigned n, unsigned* partial, unsigned* out) {
  __shared__ unsigned s[THREADS];
  __shared__ bool am_last;
  const unsigned t = threadIdx.x;
  unsigned sum = 0;
  for (unsigned i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x) sum += in[i];
  s[t] = sum;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k) s[t] += s[t + k];
    __syncthreads();
  }
  if (t == 0) {
    partial[blockIdx.x] = s[0];
    __threadfence();  // release: the partial before the ticket
    const unsigned ticket = atomicInc(&retirement_count, gridDim.x);
    am_last = ticket == gridDim.x - 1;
    if (am_last) __threadfence();  // acquire: every ticket, so every partial, before the reads below
  }
  __syncthreads();
  if (am_last) {
    unsigned total = 0;
    for (unsigned b = t; b < gridDim.x; b += blockDim.x) total += partial[b];
    s[t] = total;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
      if (t < k) s[t] += s[t + k];
      __syncthreads();
    }
    if (t == 0) {
      *out = s[0];
      retirement_count = 0;
    }
  }
}

// fence_reduce_norelease is fence_reduce without the fence before the
// ticket, the bug the Guide's example warns of: a relaxed atomic releases
// nothing, so the partial's write is ordered before nothing another block
// does, and each of the last block's reads of another block's partial
// races with its write. RAW, inter-block, global.
extern "C" __global__ void fence_reduce_norelease(const unsigned* in, unsigned n, unsigned* partial, unsigned* out) {
  __shared__ unsigned s[THREADS];
  __shared__ bool am_last;
  const unsigned t = threadIdx.x;
  unsigned sum = 0;
  for (unsigned i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x) sum += in[i];
  s[t] = sum;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k) s[t] += s[t + k];
    __syncthreads();
  }
  if (t == 0) {
    partial[blockIdx.x] = s[0];  // @raw-write
    // BUG: no __threadfence() before the ticket.
    const unsigned ticket = atomicInc(&retirement_count, gridDim.x);
    am_last = ticket == gridDim.x - 1;
    if (am_last) __threadfence();
  }
  __syncthreads();
  if (am_last) {
    unsigned total = 0;
    for (unsigned b = t; b < gridDim.x; b += blockDim.x) total += partial[b];  // @raw-read
    s[t] = total;
    __syncthreads();
    for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
      if (t < k) s[t] += s[t + k];
      __syncthreads();
    }
    if (t == 0) {
      *out = s[0];
      retirement_count = 0;
    }
  }
}

// matmul_tiled: C = A × B for n×n row-major matrices (n a multiple of 16),
// one 16×16 tile of C per block of 16×16 threads, the tiles of A and B
// staged through shared memory between two __syncthreads, as in the CUDA
// samples' matrixMul. Launch with grid (n/16, n/16) and block (16, 16).
#define TILE 16
extern "C" __global__ void matmul_tiled(const float *a, const float *b, float *c, unsigned n) {
  __shared__ float as[TILE][TILE];
  __shared__ float bs[TILE][TILE];
  const unsigned tx = threadIdx.x, ty = threadIdx.y;
  const unsigned row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
  float acc = 0.0f;
  for (unsigned t = 0; t < n; t += TILE) {
    as[ty][tx] = a[row * n + t + tx];
    bs[ty][tx] = b[(t + ty) * n + col];
    __syncthreads();
    for (unsigned k = 0; k < TILE; ++k) acc += as[ty][k] * bs[k][tx];
    __syncthreads();
  }
  c[row * n + col] = acc;
}
