// Kernels that use what real CUDA code uses and the emulator's first
// front end could not read: warpSize (WARP_SZ), tables of __device__
// function pointers, recursion, switch statements, structs by value,
// __constant__ and __device__ data, local arrays, dynamic shared memory.
// And kernels the emulator refuses, each alone: printf, assert, half
// precision arithmetic, grid sync, textures, and double sin (whose slow
// path uses mad.lo.cc). TestFrontendCUDA (cpuemu/frontend_test.go) checks
// both against the CUDA source.
#include <cstdio>
#include <cassert>
#include <cuda_fp16.h>
#include <cooperative_groups.h>
namespace cg = cooperative_groups;

__constant__ float coef[4] = {1.5f, 2.5f, 3.5f, 4.5f};
__device__ int table[4] = {7, 11, 13, 17};

__device__ int add1(int x) { return x + 1; }
__device__ int twice(int x) { return 2 * x; }
__device__ int (*ops[2])(int) = {add1, twice};

__global__ void warpsz(int *out) { out[threadIdx.x] = threadIdx.x % warpSize + warpSize; }

__global__ void fptr(int *out) {
  int i = threadIdx.x;
  out[i] = ops[i & 1](i);
}

__device__ __noinline__ int fact(int n) { return n < 2 ? 1 : n * fact(n - 1); }
__global__ void recur(int *out) { out[threadIdx.x] = fact(threadIdx.x & 7); }

__global__ void sw(int *out, int k) {
  int i = threadIdx.x, v;
  switch ((i + k) % 7) {
  case 0: v = 11; break;
  case 1: v = 23; break;
  case 2: v = 37; break;
  case 3: v = 41; break;
  case 4: v = 53; break;
  case 5: v = 67; break;
  default: v = 79;
  }
  out[i] = v;
}

struct S { int a; float b; double c; char d[5]; };
__global__ void byval(S s, int *out) {
  out[threadIdx.x] = s.a + (int)s.b + (int)s.c + s.d[threadIdx.x % 5];
}

__global__ void consts(float *out, int *iout) {
  out[threadIdx.x] = coef[threadIdx.x & 3] * 2.0f;
  iout[threadIdx.x] = table[threadIdx.x & 3];
}

__global__ void localarr(int *out, int k) {
  int a[16];
  for (int i = 0; i < 16; i++) a[i] = i * k;
  out[threadIdx.x] = a[(threadIdx.x * 7) & 15];
}

extern __shared__ float dyn[];
__global__ void dynshared(float *out) {
  dyn[threadIdx.x] = threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = dyn[blockDim.x - 1 - threadIdx.x];
}

__global__ void prints(int *out) { printf("lane %d\n", threadIdx.x); out[0] = 1; }
__global__ void asserts(int *out) { assert(out != nullptr); out[threadIdx.x] = 2; }
__global__ void halves(__half *a, __half *b, __half *c) { int i = threadIdx.x; c[i] = __hadd(a[i], b[i]); }
__global__ void gridsync(int *out) { cg::grid_group g = cg::this_grid(); out[blockIdx.x] = 1; g.sync(); }
__global__ void texobj(cudaTextureObject_t t, float *out) { out[threadIdx.x] = tex1Dfetch<float>(t, threadIdx.x); }
__global__ void dsin(double *out) { out[threadIdx.x] = sin(threadIdx.x * 0.5); }

// A recursive function passes a pointer to its own local array to the call
// it makes: each activation's array is its own.
__device__ __noinline__ int rec(const int *p, int n, int k) {
  int a[4];
  for (int i = 0; i < 4; i++) a[i] = n * 10 + i;
  int s = p ? p[k] : 0;
  if (n > 0) s += rec(a, n - 1, k);
  return s;
}
__global__ void recptr(int *out) { out[threadIdx.x] = rec(nullptr, 3, threadIdx.x & 3); }

// Pointers in initialisers: one at an offset into an array (nvcc writes
// generic(g)+8), one unaligned in a packed struct (written byte by byte
// with the mask operator, 0xFF00(generic(g)+4)), and a __managed__
// variable (.attribute(.managed)).
__device__ int g[8] = {1, 2, 3, 4, 5, 6, 7, 8};
struct __attribute__((packed)) Packed { char c; int *p; };
__device__ Packed pk = {1, &g[1]};
__device__ int *pg = &g[2];
__managed__ int mv = 5;
__global__ void pointers(int *out) { out[threadIdx.x] = *pk.p + *pg + mv + pk.c; }
