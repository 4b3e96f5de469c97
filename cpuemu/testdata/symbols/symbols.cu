// Kernels that use module data the host sets and reads (cudaMemcpyToSymbol,
// cudaMemcpyFromSymbol: cuModuleGetGlobal on the driver API), and
// parameters narrower than 32 bits. TestSymbolsCUDA (cpuemu/symbols_test.go)
// runs them.

// A counter in global memory that the host reads and writes between
// launches: each thread adds its step, and thread 0 of block 0 reports
// what it found.
__device__ unsigned int counter;
__device__ unsigned int seen;

extern "C" __global__ void bump(unsigned int step) {
  unsigned int old = atomicAdd(&counter, step);
  if (blockIdx.x == 0 && threadIdx.x == 0) seen = old;
}

// A table in constant memory, with an initial value, that the host
// replaces; every thread looks its word up.
__constant__ int table[8] = {1, 2, 3, 4, 5, 6, 7, 8};
__constant__ float scale = 0.5f;

extern "C" __global__ void lookup(float *out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = table[i % 8] * scale;
}

// Parameters of 8 and 16 bits, signed and unsigned: each widened to a
// 32-bit word of out as its own type says.
extern "C" __global__ void narrow(unsigned char a, signed char b, unsigned short c, short d, int *out) {
  if (threadIdx.x == 0) {
    out[0] = a;
    out[1] = b;
    out[2] = c;
    out[3] = d;
  }
}
