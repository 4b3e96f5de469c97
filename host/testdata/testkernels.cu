// Kernels for the host package's tests: a slow kernel that proves its input
// does not change while it runs, and a kernel that faults on demand.
//
// Regenerate testkernels.ptx after editing this file (nvcc 11.8). Compile in
// kernels/internal/ptxbuild's fixed staging directory, so that the PTX does
// not depend on where the repository is, then name the source by its
// repository path, and CUDA headers by their path below include/, in the
// .file directives (what ptxbuild.Rewrite does for kernels/):
//
//	mkdir -p /tmp/gpubuf-ptx-staging && cp host/testdata/testkernels.cu /tmp/gpubuf-ptx-staging/
//	(cd /tmp/gpubuf-ptx-staging && nvcc -ptx -lineinfo -O3 -arch=sm_70 --allow-unsupported-compiler testkernels.cu)
//	sed -e 's|"/tmp/gpubuf-ptx-staging/|"host/testdata/|' -e 's|"/[^"]*/include/|"|' \
//		/tmp/gpubuf-ptx-staging/testkernels.ptx >host/testdata/testkernels.ptx
//
// Launch both with one warp: grid 1, block 32.

namespace {

constexpr unsigned kFullMask = 0xffffffffu;

// warp_sum adds x over the 32 lanes of a full warp; every lane gets it.
__device__ __forceinline__ unsigned warp_sum(unsigned x) {
  for (unsigned d = 16; d > 0; d /= 2) {
    x += __shfl_xor_sync(kFullMask, x, d);
  }
  return x;
}

// sum_words adds in[0..nwords) over the warp, reading through a volatile
// pointer so that every call loads the memory again.
__device__ __forceinline__ unsigned sum_words(const volatile unsigned* in,
                                              unsigned nwords) {
  unsigned s = 0;
  for (unsigned i = threadIdx.x % 32; i < nwords; i += 32) {
    s += in[i];
  }
  return warp_sum(s);
}

}  // namespace

// slow_sum reads in[0..nwords), spins for `spins` iterations, and reads it
// again: out[0] is the sum (mod 2^32) before the spin, out[1] the sum after
// it. They differ only when something wrote the input while the kernel ran.
extern "C" __global__ void slow_sum(const unsigned* in, unsigned* out,
                                    unsigned nwords, unsigned spins) {
  const volatile unsigned* vin = in;
  const unsigned before = sum_words(vin, nwords);
  for (unsigned k = 0; k < spins; ++k) {
    asm volatile("");  // keeps the loop: the compiler may not remove it
  }
  __syncwarp();
  const unsigned after = sum_words(vin, nwords);
  if (threadIdx.x == 0) {
    out[0] = before;
    out[1] = after;
  }
}

// fault_if faults when in[0] is 0xDEADBEEF, storing far past the end of
// out; otherwise out[0] = in[0] and out[1] = n.
extern "C" __global__ void fault_if(const unsigned* in, unsigned* out,
                                    unsigned n) {
  if (threadIdx.x != 0) {
    return;
  }
  const unsigned x = in[0];
  if (x == 0xDEADBEEFu) {
    volatile unsigned* bad = out + (1u << 30);
    *bad = 1;
    return;
  }
  out[0] = x;
  out[1] = n;
}
