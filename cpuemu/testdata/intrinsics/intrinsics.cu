// Kernels whose PTX uses the integer instructions that CUDA's intrinsics
// and libraries emit: dp4a and dp2a (__dp4a, __dp2a_lo, __dp2a_hi), and
// extended-precision add and multiply-add (add.cc, addc, mad.lo.cc, madc)
// from unsigned __int128 arithmetic and from double sin's argument
// reduction for large arguments.
// TestIntrinsicsCUDA (cpuemu/int_instr_test.go) runs them.

__global__ void dots(const int *a, const int *b, int *out) {
  int i = threadIdx.x;
  out[4 * i] = __dp4a(a[i], b[i], i);
  out[4 * i + 1] = __dp4a((unsigned)a[i], (unsigned)b[i], (unsigned)i);
  out[4 * i + 2] = __dp2a_lo(a[i], b[i], 7);
  out[4 * i + 3] = __dp2a_hi((unsigned)a[i], (unsigned)b[i], 5u);
}

__global__ void wide(const unsigned long long *a, const unsigned long long *b,
                     const unsigned long long *c, unsigned long long *out) {
  int i = threadIdx.x;
  unsigned __int128 p = (unsigned __int128)a[i] * b[i] + c[i];
  out[2 * i] = (unsigned long long)p;
  out[2 * i + 1] = (unsigned long long)(p >> 64);
}

__global__ void bigsin(const double *x, double *out) {
  int i = threadIdx.x;
  out[i] = sin(x[i]);
}
