// The classic races and sync bugs, each as a buggy kernel (NAME_bug) and
// its fixed twin (NAME_fixed), for the emulator's race and sync checker
// (LaunchConfig.Check). cpuemu/races_test.go runs them all.
//
// Every access a report of a _bug kernel should name ends its line with a
// marker comment: @raw-write and @raw-read for the two sides of a read
// after write, @war-read and @war-write for a write after read, @atomic for
// an atomic that races with itself in another block, @sync for where a sync
// error is expected. The test finds the lines by these markers, so lines may
// move freely. No helper functions: each access is in the kernel it belongs
// to, so the report's file:line is that line.
//
// Launch with blockDim.x = 64 (two warps) unless a kernel says otherwise.

// (a) Lane 0 sums what the other 31 lanes of its warp left in shared
// memory. Lanes of a warp are not in lockstep (independent thread
// scheduling, Volta and later): without __syncwarp() lane 0 may read a slot
// before its lane writes it. RAW, intra-warp.
extern "C" __global__ void lane0_gather_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  if (lane != 0) s[t] = in[i] * 3u;  // @raw-write
  // BUG: no __syncwarp() between the writes and lane 0's reads.
  if (lane == 0) {
    unsigned sum = 0;
    for (unsigned k = 1; k < 32; ++k) sum += s[base + k];  // @raw-read
    out[i / 32] = sum;
  }
}

extern "C" __global__ void lane0_gather_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  if (lane != 0) s[t] = in[i] * 3u;
  __syncwarp();  // every lane's write happens before lane 0's reads
  if (lane == 0) {
    unsigned sum = 0;
    for (unsigned k = 1; k < 32; ++k) sum += s[base + k];
    out[i / 32] = sum;
  }
}

// (b) A __syncwarp(mask) whose mask names lanes 0-15 but which lanes 0-16
// execute. A lane must be in the mask it passes (PTX ISA, bar.warp.sync):
// lane 16 is not, so it waits for nobody and reads lane 1's slot unordered.
// Expect a "mask-excludes-self" sync error for lane 16 (and the RAW it
// lets through).
extern "C" __global__ void syncwarp_mask_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  const unsigned mask = __ballot_sync(0xffffffffu, lane < 16);  // lanes 0-15
  if (lane < 16) s[t] = in[i] * 3u;  // @raw-write
  if (lane <= 16) {  // BUG: 17 lanes enter; lane 16 is not in mask
    __syncwarp(mask);  // @sync
    out[i] = s[base + (lane + 1) % 16];  // @raw-read
  }
}

extern "C" __global__ void syncwarp_mask_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  const unsigned mask = __ballot_sync(0xffffffffu, lane < 16);
  if (lane < 16) s[t] = in[i] * 3u;
  if (lane < 16) {  // exactly the lanes of mask
    __syncwarp(mask);
    out[i] = s[base + (lane + 1) % 16];
  }
}

// (c) __syncthreads() in divergent code: lanes 0-15 of each warp wait at
// one barrier, lanes 16-31 at another. bar.sync is .aligned: every thread
// of a warp must execute the same barrier instruction, else the behaviour
// is undefined. Expect a barrier sync error ("barrier-not-aligned" or
// "barrier-divergence") or a deadlock.
extern "C" __global__ void barrier_divergence_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = in[i];
  if (t % 32 < 16) {
    __syncthreads();  // @sync  BUG: only half of each warp gets here...
  }
  __syncthreads();  // @sync  ...while the other half waits here
  out[i] = s[t ^ 1];
}

extern "C" __global__ void barrier_divergence_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = in[i];
  __syncthreads();  // every thread of the block reaches the same barrier
  out[i] = s[t ^ 1];
}

// (d) Warp 0 fills shared memory, warp 1 reads it, with no __syncthreads()
// between: warps of a block run in any order. RAW, inter-warp.
extern "C" __global__ void cross_warp_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[32];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  if (t < 32) s[t] = in[i] * 3u;  // @raw-write
  // BUG: no __syncthreads() here.
  if (t >= 32 && t < 64) out[i] = s[t - 32];  // @raw-read
}

extern "C" __global__ void cross_warp_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[32];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  if (t < 32) s[t] = in[i] * 3u;
  __syncthreads();  // warp 0's writes happen before warp 1's reads
  if (t >= 32 && t < 64) out[i] = s[t - 32];
}

// (e) A shared-memory handoff "protected" by a shuffle. Every lane takes
// part in the __shfl_sync, but a shuffle exchanges registers only: it
// orders no memory access, so the neighbour's slot may still be unwritten.
// RAW, intra-warp.
extern "C" __global__ void shfl_handoff_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  const unsigned x = in[i];
  s[t] = x * 3u;  // @raw-write
  // BUG: the shuffle is not a memory barrier.
  const unsigned left = __shfl_sync(0xffffffffu, x, (lane + 31) % 32);
  out[i] = s[base + (lane + 1) % 32] + left;  // @raw-read
}

extern "C" __global__ void shfl_handoff_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  const unsigned x = in[i];
  s[t] = x * 3u;
  const unsigned left = __shfl_sync(0xffffffffu, x, (lane + 31) % 32);
  __syncwarp();  // orders the slot writes before the reads
  out[i] = s[base + (lane + 1) % 32] + left;
}

// (f) Each lane reads its right neighbour's slot, then overwrites its own.
// Without a sync between, lane+1 may overwrite its slot before this lane
// has read it. WAR, intra-warp.
extern "C" __global__ void war_overwrite_bug(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = in[i];
  __syncwarp();
  const unsigned right = s[base + (lane + 1) % 32];  // @war-read
  // BUG: no __syncwarp() between the reads and the overwrites.
  s[t] = right * 5u + lane;  // @war-write
  __syncwarp();
  out[i] = s[t] ^ right;
}

extern "C" __global__ void war_overwrite_fixed(const unsigned* in, unsigned* out) {
  __shared__ unsigned s[1024];
  const unsigned t = threadIdx.x, lane = t % 32, base = t - lane;
  const unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = in[i];
  __syncwarp();
  const unsigned right = s[base + (lane + 1) % 32];
  __syncwarp();  // every read of the old values happens before any overwrite
  s[t] = right * 5u + lane;
  __syncwarp();
  out[i] = s[t] ^ right;
}

// (g) Blocks are unordered: nothing but atomics and fences relates them.
// Block 0 publishes out[0] and every other block reads it; the
// __syncthreads() orders the threads of one block only. RAW, inter-block.
// out holds 2*gridDim.x words.
extern "C" __global__ void global_publish_bug(unsigned* out) {
  const unsigned t = threadIdx.x;
  if (blockIdx.x == 0 && t == 0) out[0] = 42u;  // @raw-write
  __syncthreads();  // orders this block's threads, not the blocks
  if (blockIdx.x != 0 && t == 1) out[gridDim.x + blockIdx.x] = out[0] * 2u;  // @raw-read
}

// Fixed: each block reads only the word it wrote itself.
extern "C" __global__ void global_publish_fixed(unsigned* out) {
  const unsigned t = threadIdx.x;
  if (t == 0) out[blockIdx.x] = 42u + blockIdx.x;
  __syncthreads();
  if (t == 1) out[gridDim.x + blockIdx.x] = out[blockIdx.x] * 2u;
}

// (g') One global counter bumped by every thread of every block.
// atomicAdd_block is atom with .cta scope: it is atomic only with respect
// to threads of the same block. Two accesses are morally strong only if
// each one's scope includes the other thread (PTX ISA, memory consistency
// model), so two blocks' adds race.
extern "C" __global__ void atomic_scope_bug(unsigned* counter) {
  atomicAdd_block(counter, 1u);  // @atomic  BUG: block scope, device-wide counter
}

extern "C" __global__ void atomic_scope_fixed(unsigned* counter) {
  atomicAdd(counter, 1u);  // device (.gpu) scope: atomic across blocks
}

// (h) Message passing between blocks: block 0 writes data and raises a
// flag; block 1 waits for the flag, then reads data. The flag's strong
// atomics alone order nothing else: a __threadfence() (fence.sc.gpu) after
// the data write and one after the flag is seen make release and acquire
// patterns, so the data write happens before the read. Without them, RAW,
// inter-block, on data. Launch with gridDim.x = 2; the emulator runs block
// 0 before block 1, so the spin ends (a GPU may not run them at once).
extern "C" __global__ void message_pass_bug(unsigned* data, unsigned* flag, unsigned* out) {
  if (threadIdx.x != 0) return;
  if (blockIdx.x == 0) {
    *data = 1234u;  // @raw-write
    // BUG: no __threadfence() before the flag.
    atomicExch(flag, 1u);
  } else {
    while (atomicAdd(flag, 0u) == 0u) {
    }
    // BUG: no __threadfence() after the flag.
    out[blockIdx.x] = *data;  // @raw-read
  }
}

extern "C" __global__ void message_pass_fixed(unsigned* data, unsigned* flag, unsigned* out) {
  if (threadIdx.x != 0) return;
  if (blockIdx.x == 0) {
    *data = 1234u;
    __threadfence();  // release: the data write before the flag
    atomicExch(flag, 1u);
  } else {
    while (atomicAdd(flag, 0u) == 0u) {
    }
    __threadfence();  // acquire: the flag before the data read
    out[blockIdx.x] = *data;
  }
}
