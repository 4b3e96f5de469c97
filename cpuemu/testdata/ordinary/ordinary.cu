// Ordinary CUDA code, compiled by nvcc 11.8 for sm_70: the emulator must
// load and run what nvcc emits for it.
#include <cstdint>

struct Pair { float a; int b; };

extern "C" __global__ void saxpy(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

// Block reduction in shared memory with __syncthreads.
extern "C" __global__ void block_sum(const float* in, float* out, int n) {
  extern __shared__ float s[];
  unsigned t = threadIdx.x;
  unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = i < n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (t < stride) s[t] += s[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// Math library calls and conversions.
extern "C" __global__ void mathfn(const float* x, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  float v = x[i];
  out[6 * i + 0] = sqrtf(fabsf(v));
  out[6 * i + 1] = expf(v * 0.25f);
  out[6 * i + 2] = sinf(v);
  out[6 * i + 3] = logf(fabsf(v) + 1.0f);
  out[6 * i + 4] = v / (v * v + 1.0f);
  out[6 * i + 5] = (float)(int)(v * 3.7f) + floorf(v) + ceilf(v) + roundf(v);
}

// 64-bit integers, division, remainder, a local array with dynamic indexing.
extern "C" __global__ void intmix(const long long* x, long long* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  long long v = x[i];
  int digits[20];
  unsigned long long u = v < 0 ? -v : v;
  int k = 0;
  do { digits[k++] = u % 10; u /= 10; } while (u && k < 20);
  long long r = 0;
  for (int j = 0; j < k; j++) r = r * 10 + digits[j];  // digits reversed
  out[3 * i + 0] = v < 0 ? -r : r;
  out[3 * i + 1] = (v * 2654435761LL) >> 7;
  out[3 * i + 2] = __popcll(v) + __clzll(v | 1) + (v % 7);
}

// Atomics: float add, CAS loop (max of floats), integer atomics.
__device__ float atomicMaxFloat(float* addr, float val) {
  int* ai = (int*)addr;
  int old = *ai, assumed;
  do {
    assumed = old;
    if (__int_as_float(assumed) >= val) break;
    old = atomicCAS(ai, assumed, __float_as_int(val));
  } while (assumed != old);
  return __int_as_float(old);
}

extern "C" __global__ void atomics(const float* x, float* sum, float* mx, unsigned* cnt, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicAdd(sum, x[i]);
  atomicMaxFloat(mx, x[i]);
  if (x[i] > 0.0f) atomicInc(cnt, 0xffffffffu);
}

// A struct by value, a switch, and warp votes.
extern "C" __global__ void structs(Pair p, const int* x, int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int v = i < n ? x[i] : 0;
  int r;
  switch (v & 7) {
    case 0: r = v * 3; break;
    case 1: r = v + p.b; break;
    case 2: r = (int)(v * p.a); break;
    case 3: r = v ^ 0x55; break;
    case 5: r = -v; break;
    default: r = v >> 1; break;
  }
  unsigned ballot = __ballot_sync(0xffffffffu, v > 0);
  int any = __any_sync(0xffffffffu, v == 42);
  if (i < n) out[i] = r + __popc(ballot) + any;
}

// A non-inlined device function call.
__device__ __noinline__ unsigned hash3(unsigned a, unsigned b, unsigned c) {
  a -= c; a ^= (c << 4) | (c >> 28); c += b;
  b -= a; b ^= (a << 6) | (a >> 26); a += c;
  return a ^ b ^ c;
}

extern "C" __global__ void calls(const unsigned* x, unsigned* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = hash3(x[i], i, 0x9e3779b9u);
}

// Doubles.
extern "C" __global__ void dmath(const double* x, double* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  double v = x[i];
  out[2 * i] = v * v / (1.0 + fabs(v));
  out[2 * i + 1] = fma(v, 3.0, -1.0) + (double)(float)v;
}
