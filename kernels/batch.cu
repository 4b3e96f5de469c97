// Kernels that a staging ring runs on each batch of fixed-size records.
// A batch is nrec records stored back to back: record r is
// in[r * rec_words .. (r+1) * rec_words) for the word kernels and
// in[r * rec_bytes .. (r+1) * rec_bytes) for the byte kernels.
//
// batch_reduce and batch_scan give each record to one warp (records are
// walked grid-stride by warp), so the warp's shuffles never mix records.
// Any launch shape with blockDim.x a multiple of 32 covers the whole batch.

namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr unsigned kBins = 256;

__device__ __forceinline__ unsigned global_warp() {
  return (blockIdx.x * blockDim.x + threadIdx.x) / 32;
}
__device__ __forceinline__ unsigned grid_warps() {
  return gridDim.x * blockDim.x / 32;
}

}  // namespace

// out[3r+0] = sum of record r (mod 2^32), out[3r+1] = its minimum and
// out[3r+2] = its maximum, all unsigned. An empty record (rec_words = 0)
// gives 0, 0xffffffff, 0: the identities.
extern "C" __global__ void batch_reduce(const unsigned* __restrict__ in,
                                        unsigned* __restrict__ out,
                                        unsigned nrec, unsigned rec_words) {
  const unsigned lane = threadIdx.x % 32;
  for (unsigned r = global_warp(); r < nrec; r += grid_warps()) {
    const unsigned* const rec = in + (size_t)r * rec_words;
    unsigned sum = 0, lo = 0xffffffffu, hi = 0;
    for (unsigned i = lane; i < rec_words; i += 32) {
      const unsigned x = rec[i];
      sum += x;
      lo = min(lo, x);
      hi = max(hi, x);
    }
    // Tree over the lanes; lanes that saw no words hold the identities.
#pragma unroll
    for (unsigned d = 16; d > 0; d /= 2) {
      sum += __shfl_down_sync(kFullMask, sum, d);
      lo = min(lo, __shfl_down_sync(kFullMask, lo, d));
      hi = max(hi, __shfl_down_sync(kFullMask, hi, d));
    }
    if (lane == 0) {
      out[3 * (size_t)r + 0] = sum;
      out[3 * (size_t)r + 1] = lo;
      out[3 * (size_t)r + 2] = hi;
    }
  }
}

// out[r * rec_words + i] = in[r * rec_words] + ... + in[r * rec_words + i]
// (mod 2^32): an inclusive prefix sum within each record.
extern "C" __global__ void batch_scan(const unsigned* __restrict__ in,
                                      unsigned* __restrict__ out,
                                      unsigned nrec, unsigned rec_words) {
  const unsigned lane = threadIdx.x % 32;
  for (unsigned r = global_warp(); r < nrec; r += grid_warps()) {
    const unsigned* const rec = in + (size_t)r * rec_words;
    unsigned* const dst = out + (size_t)r * rec_words;
    unsigned carry = 0;  // sum of the record's earlier chunks
    // The chunk loop's bounds do not depend on the lane, so every lane
    // joins every shuffle; lanes past the end of the record scan a 0.
    for (unsigned base = 0; base < rec_words; base += 32) {
      const unsigned i = base + lane;
      unsigned v = i < rec_words ? rec[i] : 0;
#pragma unroll
      for (unsigned d = 1; d < 32; d *= 2) {
        const unsigned up = __shfl_up_sync(kFullMask, v, d);
        if (lane >= d) v += up;
      }
      v += carry;
      if (i < rec_words) dst[i] = v;
      carry = __shfl_sync(kFullMask, v, 31);
    }
  }
}

// hist[b] += number of bytes equal to b in the whole batch
// (nrec * rec_bytes bytes), for b in 0..255. hist accumulates, so a
// pipeline can count a stream batch by batch; zero it before the first.
//
// Each block counts into shared memory first, so global memory sees at
// most 256 atomics per block. Within a warp, lanes holding the same byte
// find each other with __match_any_sync and only the lowest of them adds
// the group's count, which turns a run of equal bytes into one atomic.
extern "C" __global__ void batch_histogram(const unsigned char* __restrict__ in,
                                           unsigned* __restrict__ hist,
                                           unsigned nrec, unsigned rec_bytes) {
  __shared__ unsigned bins[kBins];
  const unsigned lane = threadIdx.x % 32;
  for (unsigned b = threadIdx.x; b < kBins; b += blockDim.x) bins[b] = 0;
  __syncthreads();  // bins are zero before anyone counts

  const size_t n = (size_t)nrec * rec_bytes;
  const size_t stride = (size_t)grid_warps() * 32;
  // base is warp-uniform, so the whole warp reaches __match_any_sync
  // together; lanes past the end carry a key no byte can have.
  for (size_t base = (size_t)global_warp() * 32; base < n; base += stride) {
    const size_t i = base + lane;
    const unsigned key = i < n ? in[i] : kBins;
    const unsigned peers = __match_any_sync(kFullMask, key);
    if (key < kBins && __ffs(peers) - 1 == (int)lane) atomicAdd(&bins[key], __popc(peers));
  }
  __syncthreads();  // every warp's counts are in before they are flushed

  for (unsigned b = threadIdx.x; b < kBins; b += blockDim.x)
    if (bins[b] != 0) atomicAdd(&hist[b], bins[b]);
}

// out[r] = CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial
// value and final xor 0xffffffff) of record r's rec_bytes bytes: the
// checksum iSCSI, ext4 and SSE4.2's crc32 instruction compute, so
// "123456789" gives 0xE3069283. One thread per record, table-driven.
extern "C" __global__ void batch_checksum(const unsigned char* __restrict__ in,
                                          unsigned* __restrict__ out,
                                          unsigned nrec, unsigned rec_bytes) {
  __shared__ unsigned table[256];
  for (unsigned b = threadIdx.x; b < 256; b += blockDim.x) {
    unsigned c = b;
#pragma unroll
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
    table[b] = c;
  }
  __syncthreads();  // the table is complete before any thread looks it up

  const unsigned nthreads = gridDim.x * blockDim.x;
  for (unsigned r = blockIdx.x * blockDim.x + threadIdx.x; r < nrec; r += nthreads) {
    const unsigned char* const rec = in + (size_t)r * rec_bytes;
    unsigned crc = 0xffffffffu;
    for (unsigned i = 0; i < rec_bytes; ++i) crc = table[(crc ^ rec[i]) & 0xff] ^ (crc >> 8);
    out[r] = ~crc;
  }
}
