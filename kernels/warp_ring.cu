// A per-warp ring buffer in shared memory run by a fused producer/consumer
// schedule, to test the SDF bound b_min = r_p + r_c - gcd(r_p, r_c).
//
// Producer lanes 0..rp-1 each write one item per producer firing; consumer
// lanes 16..16+rc-1 each read one item per consumer firing. Every step fires
//   the consumer, if the ring holds at least rc items; else
//   the producer, if it has room for rp more; else
//   nothing: the schedule has stalled, and the warp stops.
// The warp stops normally once it has consumed total items.
//
// Warp w (of W in the grid) produces the items w*total, w*total+1, ... in
// order, so without a stall out[0 .. W*total) ends up holding 0, 1, 2, ...
// Consumed items past total (when rc does not divide total) are not stored.
//
// status[4w .. 4w+3], written by lane 0 of warp w:
//   [0] 0 = consumed total items, 1 = stalled, 2 = bad parameters
//   [1] steps fired before stopping (producer and consumer firings)
//   [2] items consumed (a multiple of rc)
//   [3] items in the ring when it stopped
// With bad parameters [1..3] are 0 and nothing else is written.
//
// All the bookkeeping (head, count, ...) is computed identically in every
// lane, so the branches that contain __syncwarp are warp-uniform.
// Launch with blockDim.x a multiple of 32 (at most 1024).

namespace {

constexpr unsigned kMaxWarps = 32;
constexpr unsigned kMaxCapacity = 64;  // items per warp's ring
constexpr unsigned kMaxRate = 16;      // lanes per side

enum RingStatus : unsigned { kRingDone = 0, kRingStalled = 1, kRingBadParams = 2 };
enum Role { kNone, kProducer, kConsumer };

}  // namespace

extern "C" __global__ void warp_ring(unsigned* __restrict__ out,
                                     unsigned* __restrict__ status,
                                     unsigned capacity, unsigned rp,
                                     unsigned rc, unsigned total) {
  __shared__ unsigned rings[kMaxWarps][kMaxCapacity];

  const unsigned lane = threadIdx.x % 32;
  const unsigned warp = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  unsigned* const ring = rings[threadIdx.x / 32];
  unsigned* const my_out = out + warp * total;
  unsigned* const my_status = status + warp * 4;

  // Reject anything that would index past the fixed shared array or name
  // more lanes than a side has.
  if (capacity == 0 || capacity > kMaxCapacity || rp == 0 || rp > kMaxRate ||
      rc == 0 || rc > kMaxRate) {
    if (lane == 0) {
      my_status[0] = kRingBadParams;
      my_status[1] = my_status[2] = my_status[3] = 0;
    }
    return;
  }

  // Ring positions stay below 2*capacity before wrapping (head < capacity,
  // and a firing touches at most capacity slots), so one subtraction wraps.
  auto wrap = [capacity](unsigned i) { return i >= capacity ? i - capacity : i; };

  unsigned head = 0, count = 0, produced = 0, consumed = 0, steps = 0;
  unsigned result = kRingDone;
  Role last = kNone;
  while (consumed < total) {
    Role role;
    if (count >= rc) {
      role = kConsumer;
    } else if (capacity - count >= rp) {
      role = kProducer;
    } else {
      result = kRingStalled;
      break;
    }
    // Slots pass from one side to the other only when the role changes:
    // producer -> consumer publishes the items just written (read after
    // write); consumer -> producer frees the slots just read before they
    // are written again (write after read). Two firings of one side touch
    // disjoint slots or only read, so they need no sync between them.
    if (last != kNone && role != last) __syncwarp();

    if (role == kProducer) {
      if (lane < rp) ring[wrap(head + count + lane)] = warp * total + produced + lane;
      produced += rp;
      count += rp;
    } else {
      const unsigned i = lane - 16;  // wraps to a huge value for producers
      if (i < rc && consumed + i < total) my_out[consumed + i] = ring[wrap(head + i)];
      head = wrap(head + rc);
      count -= rc;
      consumed += rc;
    }
    last = role;
    ++steps;
  }

  if (lane == 0) {
    my_status[0] = result;
    my_status[1] = steps;
    my_status[2] = consumed;
    my_status[3] = count;
  }
}
