/* vectorAdd through the CUDA driver API: c = a + b for 1000 floats, a in
 * page-locked memory (cuMemAllocHost), b in ordinary memory, copied
 * asynchronously on a stream, timed with events. Usage: vectoradd
 * vectoradd.ptx. It prints the sum of c (3 * (0 + 1 + ... + 999) = 1498500)
 * and exits 0 when every element is right. */
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

static char *readFile(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(n + 1);
  if (!b || fread(b, 1, n, f) != (size_t)n) exit(2);
  b[n] = 0;
  fclose(f);
  return b;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: vectoradd vectoradd.ptx\n");
    return 2;
  }
  enum { N = 1000 };
  CUdevice dev;
  CUcontext ctx;
  CUmodule mod;
  CUfunction fn;
  CHECK(cuInit(0));
  CHECK(cuDeviceGet(&dev, 0));
  char name[256];
  CHECK(cuDeviceGetName(name, sizeof name, dev));
  printf("device: %s\n", name);
  CHECK(cuCtxCreate(&ctx, 0, dev));
  char *ptx = readFile(argv[1]);
  CHECK(cuModuleLoadData(&mod, ptx));
  CHECK(cuModuleGetFunction(&fn, mod, "vectorAdd"));

  float *a, b[N], c[N];
  CHECK(cuMemAllocHost((void **)&a, N * sizeof(float)));
  for (int i = 0; i < N; i++) {
    a[i] = (float)i;
    b[i] = (float)(2 * i);
  }
  CUdeviceptr da, db, dc;
  CHECK(cuMemAlloc(&da, N * sizeof(float)));
  CHECK(cuMemAlloc(&db, N * sizeof(float)));
  CHECK(cuMemAlloc(&dc, N * sizeof(float)));
  CUstream s;
  CUevent start, stop;
  CHECK(cuStreamCreate(&s, 0));
  CHECK(cuEventCreate(&start, 0));
  CHECK(cuEventCreate(&stop, 0));
  CHECK(cuEventRecord(start, s));
  CHECK(cuMemcpyHtoDAsync(da, a, N * sizeof(float), s));
  CHECK(cuMemcpyHtoD(db, b, N * sizeof(float)));
  int n = N;
  void *args[] = {&da, &db, &dc, &n};
  CHECK(cuLaunchKernel(fn, (N + 255) / 256, 1, 1, 256, 1, 1, 0, s, args, NULL));
  CHECK(cuMemcpyDtoHAsync(c, dc, N * sizeof(float), s));
  CHECK(cuEventRecord(stop, s));
  CHECK(cuStreamSynchronize(s));
  float ms;
  CHECK(cuEventElapsedTime(&ms, start, stop));
  double sum = 0;
  int bad = 0;
  for (int i = 0; i < N; i++) {
    sum += c[i];
    if (c[i] != (float)(3 * i)) bad++;
  }
  printf("vectorAdd: %d elements, sum %.0f, %s\n", N, sum, bad ? "FAILED" : "PASSED");
  CHECK(cuEventDestroy(start));
  CHECK(cuEventDestroy(stop));
  CHECK(cuStreamDestroy(s));
  CHECK(cuMemFree(da));
  CHECK(cuMemFree(db));
  CHECK(cuMemFree(dc));
  CHECK(cuMemFreeHost(a));
  CHECK(cuModuleUnload(mod));
  CHECK(cuCtxDestroy(ctx));
  return bad ? 1 : 0;
}
