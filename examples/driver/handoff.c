/* A racy warp handoff through the CUDA driver API: handoff.cu's kernel,
 * one block of 64 threads. Usage: handoff handoff.ptx. Under
 * `gpubuf exec --check` the race checker reports the unordered flag and
 * data accesses with their CUDA lines. */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                         \
  do {                                                                      \
    CUresult r_ = (call);                                                   \
    if (r_ != CUDA_SUCCESS) {                                               \
      const char *name_ = "?";                                              \
      cuGetErrorName(r_, &name_);                                           \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, name_); \
      exit(2);                                                              \
    }                                                                       \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: handoff handoff.ptx\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  static char ptx[1 << 16];
  size_t n = fread(ptx, 1, sizeof ptx - 1, f);
  fclose(f);
  ptx[n] = 0;
  CUdevice dev;
  CUcontext ctx;
  CUmodule mod;
  CUfunction fn;
  CHECK(cuInit(0));
  CHECK(cuDeviceGet(&dev, 0));
  CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
  CHECK(cuCtxSetCurrent(ctx));
  CHECK(cuModuleLoadData(&mod, ptx));
  CHECK(cuModuleGetFunction(&fn, mod, "handoff"));
  CUdeviceptr data, flag, out;
  CHECK(cuMemAlloc(&data, 4));
  CHECK(cuMemAlloc(&flag, 4));
  CHECK(cuMemAlloc(&out, 4));
  CHECK(cuMemsetD32(data, 0, 1));
  CHECK(cuMemsetD32(flag, 0, 1));
  void *args[] = {&data, &flag, &out};
  CHECK(cuLaunchKernel(fn, 1, 1, 1, 64, 1, 1, 0, NULL, args, NULL));
  CHECK(cuCtxSynchronize());
  int v;
  CHECK(cuMemcpyDtoH(&v, out, 4));
  printf("handoff: out = %d\n", v);
  CHECK(cuDevicePrimaryCtxRelease(dev));
  return 0;
}
