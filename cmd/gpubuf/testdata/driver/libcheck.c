/* Checks gpubuf's libcuda.so.1 where it must do more than forward a call:
 * registered memory shared by a program and kernels, occupancy with a
 * dynamic shared memory callback, and the JIT log of a module that does
 * not load. Every expected value is worked out by hand in the comments.
 * Prints "libcheck: PASSED" and exits 0, or names the first check that
 * failed and exits 1. */
#include <cuda.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                          \
  do {                                                                       \
    CUresult r_ = (call);                                                    \
    if (r_ != CUDA_SUCCESS) {                                                \
      fprintf(stderr, "libcheck: %s: error %d (line %d)\n", #call, r_, __LINE__); \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define EXPECT(cond, ...)                                     \
  do {                                                        \
    if (!(cond)) {                                            \
      fprintf(stderr, "libcheck: line %d: ", __LINE__);       \
      fprintf(stderr, __VA_ARGS__);                           \
      fprintf(stderr, "\n");                                  \
      exit(1);                                                \
    }                                                         \
  } while (0)

/* inc(p, n): p[i] += 1 for every thread i < n. */
static const char *ptx =
    ".version 7.0\n.target sm_70\n.address_size 64\n"
    ".visible .entry inc(.param .u64 p, .param .u32 n)\n{\n"
    ".reg .pred %p<2>;\n.reg .b32 %r<6>;\n.reg .b64 %rd<4>;\n"
    "ld.param.u64 %rd1, [p];\nld.param.u32 %r1, [n];\n"
    "mov.u32 %r2, %ctaid.x;\nmov.u32 %r3, %ntid.x;\nmov.u32 %r4, %tid.x;\n"
    "mad.lo.s32 %r2, %r2, %r3, %r4;\nsetp.ge.u32 %p1, %r2, %r1;\n@%p1 bra DONE;\n"
    "cvta.to.global.u64 %rd1, %rd1;\nmul.wide.u32 %rd2, %r2, 4;\nadd.s64 %rd3, %rd1, %rd2;\n"
    "ld.global.u32 %r5, [%rd3];\nadd.s32 %r5, %r5, 1;\nst.global.u32 [%rd3], %r5;\n"
    "DONE:\nret;\n}\n";

static const char *broken =
    ".version 7.0\n.target sm_70\n.address_size 64\n"
    ".visible .entry broken()\n{\n.reg .b32 %r<2>;\nmov.u32 %r1, %undeclared;\nret;\n}\n";

static CUfunction inc;

static void launch_inc(CUdeviceptr p, unsigned n, CUstream s) {
  void *args[] = {&p, &n};
  CHECK(cuLaunchKernel(inc, (n + 255) / 256, 1, 1, 256, 1, 1, 0, s, args, NULL));
}

static size_t smem_of(int block) { return (size_t)block * 200; }

int main(void) {
  CUdevice dev;
  CUcontext ctx;
  CUmodule mod;
  CUstream s;
  CHECK(cuInit(0));
  CHECK(cuDeviceGet(&dev, 0));
  /* A context keeps the flags it was made with; scheduling 3 is none of
   * cuda.h's (AUTO 0, SPIN 1, YIELD 2, BLOCKING_SYNC 4). */
  CUcontext none;
  EXPECT(cuCtxCreate(&none, 3, dev) == CUDA_ERROR_INVALID_VALUE, "cuCtxCreate with scheduling flags 3 accepted");
  CHECK(cuCtxCreate(&ctx, CU_CTX_SCHED_BLOCKING_SYNC, dev));
  unsigned int flags = 0;
  CHECK(cuCtxGetFlags(&flags));
  EXPECT(flags == CU_CTX_SCHED_BLOCKING_SYNC, "cuCtxGetFlags: %#x, want CU_CTX_SCHED_BLOCKING_SYNC (4)", flags);
  CHECK(cuModuleLoadData(&mod, ptx));
  CHECK(cuModuleGetFunction(&inc, mod, "inc"));
  CHECK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING));

  /* Registered memory: 1024 words, R[i] = i. */
  enum { N = 1024 };
  uint32_t *R;
  EXPECT(posix_memalign((void **)&R, 4096, 4 * N) == 0, "posix_memalign");
  for (uint32_t i = 0; i < N; i++) R[i] = i;
  CHECK(cuMemHostRegister(R, 4 * N, CU_MEMHOSTREGISTER_DEVICEMAP));
  CUdeviceptr dR;
  CHECK(cuMemHostGetDevicePointer(&dR, R, 0));
  /* Registering changes nothing, and a synchronisation before any launch
   * leaves the memory as it was. */
  CHECK(cuCtxSynchronize());
  EXPECT(R[0] == 0 && R[N - 1] == N - 1, "registering changed the memory: R[0] = %u, R[%d] = %u", R[0], N - 1, R[N - 1]);

  /* A kernel increments words 0..511 while the program writes word 600:
   * after the synchronisation both writes are there. */
  launch_inc(dR, 512, s);
  R[600] = 7777;
  CHECK(cuStreamSynchronize(s));
  EXPECT(R[0] == 1 && R[511] == 512 && R[512] == 512 && R[600] == 7777, "after one launch: R[0] %u R[511] %u R[512] %u R[600] %u", R[0], R[511], R[512], R[600]);

  /* Word 600's program write reaches the kernel at the next launch. */
  launch_inc(dR, N, s);
  CHECK(cuStreamSynchronize(s));
  EXPECT(R[0] == 2 && R[600] == 7778 && R[N - 1] == N, "after the second launch: R[0] %u R[600] %u R[%d] %u", R[0], R[600], N - 1, R[N - 1]);

  /* Two launches with a program write between them and no
   * synchronisation: the second launch's push carries word 700 only and
   * does not undo the first kernel's writes to words 0..511. */
  launch_inc(dR, 512, s);
  R[700] = 5;
  launch_inc(dR + 4 * 512, 512, s);
  CHECK(cuStreamSynchronize(s));
  EXPECT(R[0] == 3 && R[511] == 514 && R[600] == 7779 && R[700] == 6 && R[N - 1] == N + 1,
         "after two launches: R[0] %u R[511] %u R[600] %u R[700] %u R[%d] %u", R[0], R[511], R[600], R[700], N - 1, R[N - 1]);

  /* A copy from registered memory queued after a kernel that wrote it
   * through the mapped pointer sees the kernel's write: R[0] becomes 4 on
   * the device before the copy reads it. */
  CUdeviceptr d;
  CHECK(cuMemAlloc(&d, 4));
  launch_inc(dR, 1, s);
  CHECK(cuMemcpyHtoDAsync(d, R, 4, s));
  CHECK(cuStreamSynchronize(s));
  uint32_t x = 0;
  CHECK(cuMemcpyDtoH(&x, d, 4));
  EXPECT(x == 4 && R[0] == 4, "copy from registered memory after a kernel: %u (R[0] %u), want 4", x, R[0]);
  CHECK(cuMemHostUnregister(R));

  /* Occupancy: an SM holds 32 blocks, 64 warps and 228 KiB (233472 bytes)
   * of shared memory, 1 KiB of it reserved per block; inc has none of its
   * own. Without dynamic shared memory a block of 1024 fills an SM twice
   * over (2048 threads): block 1024, grid 2 x 132 SMs = 264. With 200
   * bytes per thread, k blocks of B threads fit when k(200B + 1024) <=
   * 233472: B = 576 gives 2 blocks, 1152 threads, and no B gives more
   * (384 gives 3 x 384 = 1152 too; the search keeps the larger): block
   * 576, grid 2 x 132 = 264. */
  int grid = 0, block = 0;
  CHECK(cuOccupancyMaxPotentialBlockSize(&grid, &block, inc, NULL, 0, 0));
  EXPECT(grid == 264 && block == 1024, "occupancy without shared memory: grid %d block %d, want 264 1024", grid, block);
  CHECK(cuOccupancyMaxPotentialBlockSize(&grid, &block, inc, smem_of, 0, 0));
  EXPECT(grid == 264 && block == 576, "occupancy with 200 bytes a thread: grid %d block %d, want 264 576", grid, block);
  /* A limit of 100 threads: 100 itself first (4 warps a block: 64/4 =
   * 16 blocks, 1600 threads), then 96 (3 warps: 21 blocks, 2016 threads),
   * then 64 (32 blocks, 2048 threads: the SM is full, the search stops). */
  CHECK(cuOccupancyMaxPotentialBlockSize(&grid, &block, inc, NULL, 0, 100));
  EXPECT(grid == 32 * 132 && block == 64, "occupancy up to 100 threads: grid %d block %d, want 4224 64", grid, block);
  EXPECT(cuOccupancyMaxPotentialBlockSizeWithFlags(&grid, &block, inc, NULL, 0, 0, 2) == CUDA_ERROR_INVALID_VALUE, "unknown occupancy flag accepted");

  /* The JIT log: the emulator's message, its length written back. */
  char log[4096];
  CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[] = {log, (void *)(uintptr_t)sizeof log};
  CUmodule bad;
  CUresult r = cuModuleLoadDataEx(&bad, broken, 2, opts, vals);
  EXPECT(r == CUDA_ERROR_INVALID_PTX, "broken PTX: error %d, want CUDA_ERROR_INVALID_PTX (218)", r);
  EXPECT(strstr(log, "undeclared") && (size_t)(uintptr_t)vals[1] == strlen(log), "JIT log %s (%zu bytes written back)", log, (size_t)(uintptr_t)vals[1]);
  /* A buffer of 8 bytes holds 7 of the message and the terminator. */
  char small[8];
  void *vals2[] = {small, (void *)(uintptr_t)sizeof small};
  r = cuModuleLoadDataEx(&bad, broken, 2, opts, vals2);
  EXPECT(r == CUDA_ERROR_INVALID_PTX && strlen(small) == 7 && (uintptr_t)vals2[1] == 7 && strncmp(small, log, 7) == 0,
         "JIT log in 8 bytes: %s (%zu)", small, (size_t)(uintptr_t)vals2[1]);

  CHECK(cuCtxDestroy(ctx));
  printf("libcheck: PASSED\n");
  return 0;
}
