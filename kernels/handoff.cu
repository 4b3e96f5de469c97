// Lane-to-lane handoff through shared memory inside one warp.
//
// Each warp walks the input in chunks of 32 words. Producer lane j (0-15)
// transforms word base+j and leaves the result in a shared slot; consumer
// lane 16+j combines slot j with its own word base+16+j and stores both
// outputs of the pair:
//
//   t = in[base+j] * 0x9E3779B1 + 0x7F4A7C15   (producer j)
//   y = in[base+16+j], or 0 past the end        (consumer 16+j)
//   out[base+j]    = t + y
//   out[base+16+j] = t ^ y                     (only if base+16+j < n)
//
// Only consumers store, so every output depends on a value that crossed
// lanes through shared memory. One body serves the correct kernel and its
// two racy twins; the template argument selects the handoff sync.
//
// Launch with blockDim.x a multiple of 32 (at most 1024): a missing lane of
// a partial warp would leave its pairs unwritten.

namespace {

constexpr unsigned kHalf = 16;      // producers are lanes 0-15, consumers 16-31
constexpr unsigned kMaxWarps = 32;  // 1024 threads per block

enum HandoffSync {
  kSync,     // __syncwarp(): correct
  kNoSync,   // no handoff sync: consumers may read a slot before it is written
  kBadMask,  // producers sync 0x0000FFFF, consumers 0xFFFF0000: two groups
             // that each wait only for themselves, so nothing is ordered
};

__device__ __forceinline__ unsigned produce(unsigned x) {
  return x * 0x9E3779B1u + 0x7F4A7C15u;
}

template <HandoffSync kHandoff>
__device__ __forceinline__ void lane_handoff_body(
    const unsigned* __restrict__ in, unsigned* __restrict__ out, unsigned n) {
  __shared__ unsigned slots[kMaxWarps][kHalf];

  const unsigned lane = threadIdx.x % 32;
  const bool producer = lane < kHalf;
  // Producer j and consumer 16+j share slot j of their warp.
  unsigned* const slot = &slots[threadIdx.x / 32][lane % kHalf];

  const unsigned warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const unsigned nwarps = gridDim.x * blockDim.x / 32;

  // base is the same in every lane of the warp, so all 32 lanes make the
  // same number of trips and meet at the same __syncwarp calls even when n
  // is not a multiple of 32 (a sync in a loop with per-lane trip counts
  // would leave the early leavers' partners waiting).
  for (unsigned base = warp * 32; base < n; base += nwarps * 32) {
    const unsigned e = base + lane;  // this lane's own word
    const unsigned x = e < n ? in[e] : 0;
    if (producer && e < n) *slot = produce(x);

    // Handoff: orders the producer's slot write before its partner's read.
    if (kHandoff == kSync) {
      __syncwarp();
    } else if (kHandoff == kBadMask) {
      __syncwarp(producer ? 0x0000ffffu : 0xffff0000u);
    }

    if (!producer && base + lane % kHalf < n) {
      const unsigned t = *slot;
      out[base + lane % kHalf] = t + x;
      if (e < n) out[e] = t ^ x;
    }

    // Reuse: the next trip's producer overwrites the slot this trip's
    // consumer has just read (write after read), so wait for the read.
    __syncwarp();
  }
}

}  // namespace

extern "C" __global__ void lane_handoff(const unsigned* __restrict__ in,
                                        unsigned* __restrict__ out,
                                        unsigned n) {
  lane_handoff_body<kSync>(in, out, n);
}

// Racy twin: the handoff __syncwarp is missing. A consumer that runs ahead
// of its producer reads whatever the slot held before: the shared memory's
// initial contents on the first trip, the previous chunk's value later.
extern "C" __global__ void lane_handoff_nosync(const unsigned* __restrict__ in,
                                               unsigned* __restrict__ out,
                                               unsigned n) {
  lane_handoff_body<kNoSync>(in, out, n);
}

// Racy twin: each half of the warp syncs only with itself, so a consumer
// can leave its sync before its producer has written the slot.
extern "C" __global__ void lane_handoff_badmask(const unsigned* __restrict__ in,
                                                unsigned* __restrict__ out,
                                                unsigned n) {
  lane_handoff_body<kBadMask>(in, out, n);
}
