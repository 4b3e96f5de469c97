#include <cuda_pipeline.h>
extern "C" __global__ void pipe_copy(const int4 *in, int4 *out, int n) {
    __shared__ int4 buf[2][64];
    int t = threadIdx.x;
    __pipeline_memcpy_async(&buf[0][t], &in[t], sizeof(int4));
    __pipeline_commit();
    __pipeline_memcpy_async(&buf[1][t], &in[64 + t], sizeof(int4));
    __pipeline_commit();
    __pipeline_wait_prior(1);
    int4 v = buf[0][t];
    __pipeline_wait_prior(0);
    int4 w = buf[1][t];
    out[t] = make_int4(v.x + w.x, v.y + w.y, v.z + w.z, v.w + w.w);
}
