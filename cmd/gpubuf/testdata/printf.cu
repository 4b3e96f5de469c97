// Kernels that print, for the tests of where gpubuf launch, race and run
// send a kernel's output (printf_test.go). printf.ptx is what nvcc 11.8
// made of this file, compiled from this directory with
//   nvcc -ptx -lineinfo -O3 -arch=sm_70 -o printf.ptx printf.cu
// and the .file path then cut to the bare file name.
#include <cassert>
#include <cstdio>

extern "C" {

// hello prints a line from every thread, and asserts that the thread is
// one of the first n.
__global__ void hello(int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    printf("thread %d of %d\n", i, n);
    assert(i < n);
    out[i] = i;
}

// batch_print is a batch kernel for gpubuf run (in, out, nrec, rec):
// thread 0 prints the batch's record count and stores it in out[0].
__global__ void batch_print(const unsigned *in, unsigned *out, unsigned nrec, unsigned rec)
{
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        printf("batch of %u records\n", nrec);
        out[0] = nrec;
    }
}

} // extern "C"
