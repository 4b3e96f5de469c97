#include <cuda/pipeline>
#include <cooperative_groups.h>
namespace cg = cooperative_groups;
extern "C" __global__ void pl_copy(const int *in, int *out, int n) {
    __shared__ int buf[2][128];
    auto pipe = cuda::make_pipeline();
    int t = threadIdx.x;
    for (int s = 0; s < 2; s++) {
        pipe.producer_acquire();
        cuda::memcpy_async(&buf[s][t], &in[s * 128 + t], sizeof(int), pipe);
        pipe.producer_commit();
    }
    int acc = 0;
    for (int s = 0; s < 2; s++) {
        pipe.consumer_wait();
        acc += buf[s][t];
        pipe.consumer_release();
    }
    out[t] = acc;
}
