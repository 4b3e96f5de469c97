// One step of a 2-D particle simulation in the unit box [0,1)^2.
//
// Particle i is in[i] = {x, y, vx, vy}. Particles come in groups of 32,
// group g being particles 32g .. 32g+31 (the last group may be short).
// With c = the centroid of i's group, computed as
//
//   sx = ((0 + x_g0) + x_g1) + ... (in particle order, the group's count
//   cnt terms), cx = sx / cnt, and the same for y,
//
// the step, with kCentre = 1, kPull = 0.5 and every operation rounded to
// float32 on its own (no fused multiply-add), is
//
//   ax = kCentre * (0.5 - x) + kPull * (cx - x)     (the same for y)
//   vx' = vx + ax * dt
//   x'  = x + vx' * dt
//
// then each wall reflects: if x' < 0, x' = -x' and vx' = -vx'; else if
// x' >= 1, x' = 2 - x' and vx' = -vx'. A particle that overshoots by more
// than the box is clamped: x' < 0 becomes 0, x' >= 1 becomes the float
// just below 1. out[i] = {x', y', vx', vy'}.
//
// It is a producer/consumer step in shared memory: each block loads a tile
// of positions (blockDim.x particles, one per thread) into shared memory,
// __syncthreads, then every thread reads its group's positions from the
// tile; a second __syncthreads keeps the next tile's loads from
// overwriting positions still being read. Groups are aligned to 32 and
// blockDim.x is a multiple of 32, so a group never spans two tiles, and
// the output does not depend on the grid and block sizes. The loop over
// tiles is grid-stride and block-uniform, so every thread meets every
// barrier.
//
// The arithmetic uses __fadd_rn, __fsub_rn, __fmul_rn and __fdiv_rn, which
// nvcc never contracts into an fma, so the result is the same on every
// GPU, on the emulator and in the Go reference (kernels.ParticlesStep),
// bit for bit.
//
// dt_bits is the time step's IEEE-754 bits (math.Float32bits(dt) in Go).
// Launch with blockDim.x a multiple of 32, at most 1024.

namespace {

constexpr unsigned kGroup = 32;
constexpr unsigned kMaxBlock = 1024;
constexpr float kCentre = 1.0f;
constexpr float kPull = 0.5f;

// reflect mirrors position p in the wall it crossed, flipping velocity v,
// and clamps p into [0, 1).
__device__ __forceinline__ void reflect(float& p, float& v) {
  if (p < 0.0f) {
    p = -p;
    v = -v;
  } else if (p >= 1.0f) {
    p = __fsub_rn(2.0f, p);
    v = -v;
  }
  if (p < 0.0f) p = 0.0f;
  if (p >= 1.0f) p = __uint_as_float(0x3f7fffffu);  // the float below 1
}

}  // namespace

extern "C" __global__ void particles_step(const float4* __restrict__ in,
                                          float4* __restrict__ out,
                                          unsigned n, unsigned dt_bits) {
  __shared__ float2 tile[kMaxBlock];

  const float dt = __uint_as_float(dt_bits);
  const unsigned stride = gridDim.x * blockDim.x;
  const unsigned g0 = threadIdx.x & ~(kGroup - 1);  // my group's first slot

  for (unsigned base = blockIdx.x * blockDim.x; base < n; base += stride) {
    const unsigned i = base + threadIdx.x;
    float4 p = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    // Produce: load this tile's positions.
    if (i < n) {
      p = in[i];
      tile[threadIdx.x] = make_float2(p.x, p.y);
    }
    __syncthreads();  // the tile is full (read after write)
    // Consume: the group's centroid, summed in particle order.
    if (i < n) {
      const unsigned cnt = min(kGroup, n - (base + g0));
      float sx = 0.0f, sy = 0.0f;
      for (unsigned j = 0; j < cnt; ++j) {
        const float2 q = tile[g0 + j];
        sx = __fadd_rn(sx, q.x);
        sy = __fadd_rn(sy, q.y);
      }
      const float fcnt = static_cast<float>(cnt);
      const float cx = __fdiv_rn(sx, fcnt);
      const float cy = __fdiv_rn(sy, fcnt);

      const float ax = __fadd_rn(__fmul_rn(kCentre, __fsub_rn(0.5f, p.x)),
                                 __fmul_rn(kPull, __fsub_rn(cx, p.x)));
      const float ay = __fadd_rn(__fmul_rn(kCentre, __fsub_rn(0.5f, p.y)),
                                 __fmul_rn(kPull, __fsub_rn(cy, p.y)));
      float vx = __fadd_rn(p.z, __fmul_rn(ax, dt));
      float vy = __fadd_rn(p.w, __fmul_rn(ay, dt));
      float x = __fadd_rn(p.x, __fmul_rn(vx, dt));
      float y = __fadd_rn(p.y, __fmul_rn(vy, dt));
      reflect(x, vx);
      reflect(y, vy);
      out[i] = make_float4(x, y, vx, vy);
    }
    __syncthreads();  // the tile is drained before the next fill (write after read)
  }
}
