#include <cuda/barrier>
#include <cooperative_groups.h>
#include <cooperative_groups/memcpy_async.h>
namespace cg = cooperative_groups;
using barrier = cuda::barrier<cuda::thread_scope_block>;
extern "C" __global__ void bar_copy(const int *in, int *out) {
    __shared__ int buf[128];
    __shared__ barrier bar;
    auto block = cg::this_thread_block();
    if (block.thread_rank() == 0) init(&bar, block.size());
    block.sync();
    cuda::memcpy_async(block, buf, in, sizeof(int) * 128, bar);
    bar.arrive_and_wait();
    out[threadIdx.x] = buf[(threadIdx.x + 1) % 128];
    auto tok = bar.arrive();
    bar.wait(std::move(tok));
}
