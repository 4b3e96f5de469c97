// Racy twin (deadlock): half of each warp waits at __syncwarp() while the
// other half waits at __syncthreads().
//
// __syncwarp() (bar.warp.sync -1) waits for all 32 lanes of the warp to
// reach a __syncwarp; lanes 16-31 never will, because they are waiting at
// __syncthreads() (bar.sync 0), which since Volta waits for every thread of
// the block, including lanes 0-15 of their own warp. Neither side can move:
// a deadlock (and a __syncthreads in divergent code is undefined anyway).
//
// out[i] (one word per thread, i = global thread index) is set to 1 before
// the syncs and would be set to 2 after them, so after an aborted run it
// shows that no thread got through.

extern "C" __global__ void divergent_syncwarp(unsigned* __restrict__ out) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  out[i] = 1;
  if (threadIdx.x % 32 < 16) {
    __syncwarp();
  } else {
    __syncthreads();
  }
  out[i] = 2;
}
