// Per-warp double buffer (ping-pong) over a stream of 16-word items.
//
// Warp w owns items w, w + W, w + 2W, ... (W = warps in the grid), m of
// them. It runs m + 1 steps. In step k the producers (lanes 16-31) fill
// buffer k&1 with item k while the consumers (lanes 0-15) drain buffer
// (k-1)&1, which holds item k-1:
//
//   P(j)              = in[16*item + j] * 0x9E3779B1 + 0x7F4A7C15
//   out[16*item + j]  = P(j) + rotl(P((j+1) % 16), 7)
//
// Consumers read their neighbour's word too, so a buffer is shared by all
// 16 producers, not just by a lane pair. Producers take the upper half of
// the warp (unlike lane_handoff) so that a scheduler that runs the highest
// lane first runs the producers ahead: that is the order in which the racy
// twin below breaks.
//
// Launch with blockDim.x a multiple of 32 (at most 1024).

namespace {

constexpr unsigned kHalf = 16;
constexpr unsigned kMaxWarps = 32;

__device__ __forceinline__ unsigned produce(unsigned x) {
  return x * 0x9E3779B1u + 0x7F4A7C15u;
}

__device__ __forceinline__ unsigned rotl(unsigned x, unsigned r) {
  return (x << r) | (x >> (32 - r));
}

// kBuffers = 2 is the ping-pong; kBuffers = 1 is the racy twin, the same
// code with both steps' items in one buffer.
template <unsigned kBuffers>
__device__ __forceinline__ void pingpong_body(const unsigned* __restrict__ in,
                                              unsigned* __restrict__ out,
                                              unsigned nitems) {
  __shared__ unsigned bufs[kMaxWarps][2][kHalf];

  const unsigned lane = threadIdx.x % 32;
  const unsigned j = lane % kHalf;
  const bool producer = lane >= kHalf;
  unsigned (*const buf)[kHalf] = bufs[threadIdx.x / 32];

  const unsigned warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const unsigned nwarps = gridDim.x * blockDim.x / 32;
  const unsigned m = warp < nitems ? (nitems - warp - 1) / nwarps + 1 : 0;

  // k and m are warp-uniform, so every lane runs every step and meets the
  // same syncs.
  for (unsigned k = 0; k <= m; ++k) {
    if (producer && k < m) {
      const unsigned item = warp + k * nwarps;
      buf[k % kBuffers][j] = produce(in[item * kHalf + j]);
    }
    if (!producer && k > 0) {
      const unsigned item = warp + (k - 1) * nwarps;
      const unsigned* const b = buf[(k - 1) % kBuffers];
      out[item * kHalf + j] = b[j] + rotl(b[(j + 1) % kHalf], 7);
    }
    // The one sync a step needs. It orders this step's fill of buffer k&1
    // before the next step's drain of it (read after write), and this
    // step's drain of buffer (k-1)&1 before the next step's fill of that
    // same buffer (write after read). After the last step nothing follows.
    if (k < m) __syncwarp();
  }
}

}  // namespace

extern "C" __global__ void pingpong(const unsigned* __restrict__ in,
                                    unsigned* __restrict__ out,
                                    unsigned nitems) {
  pingpong_body<2>(in, out, nitems);
}

// Racy twin: one buffer instead of two. The per-step sync still orders each
// fill before the next step's drain, but nothing orders a step's drain of
// item k-1 before the same step's fill of item k into the same words: a
// producer that runs ahead overwrites words its consumers have not read yet
// (write after read), and item k-1's output is computed from item k. A
// warp with a single item never reuses the buffer, so to show the bug give
// each warp at least two items (nitems >= 2 * warps in the grid).
extern "C" __global__ void pingpong_war(const unsigned* __restrict__ in,
                                        unsigned* __restrict__ out,
                                        unsigned nitems) {
  pingpong_body<1>(in, out, nitems);
}
