/* libcuda.so.1 served by the emulator: the CUDA driver API entry points
 * that driver-API programs, gorgonia.org/cu and gpubuf's shim call, each
 * forwarded over a Unix socket to `gpubuf driver-serve`, which this library
 * starts at cuInit. docs/driver-protocol.md describes the protocol; every
 * other function cuda.h declares is a stub from exports_gen.h that returns
 * CUDA_ERROR_NOT_SUPPORTED. */
#define _GNU_SOURCE
#include <cuda.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto.h"

struct gpubuf_error {
  int code;
  const char *name;
  const char *text;
};
#include "errors_gen.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the protocol is little-endian; so is this library");

extern char **environ;

#define GB_DRIVER_VERSION 11080 /* the cuda.h this library is built against */
#define GB_RECV_TIMEOUT_MS 300000 /* no server call takes longer: waits come back NOT_READY */
#define GB_MAX_CTX_DEPTH 64

/* The one symbol beyond cuda.h's: it tells gpubuf info (and anyone with
 * nm -D) that the libcuda.so.1 a process loaded is this one. */
__attribute__((visibility("default"))) const char gpubuf_libcuda[] = "gpubuf emulated libcuda.so.1, driver protocol 1";

/* ---- connection ---- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* one call on the socket at a time */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_sock = -1;
static volatile int g_dead;      /* the server is gone: every call is CUDA_ERROR_UNKNOWN */
static CUresult g_init_result = CUDA_ERROR_NOT_INITIALIZED;
static int g_inited;
static int g_log;
static unsigned char *g_stage; /* GB_STAGING_SIZE bytes shared with the server */
static pthread_mutex_t g_stage_mu = PTHREAD_MUTEX_INITIALIZER;

static uint64_t g_total_mem;
static int g_cc[2];
static char g_name[256];

static void mark_dead(const char *why) {
  if (!g_dead) {
    g_dead = 1;
    fprintf(stderr, "gpubuf libcuda: the driver server is gone (%s); every later call fails with CUDA_ERROR_UNKNOWN\n", why);
  }
}

static int write_all(int fd, struct iovec *iov, int n, int passfd) {
  int first = 1;
  while (n > 0) {
    struct msghdr mh;
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = n;
    if (first && passfd >= 0) {
      memset(cbuf, 0, sizeof cbuf);
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof cbuf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &passfd, sizeof(int));
    }
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    first = 0;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + w;
      iov->iov_len -= w;
    }
  }
  return 0;
}

static int read_full(int fd, void *p, size_t n) {
  char *b = p;
  while (n > 0) {
    struct pollfd pf = {fd, POLLIN, 0};
    int r = poll(&pf, 1, GB_RECV_TIMEOUT_MS);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t got = recv(fd, b, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    b += got;
    n -= got;
  }
  return 0;
}

/* rpc sends op with nw words and nb bytes (and passfd, when not -1), and
 * reads the answer: up to maxw words into out, up to maxb bytes into outb
 * (*gotb says how many). It returns the server's CUresult. */
static CUresult rpc_fd(uint16_t op, const uint64_t *w, uint32_t nw, const void *bytes, uint32_t nb, int passfd,
                       uint64_t *out, uint32_t maxw, void *outb, uint32_t maxb, uint32_t *gotb) {
  if (g_dead) return CUDA_ERROR_UNKNOWN;
  if (nw > GB_MAX_WORDS || nb > GB_MAX_PAYLOAD) return CUDA_ERROR_INVALID_VALUE;
  struct gb_req h = {GB_MAGIC, GB_VERSION, op, nw, nb};
  struct iovec iov[3] = {{&h, sizeof h}, {(void *)w, nw * 8u}, {(void *)bytes, nb}};
  pthread_mutex_lock(&g_mu);
  CUresult res = CUDA_ERROR_UNKNOWN;
  if (g_dead) goto out;
  if (write_all(g_sock, iov, 3, passfd) < 0) {
    mark_dead("write failed");
    goto out;
  }
  struct gb_resp r;
  if (read_full(g_sock, &r, sizeof r) < 0) {
    mark_dead("no answer");
    goto out;
  }
  if (r.magic != GB_MAGIC || r.nwords > maxw || r.nbytes > maxb) {
    mark_dead("malformed answer");
    goto out;
  }
  if (r.nwords && read_full(g_sock, out, r.nwords * 8u) < 0) {
    mark_dead("short answer");
    goto out;
  }
  if (r.nbytes && read_full(g_sock, outb, r.nbytes) < 0) {
    mark_dead("short answer");
    goto out;
  }
  if (gotb) *gotb = r.nbytes;
  res = (CUresult)r.status;
out:
  pthread_mutex_unlock(&g_mu);
  return res;
}

static CUresult rpc(uint16_t op, const uint64_t *w, uint32_t nw, uint64_t *out, uint32_t maxw) {
  return rpc_fd(op, w, nw, NULL, 0, -1, out, maxw, NULL, 0, NULL);
}

/* find_server is $GPUBUF, or gpubuf on PATH. */
static int find_server(char *path, size_t n) {
  const char *e = getenv("GPUBUF");
  if (e && *e) {
    if (strlen(e) >= n) return -1;
    strcpy(path, e);
    return access(path, X_OK);
  }
  const char *p = getenv("PATH");
  if (!p) return -1;
  while (*p) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > 0 && len + 8 < n) {
      memcpy(path, p, len);
      strcpy(path + len, "/gpubuf");
      if (access(path, X_OK) == 0) return 0;
    }
    if (!end) break;
    p = end + 1;
  }
  return -1;
}

static void finish_at_exit(void);

static void init_once(void) {
  g_log = getenv("GPUBUF_LOG") && *getenv("GPUBUF_LOG");
  char path[4096];
  if (find_server(path, sizeof path) < 0) {
    fprintf(stderr, "gpubuf libcuda: cannot find the gpubuf binary to serve the driver: set GPUBUF to its path or put it on PATH\n");
    g_init_result = CUDA_ERROR_NO_DEVICE;
    return;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    g_init_result = CUDA_ERROR_OPERATING_SYSTEM;
    return;
  }
  /* The child's end becomes its fd 3; dup it above 3 first, so that
   * dup2 always makes a fresh descriptor without close-on-exec. */
  int child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
  close(sv[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, child, 3);
  char *argv[] = {path, "driver-serve", "--fd", "3", NULL};
  pid_t pid;
  int err = posix_spawn(&pid, path, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(child);
  if (err != 0) {
    fprintf(stderr, "gpubuf libcuda: cannot start %s driver-serve: %s\n", path, strerror(err));
    close(sv[0]);
    g_init_result = CUDA_ERROR_OPERATING_SYSTEM;
    return;
  }
  g_sock = sv[0];
  int mfd = memfd_create("gpubuf-staging", MFD_CLOEXEC);
  if (mfd < 0 || ftruncate(mfd, GB_STAGING_SIZE) < 0 ||
      (g_stage = mmap(NULL, GB_STAGING_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0)) == MAP_FAILED) {
    g_init_result = CUDA_ERROR_OPERATING_SYSTEM;
    return;
  }
  uint64_t w[2] = {(uint64_t)getpid(), GB_STAGING_SIZE};
  uint64_t out[4];
  uint32_t got = 0;
  CUresult r = rpc_fd(GB_HELLO, w, 2, NULL, 0, mfd, out, 4, g_name, sizeof g_name - 1, &got);
  close(mfd);
  if (r != CUDA_SUCCESS) {
    g_init_result = r;
    return;
  }
  g_name[got] = 0;
  g_total_mem = out[1];
  g_cc[0] = (int)out[2];
  g_cc[1] = (int)out[3];
  g_inited = 1;
  g_init_result = CUDA_SUCCESS;
  atexit(finish_at_exit);
}

/* finish_at_exit asks the server to finish (write its SARIF log) and,
 * with GPUBUF_CHECK_EXIT=1, makes the exit status 1 when the checker
 * found errors. */
static void finish_at_exit(void) {
  uint64_t out[1] = {0};
  if (rpc(GB_FINISH, NULL, 0, out, 1) != CUDA_SUCCESS) return;
  const char *e = getenv("GPUBUF_CHECK_EXIT");
  if (out[0] > 0 && e && strcmp(e, "1") == 0) {
    fflush(NULL);
    _exit(1);
  }
}

#define READY()                                      \
  do {                                               \
    if (!g_inited) return CUDA_ERROR_NOT_INITIALIZED; \
    if (g_dead) return CUDA_ERROR_UNKNOWN;           \
  } while (0)

CUresult CUDAAPI cuInit(unsigned int flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  pthread_once(&g_once, init_once);
  if (g_dead) return CUDA_ERROR_UNKNOWN;
  return g_init_result;
}

CUresult CUDAAPI cuDriverGetVersion(int *v) {
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  *v = GB_DRIVER_VERSION;
  return CUDA_SUCCESS;
}

/* ---- errors ---- */

/* find_error is e's entry in gpubuf_errors, or NULL. */
static const struct gpubuf_error *find_error(CUresult e) {
  for (size_t i = 0; i < sizeof gpubuf_errors / sizeof gpubuf_errors[0]; i++)
    if (gpubuf_errors[i].code == (int)e) return &gpubuf_errors[i];
  return NULL;
}

CUresult CUDAAPI cuGetErrorName(CUresult e, const char **s) {
  if (!s) return CUDA_ERROR_INVALID_VALUE;
  const struct gpubuf_error *er = find_error(e);
  *s = er ? er->name : NULL;
  return er ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult CUDAAPI cuGetErrorString(CUresult e, const char **s) {
  if (!s) return CUDA_ERROR_INVALID_VALUE;
  const struct gpubuf_error *er = find_error(e);
  *s = er ? er->text : NULL;
  return er ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* gpubuf_unsupported is every stub's body: it logs the function's name
 * once and returns CUDA_ERROR_NOT_SUPPORTED. */
static unsigned char gpubuf_logged[4096];
static CUresult gpubuf_unsupported(int i, const char *name) {
  if (i >= 0 && i < (int)sizeof gpubuf_logged && !__atomic_exchange_n(&gpubuf_logged[i], 1, __ATOMIC_RELAXED))
    fprintf(stderr, "gpubuf libcuda: %s is not supported by the emulator; it returns CUDA_ERROR_NOT_SUPPORTED\n", name);
  return CUDA_ERROR_NOT_SUPPORTED;
}

/* ---- devices ---- */

static CUresult check_dev(CUdevice d) { return d == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE; }

CUresult CUDAAPI cuDeviceGet(CUdevice *d, int ordinal) {
  READY();
  if (!d) return CUDA_ERROR_INVALID_VALUE;
  if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
  *d = 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetCount(int *n) {
  READY();
  if (!n) return CUDA_ERROR_INVALID_VALUE;
  *n = 1;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetName(char *name, int len, CUdevice d) {
  READY();
  if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  snprintf(name, (size_t)len, "%s", g_name);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceTotalMem(size_t *bytes, CUdevice d) {
  READY();
  if (!bytes) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  *bytes = g_total_mem;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceComputeCapability(int *major, int *minor, CUdevice d) {
  READY();
  if (!major || !minor) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  *major = g_cc[0];
  *minor = g_cc[1];
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice d) {
  READY();
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  uint64_t w[1] = {(uint64_t)a}, out[1];
  CUresult r = rpc(GB_DEVICE_ATTR, w, 1, out, 1);
  if (r == CUDA_SUCCESS) *v = (int)(int64_t)out[0];
  return r;
}

/* The emulator's UUID: "gpubuf emulator\0". */
static const char gb_uuid[16] = "gpubuf emulator";

CUresult CUDAAPI cuDeviceGetUuid(CUuuid *u, CUdevice d) {
  READY();
  if (!u) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  memcpy(u->bytes, gb_uuid, 16);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDeviceGetUuid_v2(CUuuid *u, CUdevice d) { return cuDeviceGetUuid(u, d); }

/* ---- contexts: a per-thread stack of handles; each context is an
 * emulated device in the server ---- */

static __thread CUcontext tls_stack[GB_MAX_CTX_DEPTH];
static __thread int tls_depth;

static pthread_mutex_t g_primary_mu = PTHREAD_MUTEX_INITIALIZER;
static CUcontext g_primary;
static int g_primary_refs;
static unsigned int g_primary_flags;

static uint64_t cid(CUcontext c) { return (uint64_t)(uintptr_t)c; }

static CUcontext current(void) { return tls_depth > 0 ? tls_stack[tls_depth - 1] : NULL; }

#define CUR(c)                                   \
  READY();                                       \
  CUcontext c = current();                       \
  if (!c) return CUDA_ERROR_INVALID_CONTEXT

/* The flags each live context was made with, for cuCtxGetFlags. */
struct gb_ctx {
  CUcontext c;
  unsigned int flags;
  struct gb_ctx *next;
};
static struct gb_ctx *g_ctxs;
static pthread_mutex_t g_ctxs_mu = PTHREAD_MUTEX_INITIALIZER;

/* ctx_flags_ok says whether flags are cuCtxCreate's: within
 * CU_CTX_FLAGS_MASK, with one scheduling policy (AUTO, SPIN, YIELD or
 * BLOCKING_SYNC). The emulator's waits block whatever the policy. */
static int ctx_flags_ok(unsigned int flags) {
  unsigned int sched = flags & CU_CTX_SCHED_MASK;
  return (flags & ~(unsigned)CU_CTX_FLAGS_MASK) == 0 &&
         (sched == CU_CTX_SCHED_AUTO || sched == CU_CTX_SCHED_SPIN || sched == CU_CTX_SCHED_YIELD ||
          sched == CU_CTX_SCHED_BLOCKING_SYNC);
}

static CUresult ctx_create(CUcontext *pc, unsigned int flags) {
  if (!ctx_flags_ok(flags)) return CUDA_ERROR_INVALID_VALUE;
  struct gb_ctx *k = calloc(1, sizeof *k);
  if (!k) return CUDA_ERROR_OUT_OF_MEMORY;
  uint64_t w[1] = {flags}, out[1];
  CUresult r = rpc(GB_CTX_CREATE, w, 1, out, 1);
  if (r != CUDA_SUCCESS) {
    free(k);
    return r;
  }
  *pc = (CUcontext)(uintptr_t)out[0];
  k->c = *pc;
  k->flags = flags;
  pthread_mutex_lock(&g_ctxs_mu);
  k->next = g_ctxs;
  g_ctxs = k;
  pthread_mutex_unlock(&g_ctxs_mu);
  return r;
}

static void forget_ctx(CUcontext c) {
  pthread_mutex_lock(&g_ctxs_mu);
  for (struct gb_ctx **pp = &g_ctxs; *pp; pp = &(*pp)->next)
    if ((*pp)->c == c) {
      struct gb_ctx *k = *pp;
      *pp = k->next;
      free(k);
      break;
    }
  pthread_mutex_unlock(&g_ctxs_mu);
}

CUresult CUDAAPI cuCtxGetFlags(unsigned int *flags) {
  CUR(c);
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = CUDA_ERROR_CONTEXT_IS_DESTROYED;
  pthread_mutex_lock(&g_ctxs_mu);
  for (struct gb_ctx *k = g_ctxs; k; k = k->next)
    if (k->c == c) {
      *flags = k->flags;
      r = CUDA_SUCCESS;
      break;
    }
  pthread_mutex_unlock(&g_ctxs_mu);
  return r;
}

CUresult CUDAAPI cuCtxCreate(CUcontext *pc, unsigned int flags, CUdevice d) {
  READY();
  if (!pc) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  if (tls_depth >= GB_MAX_CTX_DEPTH) return CUDA_ERROR_INVALID_VALUE;
  CUresult r = ctx_create(pc, flags);
  if (r == CUDA_SUCCESS) tls_stack[tls_depth++] = *pc;
  return r;
}

static void forget_host(CUcontext c);

CUresult CUDAAPI cuCtxDestroy(CUcontext c) {
  READY();
  if (!c) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[1] = {cid(c)};
  CUresult r = rpc(GB_CTX_DESTROY, w, 1, NULL, 0);
  if (r != CUDA_SUCCESS) return r;
  forget_host(c);
  forget_ctx(c);
  /* The driver pops the context from the destroying thread only. */
  if (current() == c) tls_depth--;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetCurrent(CUcontext *pc) {
  READY();
  if (!pc) return CUDA_ERROR_INVALID_VALUE;
  *pc = current();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxSetCurrent(CUcontext c) {
  READY();
  if (!c) {
    if (tls_depth > 0) tls_depth--;
    return CUDA_SUCCESS;
  }
  if (tls_depth == 0) tls_depth = 1;
  tls_stack[tls_depth - 1] = c;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPushCurrent(CUcontext c) {
  READY();
  if (!c) return CUDA_ERROR_INVALID_VALUE;
  if (tls_depth >= GB_MAX_CTX_DEPTH) return CUDA_ERROR_INVALID_VALUE;
  tls_stack[tls_depth++] = c;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxPopCurrent(CUcontext *pc) {
  READY();
  if (tls_depth == 0) return CUDA_ERROR_INVALID_CONTEXT;
  CUcontext c = tls_stack[--tls_depth];
  if (pc) *pc = c;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuCtxGetDevice(CUdevice *d) {
  CUR(c);
  (void)c;
  if (!d) return CUDA_ERROR_INVALID_VALUE;
  *d = 0;
  return CUDA_SUCCESS;
}

static CUresult wait_on(CUcontext c, uint64_t kind, uint64_t handle, uint64_t mode) {
  uint64_t ticket = 0;
  for (;;) {
    uint64_t w[5] = {cid(c), kind, handle, mode, ticket}, out[1] = {0};
    CUresult r = rpc(GB_WAIT, w, 5, out, 1);
    if (r != CUDA_ERROR_NOT_READY || mode == GB_WAIT_QUERY) return r;
    ticket = out[0];
  }
}

static CUresult reg_sync(CUcontext c, CUstream s, int all);

CUresult CUDAAPI cuCtxSynchronize(void) {
  CUR(c);
  CUresult r = wait_on(c, GB_WAIT_CTX, 0, GB_WAIT_BLOCK);
  if (r == CUDA_SUCCESS) r = reg_sync(c, NULL, 1);
  return r;
}

CUresult CUDAAPI cuDevicePrimaryCtxRetain(CUcontext *pc, CUdevice d) {
  READY();
  if (!pc) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&g_primary_mu);
  CUresult r = CUDA_SUCCESS;
  if (g_primary_refs == 0) r = ctx_create(&g_primary, g_primary_flags);
  if (r == CUDA_SUCCESS) {
    g_primary_refs++;
    *pc = g_primary;
  }
  pthread_mutex_unlock(&g_primary_mu);
  return r;
}

CUresult CUDAAPI cuDevicePrimaryCtxRelease(CUdevice d) {
  READY();
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&g_primary_mu);
  CUresult r = CUDA_SUCCESS;
  if (g_primary_refs == 0) {
    r = CUDA_ERROR_INVALID_CONTEXT;
  } else if (--g_primary_refs == 0) {
    uint64_t w[1] = {cid(g_primary)};
    r = rpc(GB_CTX_DESTROY, w, 1, NULL, 0);
    forget_host(g_primary);
    forget_ctx(g_primary);
    g_primary = NULL;
  }
  pthread_mutex_unlock(&g_primary_mu);
  return r;
}

CUresult CUDAAPI cuDevicePrimaryCtxSetFlags(CUdevice d, unsigned int flags) {
  READY();
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  if (!ctx_flags_ok(flags)) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&g_primary_mu);
  g_primary_flags = flags;
  /* Since CUDA 11 the flags of an active primary context change too. */
  if (g_primary_refs > 0) {
    pthread_mutex_lock(&g_ctxs_mu);
    for (struct gb_ctx *k = g_ctxs; k; k = k->next)
      if (k->c == g_primary) k->flags = flags;
    pthread_mutex_unlock(&g_ctxs_mu);
  }
  pthread_mutex_unlock(&g_primary_mu);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuDevicePrimaryCtxGetState(CUdevice d, unsigned int *flags, int *active) {
  READY();
  if (!flags || !active) return CUDA_ERROR_INVALID_VALUE;
  if (check_dev(d)) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&g_primary_mu);
  *flags = g_primary_flags;
  *active = g_primary_refs > 0;
  pthread_mutex_unlock(&g_primary_mu);
  return CUDA_SUCCESS;
}

/* ---- modules and functions ---- */

/* A CUfunction is a pointer to its gb_func: the server's handle and the
 * parameter layout cuLaunchKernel packs by. One per server handle, kept
 * for the life of the process (a handle outlives nothing: the server
 * refuses it after its module is unloaded). */
struct gb_func {
  uint64_t id;
  CUcontext ctx;
  uint32_t n;
  uint32_t off[GB_MAX_WORDS / 2];
  uint32_t size[GB_MAX_WORDS / 2];
  struct gb_func *next;
};
static struct gb_func *g_funcs;
static pthread_mutex_t g_funcs_mu = PTHREAD_MUTEX_INITIALIZER;

#define GB_MAX_JIT_LOG 65536 /* the most of the server's load log the library reads */

/* load_module loads PTX. The server checks every entry at load, as the
 * driver's JIT compiles them all: a module with one it cannot run is
 * CUDA_ERROR_INVALID_PTX, and the server's messages are the error log,
 * into log (GB_MAX_JIT_LOG bytes, NUL-terminated). */
static CUresult load_module(CUmodule *m, const void *image, char *log) {
  CUR(c);
  if (!m || !image) return CUDA_ERROR_INVALID_VALUE;
  size_t n = strnlen(image, GB_MAX_PAYLOAD);
  if (n == GB_MAX_PAYLOAD) return CUDA_ERROR_INVALID_IMAGE;
  uint64_t w[1] = {cid(c)}, out[1];
  uint32_t got = 0;
  CUresult r = rpc_fd(GB_MODULE_LOAD, w, 1, image, (uint32_t)n, -1, out, 1, log, GB_MAX_JIT_LOG - 1, &got);
  log[r == CUDA_SUCCESS ? 0 : got] = 0;
  if (r == CUDA_SUCCESS) *m = (CUmodule)(uintptr_t)out[0];
  return r;
}

/* jit_log copies log into a JIT log option pair's buffer as the driver
 * documents (cuda.h, CUjit_option): at most size bytes with the NUL
 * terminator, and the size option's value becomes the bytes of message
 * written, the terminator not counted, so that buf[0:n] is the message. */
static void jit_log(const char *log, char *buf, unsigned int nopt, CUjit_option *opts, void **vals, CUjit_option size_opt) {
  for (unsigned int i = 0; i < nopt; i++) {
    if (opts[i] != size_opt) continue;
    size_t size = (size_t)(uintptr_t)vals[i], k = 0;
    if (buf && size > 0) {
      k = strnlen(log, size - 1);
      memcpy(buf, log, k);
      buf[k] = 0;
    }
    vals[i] = (void *)(uintptr_t)k;
  }
}

/* cuModuleLoadDataEx takes the JIT options: the error and info logs are
 * filled (the info log is empty: the emulator compiles nothing), wall
 * time is 0 ms, and CU_JIT_THREADS_PER_BLOCK is left as asked; the
 * options that tune a compiler (registers, optimisation level, target)
 * mean nothing to the emulator and are accepted. An option cuda.h does not
 * define is CUDA_ERROR_INVALID_VALUE. */
CUresult CUDAAPI cuModuleLoadDataEx(CUmodule *m, const void *image, unsigned int nopt, CUjit_option *opts, void **vals) {
  if (nopt > 0 && (!opts || !vals)) return CUDA_ERROR_INVALID_VALUE;
  char *errbuf = NULL, *infobuf = NULL;
  for (unsigned int i = 0; i < nopt; i++) {
    if ((unsigned)opts[i] >= (unsigned)CU_JIT_NUM_OPTIONS) return CUDA_ERROR_INVALID_VALUE;
    if (opts[i] == CU_JIT_ERROR_LOG_BUFFER) errbuf = vals[i];
    if (opts[i] == CU_JIT_INFO_LOG_BUFFER) infobuf = vals[i];
  }
  char *log = malloc(GB_MAX_JIT_LOG);
  if (!log) return CUDA_ERROR_OUT_OF_MEMORY;
  log[0] = 0;
  CUresult r = load_module(m, image, log);
  jit_log(log, errbuf, nopt, opts, vals, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
  jit_log("", infobuf, nopt, opts, vals, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);
  for (unsigned int i = 0; i < nopt; i++)
    if (opts[i] == CU_JIT_WALL_TIME) {
      float ms = 0;
      memcpy(&vals[i], &ms, sizeof ms); /* the value slot holds the float itself */
    }
  free(log);
  return r;
}

CUresult CUDAAPI cuModuleLoadData(CUmodule *m, const void *image) { return cuModuleLoadDataEx(m, image, 0, NULL, NULL); }

CUresult CUDAAPI cuModuleUnload(CUmodule m) {
  CUR(c);
  uint64_t w[2] = {cid(c), (uint64_t)(uintptr_t)m};
  return rpc(GB_MODULE_UNLOAD, w, 2, NULL, 0);
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction *f, CUmodule m, const char *name) {
  CUR(c);
  if (!f || !name) return CUDA_ERROR_INVALID_VALUE;
  size_t n = strnlen(name, 4096);
  uint64_t w[2] = {cid(c), (uint64_t)(uintptr_t)m}, out[2 + GB_MAX_WORDS];
  CUresult r = rpc_fd(GB_MODULE_FUNCTION, w, 2, name, (uint32_t)n, -1, out, GB_MAX_WORDS, NULL, 0, NULL);
  if (r != CUDA_SUCCESS) return r;
  pthread_mutex_lock(&g_funcs_mu);
  struct gb_func *g;
  for (g = g_funcs; g; g = g->next)
    if (g->id == out[0]) break;
  if (!g) {
    g = calloc(1, sizeof *g);
    if (!g) {
      pthread_mutex_unlock(&g_funcs_mu);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
    g->id = out[0];
    g->ctx = c;
    g->n = (uint32_t)out[1];
    if (g->n > GB_MAX_WORDS / 2 - 1) g->n = GB_MAX_WORDS / 2 - 1;
    for (uint32_t i = 0; i < g->n; i++) {
      g->off[i] = (uint32_t)(out[2 + i] >> 32);
      g->size[i] = (uint32_t)out[2 + i];
    }
    g->next = g_funcs;
    g_funcs = g;
  }
  pthread_mutex_unlock(&g_funcs_mu);
  *f = (CUfunction)g;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetGlobal(CUdeviceptr *dp, size_t *bytes, CUmodule m, const char *name) {
  CUR(c);
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  size_t n = strnlen(name, 4096);
  uint64_t w[2] = {cid(c), (uint64_t)(uintptr_t)m}, out[2];
  CUresult r = rpc_fd(GB_MODULE_GLOBAL, w, 2, name, (uint32_t)n, -1, out, 2, NULL, 0, NULL);
  if (r == CUDA_SUCCESS) {
    if (dp) *dp = out[0];
    if (bytes) *bytes = out[1];
  }
  return r;
}

#define FUNC(g, f)                                              \
  struct gb_func *g = (struct gb_func *)(f);                    \
  if (!g) return CUDA_ERROR_INVALID_HANDLE

CUresult CUDAAPI cuFuncGetAttribute(int *v, CUfunction_attribute a, CUfunction f) {
  READY();
  FUNC(g, f);
  if (!v) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[3] = {cid(g->ctx), g->id, (uint64_t)a}, out[1];
  CUresult r = rpc(GB_FUNC_ATTR, w, 3, out, 1);
  if (r == CUDA_SUCCESS) *v = (int)(int64_t)out[0];
  return r;
}

CUresult CUDAAPI cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
  READY();
  FUNC(g, f);
  uint64_t w[4] = {cid(g->ctx), g->id, (uint64_t)a, (uint64_t)(int64_t)v};
  return rpc(GB_FUNC_SET_ATTR, w, 4, NULL, 0);
}

/* ---- host memory: shared mappings the server maps too ---- */

#define GB_MAX_PEND 8

struct gb_host {
  char *base;
  size_t size;
  uint64_t id;
  uint64_t devptr;
  CUcontext ctx;
  int registered; /* cuMemHostRegister: the program's memory, copied */
  /* Registered memory R has a shadow S in the server, which kernels use
   * through the mapped device pointer. last is what R and S both held when
   * they last agreed: a byte where R differs from it is the program's
   * write, one where S differs a kernel's. Launches push the program's
   * writes into S (in stream order, merged byte by byte, so that a
   * kernel's writes not yet copied out stay), and synchronisation copies
   * the kernels' writes out into R the same way. */
  unsigned char *last;
  CUstream pend[GB_MAX_PEND]; /* streams with launches since their last synchronisation */
  int npend;
  int pend_lost; /* more streams than pend holds: only a context synchronisation clears them */
  struct gb_host *next;
};
static struct gb_host *g_hosts;
static pthread_mutex_t g_hosts_mu = PTHREAD_MUTEX_INITIALIZER;

/* find_host is the shared allocation holding [p, p+n), or NULL; *off its
 * offset. Registered ranges are not shared: want_registered picks them. */
static struct gb_host *find_host(const void *p, size_t n, size_t *off, int want_registered) {
  struct gb_host *h;
  pthread_mutex_lock(&g_hosts_mu);
  for (h = g_hosts; h; h = h->next) {
    if (h->registered != want_registered) continue;
    if ((const char *)p >= h->base && (const char *)p < h->base + h->size && n <= h->size - (size_t)((const char *)p - h->base)) {
      *off = (const char *)p - h->base;
      break;
    }
  }
  pthread_mutex_unlock(&g_hosts_mu);
  return h;
}

static void forget_host(CUcontext c) {
  pthread_mutex_lock(&g_hosts_mu);
  for (struct gb_host **pp = &g_hosts; *pp;) {
    struct gb_host *h = *pp;
    if (h->ctx == c) {
      *pp = h->next;
      if (!h->registered) munmap(h->base, h->size);
      free(h->last);
      free(h);
    } else {
      pp = &h->next;
    }
  }
  pthread_mutex_unlock(&g_hosts_mu);
}

CUresult CUDAAPI cuMemHostAlloc(void **pp, size_t n, unsigned int flags) {
  CUR(c);
  if (!pp || n == 0) return CUDA_ERROR_INVALID_VALUE;
  if (flags & ~(unsigned)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED))
    return CUDA_ERROR_INVALID_VALUE;
  if (n > g_total_mem) return CUDA_ERROR_OUT_OF_MEMORY;
  int fd = memfd_create("gpubuf-host", MFD_CLOEXEC);
  if (fd < 0) return CUDA_ERROR_OUT_OF_MEMORY;
  void *p = MAP_FAILED;
  if (ftruncate(fd, (off_t)n) == 0) p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    close(fd);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  struct gb_host *h = calloc(1, sizeof *h);
  if (!h) {
    munmap(p, n);
    close(fd);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  uint64_t w[3] = {cid(c), n, flags}, out[2];
  CUresult r = rpc_fd(GB_HOST_ALLOC, w, 3, NULL, 0, fd, out, 2, NULL, 0, NULL);
  close(fd);
  if (r != CUDA_SUCCESS) {
    munmap(p, n);
    free(h);
    return r;
  }
  h->base = p;
  h->size = n;
  h->id = out[0];
  h->devptr = out[1];
  h->ctx = c;
  pthread_mutex_lock(&g_hosts_mu);
  h->next = g_hosts;
  g_hosts = h;
  pthread_mutex_unlock(&g_hosts_mu);
  *pp = p;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemAllocHost(void **pp, size_t n) { return cuMemHostAlloc(pp, n, 0); }

static CUresult reg_copy_out(struct gb_host *h, CUcontext c, CUstream s);

static CUresult host_release(void *p, int registered) {
  READY();
  struct gb_host *h = NULL;
  pthread_mutex_lock(&g_hosts_mu);
  for (struct gb_host **pp = &g_hosts; *pp; pp = &(*pp)->next)
    if ((*pp)->base == p && (*pp)->registered == registered) {
      h = *pp;
      *pp = h->next;
      break;
    }
  pthread_mutex_unlock(&g_hosts_mu);
  if (!h) return registered ? CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED : CUDA_ERROR_INVALID_VALUE;
  CUresult r = CUDA_SUCCESS;
  if (registered && (h->npend > 0 || h->pend_lost)) {
    /* The kernels' last writes reach the program's memory before it is
     * the program's alone again. */
    pthread_mutex_lock(&g_hosts_mu);
    r = reg_copy_out(h, h->ctx, NULL);
    pthread_mutex_unlock(&g_hosts_mu);
  }
  uint64_t w[2] = {cid(h->ctx), h->id};
  CUresult fr = rpc(GB_HOST_FREE, w, 2, NULL, 0);
  if (r == CUDA_SUCCESS) r = fr;
  if (!registered) munmap(h->base, h->size);
  free(h->last);
  free(h);
  return r;
}

CUresult CUDAAPI cuMemFreeHost(void *p) { return host_release(p, 0); }

CUresult CUDAAPI cuMemHostGetDevicePointer(CUdeviceptr *dp, void *p, unsigned int flags) {
  READY();
  if (!dp || flags != 0) return CUDA_ERROR_INVALID_VALUE;
  size_t off;
  struct gb_host *h = find_host(p, 1, &off, 0);
  if (!h) h = find_host(p, 1, &off, 1);
  if (!h) return CUDA_ERROR_INVALID_VALUE;
  *dp = h->devptr + off;
  return CUDA_SUCCESS;
}

static CUresult stage_htod(CUcontext c, CUdeviceptr dst, const void *src, size_t n, CUstream s);
static CUresult sync_null(CUcontext c, CUresult r);

CUresult CUDAAPI cuMemHostRegister(void *p, size_t n, unsigned int flags) {
  CUR(c);
  if (!p || n == 0) return CUDA_ERROR_INVALID_VALUE;
  size_t off;
  if (find_host(p, n, &off, 1) || find_host(p, n, &off, 0)) return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
  struct gb_host *h = calloc(1, sizeof *h);
  if (!h) return CUDA_ERROR_OUT_OF_MEMORY;
  if (n > g_total_mem || !(h->last = malloc(n))) {
    free(h);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  uint64_t w[3] = {cid(c), n, flags}, out[2];
  CUresult r = rpc(GB_HOST_REGISTER, w, 3, out, 2);
  if (r == CUDA_SUCCESS) {
    /* The shadow starts as the memory is now. */
    memcpy(h->last, p, n);
    r = sync_null(c, stage_htod(c, out[1], p, n, NULL));
    if (r != CUDA_SUCCESS) {
      uint64_t fw[2] = {cid(c), out[0]};
      rpc(GB_HOST_FREE, fw, 2, NULL, 0);
    }
  }
  if (r != CUDA_SUCCESS) {
    free(h->last);
    free(h);
    return r;
  }
  h->base = p;
  h->size = n;
  h->id = out[0];
  h->devptr = out[1];
  h->ctx = c;
  h->registered = 1;
  pthread_mutex_lock(&g_hosts_mu);
  h->next = g_hosts;
  g_hosts = h;
  pthread_mutex_unlock(&g_hosts_mu);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemHostUnregister(void *p) { return host_release(p, 1); }

/* ---- device memory and copies ---- */

CUresult CUDAAPI cuMemAlloc(CUdeviceptr *dp, size_t n) {
  CUR(c);
  if (!dp || n == 0) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[2] = {cid(c), n}, out[1];
  CUresult r = rpc(GB_MEM_ALLOC, w, 2, out, 1);
  if (r == CUDA_SUCCESS) *dp = out[0];
  return r;
}

CUresult CUDAAPI cuMemFree(CUdeviceptr p) {
  CUR(c);
  if (p == 0) return CUDA_SUCCESS;
  uint64_t w[2] = {cid(c), p};
  return rpc(GB_MEM_FREE, w, 2, NULL, 0);
}

CUresult CUDAAPI cuMemGetInfo(size_t *fr, size_t *total) {
  CUR(c);
  uint64_t w[1] = {cid(c)}, out[2];
  CUresult r = rpc(GB_MEM_INFO, w, 1, out, 2);
  if (r == CUDA_SUCCESS) {
    if (fr) *fr = out[0];
    if (total) *total = out[1];
  }
  return r;
}

static uint64_t sid(CUstream s) { return (uint64_t)(uintptr_t)s; }

/* stage_htod copies n bytes of the program's memory src to dst on stream
 * s through the staging area; the server keeps a copy of each chunk
 * before it answers, as the driver stages pageable memory. */
static CUresult stage_htod(CUcontext c, CUdeviceptr dst, const void *src, size_t n, CUstream s) {
  CUresult r = CUDA_SUCCESS;
  pthread_mutex_lock(&g_stage_mu);
  for (size_t done = 0; done < n && r == CUDA_SUCCESS;) {
    size_t k = n - done < GB_STAGING_SIZE ? n - done : GB_STAGING_SIZE;
    memcpy(g_stage, (const char *)src + done, k);
    uint64_t w[6] = {cid(c), sid(s), dst + done, 0, 0, k};
    r = rpc(GB_COPY_HTOD, w, 6, NULL, 0);
    done += k;
  }
  pthread_mutex_unlock(&g_stage_mu);
  return r;
}

static CUresult reg_push(struct gb_host *h, CUcontext c, CUstream s);

/* htod copies n bytes from host memory src to dst on stream s. From
 * cuMemHostAlloc memory the server copies straight out of the shared
 * mapping when the stream gets there. From registered memory the
 * program's writes are pushed into its shadow and the copy is made from
 * the shadow in stream order, so that it also sees what kernels queued
 * before it wrote there through the mapped pointer. Any other memory is
 * staged. */
static CUresult htod(CUcontext c, CUdeviceptr dst, const void *src, size_t n, CUstream s) {
  if (n == 0) return CUDA_SUCCESS;
  if (!src) return CUDA_ERROR_INVALID_VALUE;
  size_t off;
  struct gb_host *h = find_host(src, n, &off, 0);
  if (h) {
    uint64_t w[6] = {cid(c), sid(s), dst, h->id, off, n};
    return rpc(GB_COPY_HTOD, w, 6, NULL, 0);
  }
  pthread_mutex_lock(&g_hosts_mu);
  for (h = g_hosts; h; h = h->next)
    if (h->registered && h->ctx == c && (const char *)src >= h->base && (const char *)src < h->base + h->size &&
        n <= h->size - (size_t)((const char *)src - h->base))
      break;
  if (h) {
    CUresult r = reg_push(h, c, s);
    if (r == CUDA_SUCCESS) {
      uint64_t w[5] = {cid(c), sid(s), dst, h->devptr + (uint64_t)((const char *)src - h->base), n};
      r = rpc(GB_COPY_DTOD, w, 5, NULL, 0);
    }
    pthread_mutex_unlock(&g_hosts_mu);
    return r;
  }
  pthread_mutex_unlock(&g_hosts_mu);
  return stage_htod(c, dst, src, n, s);
}

/* dtoh copies n bytes from src to host memory dst on stream s: into
 * cuMemHostAlloc memory asynchronously; into any other memory through the
 * staging area, waiting for the stream, as the driver does for pageable
 * memory. */
static CUresult dtoh(CUcontext c, void *dst, CUdeviceptr src, size_t n, CUstream s) {
  if (n == 0) return CUDA_SUCCESS;
  if (!dst) return CUDA_ERROR_INVALID_VALUE;
  size_t off;
  struct gb_host *h = find_host(dst, n, &off, 0);
  if (h) {
    uint64_t w[6] = {cid(c), sid(s), h->id, off, src, n};
    return rpc(GB_COPY_DTOH, w, 6, NULL, 0);
  }
  CUresult r = CUDA_SUCCESS;
  pthread_mutex_lock(&g_stage_mu);
  for (size_t done = 0; done < n && r == CUDA_SUCCESS;) {
    size_t k = n - done < GB_STAGING_SIZE ? n - done : GB_STAGING_SIZE;
    uint64_t w[6] = {cid(c), sid(s), 0, 0, src + done, k};
    r = rpc(GB_COPY_DTOH, w, 6, NULL, 0);
    if (r == CUDA_SUCCESS) r = wait_on(c, GB_WAIT_STREAM, sid(s), GB_WAIT_BLOCK);
    if (r == CUDA_SUCCESS) memcpy((char *)dst + done, g_stage, k);
    done += k;
  }
  pthread_mutex_unlock(&g_stage_mu);
  return r;
}

/* sync_null waits for the legacy default stream, after a synchronous
 * copy or memset queued there. */
static CUresult reg_sync(CUcontext c, CUstream s, int all);

static CUresult sync_null(CUcontext c, CUresult r) {
  if (r != CUDA_SUCCESS) return r;
  r = wait_on(c, GB_WAIT_STREAM, 0, GB_WAIT_BLOCK);
  if (r == CUDA_SUCCESS) r = reg_sync(c, NULL, 0);
  return r;
}

CUresult CUDAAPI cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
  CUR(c);
  return sync_null(c, htod(c, dst, src, n, NULL));
}

CUresult CUDAAPI cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
  CUR(c);
  return sync_null(c, dtoh(c, dst, src, n, NULL));
}

CUresult CUDAAPI cuMemcpyDtoD(CUdeviceptr dst, CUdeviceptr src, size_t n) {
  CUR(c);
  uint64_t w[5] = {cid(c), 0, dst, src, n};
  return sync_null(c, rpc(GB_COPY_DTOD, w, 5, NULL, 0));
}

CUresult CUDAAPI cuMemcpyHtoDAsync(CUdeviceptr dst, const void *src, size_t n, CUstream s) {
  CUR(c);
  return htod(c, dst, src, n, s);
}

CUresult CUDAAPI cuMemcpyDtoHAsync(void *dst, CUdeviceptr src, size_t n, CUstream s) {
  CUR(c);
  return dtoh(c, dst, src, n, s);
}

CUresult CUDAAPI cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
  CUR(c);
  uint64_t w[5] = {cid(c), sid(s), dst, src, n};
  return rpc(GB_COPY_DTOD, w, 5, NULL, 0);
}

static CUresult memset_(CUcontext c, CUdeviceptr p, uint32_t v, uint64_t elem, size_t n, CUstream s) {
  uint64_t w[6] = {cid(c), sid(s), p, v, elem, n};
  return rpc(GB_MEMSET, w, 6, NULL, 0);
}

CUresult CUDAAPI cuMemsetD8(CUdeviceptr p, unsigned char v, size_t n) {
  CUR(c);
  return sync_null(c, memset_(c, p, v, 1, n, NULL));
}

CUresult CUDAAPI cuMemsetD32(CUdeviceptr p, unsigned int v, size_t n) {
  CUR(c);
  return sync_null(c, memset_(c, p, v, 4, n, NULL));
}

CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, CUstream s) {
  CUR(c);
  return memset_(c, p, v, 1, n, s);
}

CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr p, unsigned int v, size_t n, CUstream s) {
  CUR(c);
  return memset_(c, p, v, 4, n, s);
}

/* ---- registered memory: pushed in at launches, copied out at synchronisation ---- */

/* norm_stream is the stream the server runs s's work on: the legacy and
 * per-thread default streams are the context's default stream. */
static CUstream norm_stream(CUstream s) { return sid(s) <= 2 ? NULL : s; }

/* reg_push merges the program's writes to registered memory h (the bytes
 * where it differs from h->last) into its shadow, in s's order: one
 * GB_COPY_HTOD_MERGE per changed chunk, with the chunk and its last
 * known bytes in the staging area. The caller holds g_hosts_mu. */
static CUresult reg_push(struct gb_host *h, CUcontext c, CUstream s) {
  const size_t chunk = GB_STAGING_SIZE / 2;
  CUresult r = CUDA_SUCCESS;
  for (size_t o = 0; o < h->size && r == CUDA_SUCCESS; o += chunk) {
    size_t k = h->size - o < chunk ? h->size - o : chunk;
    if (memcmp(h->base + o, h->last + o, k) == 0) continue;
    pthread_mutex_lock(&g_stage_mu);
    memcpy(g_stage, h->base + o, k);
    memcpy(g_stage + k, h->last + o, k);
    uint64_t w[4] = {cid(c), sid(s), h->devptr + o, k};
    r = rpc(GB_COPY_HTOD_MERGE, w, 4, NULL, 0);
    if (r == CUDA_SUCCESS) memcpy(h->last + o, g_stage, k);
    pthread_mutex_unlock(&g_stage_mu);
  }
  return r;
}

/* reg_copy_out copies the kernels' writes to h's shadow (the bytes where
 * the shadow differs from h->last) out into the program's memory, read in
 * s's order after what is queued there. Where the program wrote the same
 * byte since, its write stays: it came later than the kernel's, or raced
 * with it. The caller holds g_hosts_mu. */
static CUresult reg_copy_out(struct gb_host *h, CUcontext c, CUstream s) {
  CUresult r = CUDA_SUCCESS;
  pthread_mutex_lock(&g_stage_mu);
  for (size_t o = 0; o < h->size && r == CUDA_SUCCESS;) {
    size_t k = h->size - o < GB_STAGING_SIZE ? h->size - o : GB_STAGING_SIZE;
    uint64_t w[6] = {cid(c), sid(s), 0, 0, h->devptr + o, k};
    r = rpc(GB_COPY_DTOH, w, 6, NULL, 0);
    if (r == CUDA_SUCCESS) r = wait_on(c, GB_WAIT_STREAM, sid(s), GB_WAIT_BLOCK);
    if (r == CUDA_SUCCESS) {
      unsigned char *R = (unsigned char *)h->base + o, *L = h->last + o;
      for (size_t i = 0; i < k; i++)
        if (g_stage[i] != L[i]) {
          if (R[i] == L[i]) R[i] = g_stage[i];
          L[i] = g_stage[i];
        }
    }
    o += k;
  }
  pthread_mutex_unlock(&g_stage_mu);
  return r;
}

/* reg_before_launch pushes the program's writes to the context's
 * registered memory before a launch on s, and notes s as a stream whose
 * kernels may write it. */
static CUresult reg_before_launch(CUcontext c, CUstream s) {
  CUresult r = CUDA_SUCCESS;
  s = norm_stream(s);
  pthread_mutex_lock(&g_hosts_mu);
  for (struct gb_host *h = g_hosts; h && r == CUDA_SUCCESS; h = h->next) {
    if (!h->registered || h->ctx != c) continue;
    r = reg_push(h, c, s);
    int i;
    for (i = 0; i < h->npend && h->pend[i] != s; i++) {
    }
    if (i == h->npend) {
      if (h->npend < GB_MAX_PEND) h->pend[h->npend++] = s;
      else h->pend_lost = 1;
    }
  }
  pthread_mutex_unlock(&g_hosts_mu);
  return r;
}

/* reg_sync copies out the context's registered memory that kernels may
 * have written, after a synchronisation: of stream s (all == 0, or an
 * event's, all == -1, which says no stream is done) or of the whole
 * context (all == 1). A stream that is done leaves the pending list; the
 * others stay, so their kernels' later writes are copied out at their
 * own synchronisation. */
static CUresult reg_sync(CUcontext c, CUstream s, int all) {
  CUresult r = CUDA_SUCCESS;
  s = norm_stream(s);
  pthread_mutex_lock(&g_hosts_mu);
  for (struct gb_host *h = g_hosts; h && r == CUDA_SUCCESS; h = h->next) {
    if (!h->registered || h->ctx != c || (h->npend == 0 && !h->pend_lost)) continue;
    r = reg_copy_out(h, c, all == 0 ? s : NULL);
    if (r != CUDA_SUCCESS) break;
    if (all == 1) {
      h->npend = 0;
      h->pend_lost = 0;
    } else if (all == 0) {
      for (int i = 0; i < h->npend; i++)
        if (h->pend[i] == s) h->pend[i--] = h->pend[--h->npend];
    }
  }
  pthread_mutex_unlock(&g_hosts_mu);
  return r;
}

/* ---- streams and events ---- */

CUresult CUDAAPI cuStreamCreate(CUstream *ps, unsigned int flags) {
  CUR(c);
  if (!ps) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[2] = {cid(c), flags}, out[1];
  CUresult r = rpc(GB_STREAM_CREATE, w, 2, out, 1);
  if (r == CUDA_SUCCESS) *ps = (CUstream)(uintptr_t)out[0];
  return r;
}

CUresult CUDAAPI cuStreamDestroy(CUstream s) {
  CUR(c);
  uint64_t w[2] = {cid(c), sid(s)};
  return rpc(GB_STREAM_DESTROY, w, 2, NULL, 0);
}

CUresult CUDAAPI cuStreamSynchronize(CUstream s) {
  CUR(c);
  CUresult r = wait_on(c, GB_WAIT_STREAM, sid(s), GB_WAIT_BLOCK);
  if (r == CUDA_SUCCESS) r = reg_sync(c, s, 0);
  return r;
}

CUresult CUDAAPI cuStreamQuery(CUstream s) {
  CUR(c);
  return wait_on(c, GB_WAIT_STREAM, sid(s), GB_WAIT_QUERY);
}

CUresult CUDAAPI cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
  CUR(c);
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[3] = {cid(c), sid(s), (uint64_t)(uintptr_t)e};
  return rpc(GB_STREAM_WAIT_EVENT, w, 3, NULL, 0);
}

CUresult CUDAAPI cuEventCreate(CUevent *pe, unsigned int flags) {
  CUR(c);
  if (!pe) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[2] = {cid(c), flags}, out[1];
  CUresult r = rpc(GB_EVENT_CREATE, w, 2, out, 1);
  if (r == CUDA_SUCCESS) *pe = (CUevent)(uintptr_t)out[0];
  return r;
}

CUresult CUDAAPI cuEventRecord(CUevent e, CUstream s) {
  CUR(c);
  uint64_t w[3] = {cid(c), (uint64_t)(uintptr_t)e, sid(s)};
  return rpc(GB_EVENT_RECORD, w, 3, NULL, 0);
}

CUresult CUDAAPI cuEventSynchronize(CUevent e) {
  CUR(c);
  CUresult r = wait_on(c, GB_WAIT_EVENT, (uint64_t)(uintptr_t)e, GB_WAIT_BLOCK);
  if (r == CUDA_SUCCESS) r = reg_sync(c, NULL, -1);
  return r;
}

CUresult CUDAAPI cuEventQuery(CUevent e) {
  CUR(c);
  return wait_on(c, GB_WAIT_EVENT, (uint64_t)(uintptr_t)e, GB_WAIT_QUERY);
}

CUresult CUDAAPI cuEventElapsedTime(float *ms, CUevent start, CUevent end) {
  CUR(c);
  if (!ms) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[3] = {cid(c), (uint64_t)(uintptr_t)start, (uint64_t)(uintptr_t)end}, out[1];
  CUresult r = rpc(GB_EVENT_ELAPSED, w, 3, out, 1);
  if (r == CUDA_SUCCESS) {
    uint32_t bits = (uint32_t)out[0];
    memcpy(ms, &bits, 4);
  }
  return r;
}

CUresult CUDAAPI cuEventDestroy(CUevent e) {
  CUR(c);
  uint64_t w[2] = {cid(c), (uint64_t)(uintptr_t)e};
  return rpc(GB_EVENT_DESTROY, w, 2, NULL, 0);
}

/* ---- launches ---- */

#define GB_MAX_PARAM_BYTES 32768 /* CUDA 12.1's limit on a kernel's parameters */

static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                       unsigned shared, CUstream s, void **params, void **extra, uint64_t coop) {
  READY();
  FUNC(g, f);
  CUcontext c = current();
  if (!c) return CUDA_ERROR_INVALID_CONTEXT;
  if (c != g->ctx) return CUDA_ERROR_INVALID_HANDLE;
  char *buf = NULL;
  size_t bufsize = 0;
  if (!params && extra) {
    for (int i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) buf = extra[i + 1];
      else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) bufsize = *(size_t *)extra[i + 1];
      else return CUDA_ERROR_INVALID_VALUE;
    }
  }
  if (g->n > 0 && !params && !buf) return CUDA_ERROR_INVALID_VALUE;
  size_t total = 0;
  for (uint32_t i = 0; i < g->n; i++) total += g->size[i];
  if (total > GB_MAX_PARAM_BYTES) return CUDA_ERROR_INVALID_VALUE;
  char packed[GB_MAX_PARAM_BYTES];
  size_t pos = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    if (params) {
      if (!params[i]) return CUDA_ERROR_INVALID_VALUE;
      memcpy(packed + pos, params[i], g->size[i]);
    } else {
      if ((size_t)g->off[i] + g->size[i] > bufsize) return CUDA_ERROR_INVALID_VALUE;
      memcpy(packed + pos, buf + g->off[i], g->size[i]);
    }
    pos += g->size[i];
  }
  CUresult r = reg_before_launch(c, s);
  if (r != CUDA_SUCCESS) return r;
  uint64_t w[11] = {cid(c), g->id, gx, gy, gz, bx, by, bz, shared, sid(s), coop};
  return rpc_fd(GB_LAUNCH, w, 11, packed, (uint32_t)pos, -1, NULL, 0, NULL, 0, NULL);
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx,
                                unsigned int by, unsigned int bz, unsigned int shared, CUstream s, void **params,
                                void **extra) {
  return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, extra, 0);
}

CUresult CUDAAPI cuLaunchCooperativeKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                           unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared,
                                           CUstream s, void **params) {
  return launch(f, gx, gy, gz, bx, by, bz, shared, s, params, NULL, 1);
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessor(int *n, CUfunction f, int block, size_t dyn) {
  READY();
  FUNC(g, f);
  if (!n || block <= 0) return CUDA_ERROR_INVALID_VALUE;
  uint64_t w[4] = {cid(g->ctx), g->id, (uint64_t)block, dyn}, out[1];
  CUresult r = rpc(GB_OCCUPANCY, w, 4, out, 1);
  if (r == CUDA_SUCCESS) *n = (int)out[0];
  return r;
}

/* The flags of the occupancy calculator: CU_OCCUPANCY_DEFAULT, or
 * CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE, which concerns the L1 cache
 * split a GPU may choose and changes nothing here. */
static int occupancy_flags_ok(unsigned int flags) {
  return (flags & ~(unsigned)CU_OCCUPANCY_DISABLE_CACHING_OVERRIDE) == 0;
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int *n, CUfunction f, int block, size_t dyn,
                                                                     unsigned int flags) {
  if (!occupancy_flags_ok(flags)) return CUDA_ERROR_INVALID_VALUE;
  return cuOccupancyMaxActiveBlocksPerMultiprocessor(n, f, block, dyn);
}

/* cuOccupancyMaxPotentialBlockSizeWithFlags searches the block sizes as
 * the CUDA occupancy calculator does: from the limit (blockSizeLimit, or
 * the function's and device's most threads per block when 0) down in
 * steps of a warp, asking cuOccupancyMaxActiveBlocksPerMultiprocessor for
 * each (the dynamic shared memory from the program's callback, called
 * here in its own process, when it gives one), and keeps the size with
 * the most resident threads per SM, the larger on a tie; it stops early
 * once an SM is full. *minGrid is that size's blocks per SM times the SMs. */
CUresult CUDAAPI cuOccupancyMaxPotentialBlockSizeWithFlags(int *minGrid, int *blockSize, CUfunction f,
                                                           CUoccupancyB2DSize b2d, size_t dyn, int limit,
                                                           unsigned int flags) {
  READY();
  FUNC(g, f);
  if (!minGrid || !blockSize || limit < 0 || !occupancy_flags_ok(flags)) return CUDA_ERROR_INVALID_VALUE;
  int warp, sms, smThreads, devMax, funcMax;
  CUresult r;
  if ((r = cuDeviceGetAttribute(&warp, CU_DEVICE_ATTRIBUTE_WARP_SIZE, 0)) != CUDA_SUCCESS ||
      (r = cuDeviceGetAttribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, 0)) != CUDA_SUCCESS ||
      (r = cuDeviceGetAttribute(&smThreads, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, 0)) != CUDA_SUCCESS ||
      (r = cuDeviceGetAttribute(&devMax, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, 0)) != CUDA_SUCCESS ||
      (r = cuFuncGetAttribute(&funcMax, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f)) != CUDA_SUCCESS)
    return r;
  if (warp <= 0) return CUDA_ERROR_UNKNOWN;
  int max = devMax < funcMax ? devMax : funcMax;
  if (limit == 0 || limit > max) limit = max;
  int best = 0, bestBlocks = 0, bestThreads = 0;
  for (int aligned = (limit + warp - 1) / warp * warp; aligned > 0; aligned -= warp) {
    int size = aligned > limit ? limit : aligned;
    size_t smem = b2d ? b2d(size) : dyn;
    int blocks = 0;
    if ((r = cuOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, size, smem)) != CUDA_SUCCESS) return r;
    if (blocks * size > bestThreads) {
      best = size;
      bestBlocks = blocks;
      bestThreads = blocks * size;
    }
    if (bestThreads == smThreads) break;
  }
  *minGrid = bestBlocks * sms;
  *blockSize = best;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuOccupancyMaxPotentialBlockSize(int *minGrid, int *blockSize, CUfunction f, CUoccupancyB2DSize b2d,
                                                  size_t dyn, int limit) {
  return cuOccupancyMaxPotentialBlockSizeWithFlags(minGrid, blockSize, f, b2d, dyn, limit, CU_OCCUPANCY_DEFAULT);
}

struct gpubuf_proc {
  const char *name;
  int version;
  int ptds;
  void *fn;
};
CUresult CUDAAPI cuGetProcAddress_v2(const char *sym, void **pfn, int version, cuuint64_t flags, int *status);

#include "exports_gen.h"

/* ---- cuGetProcAddress ---- */

static const size_t gpubuf_nprocs = sizeof gpubuf_procs / sizeof gpubuf_procs[0];

static CUresult proc_lookup(const char *sym, void **pfn, int version, cuuint64_t flags) {
  if (!sym || !pfn) return CUDA_ERROR_INVALID_VALUE;
  int ptds = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  const struct gpubuf_proc *best = NULL;
  for (size_t i = 0; i < gpubuf_nprocs; i++) {
    const struct gpubuf_proc *p = &gpubuf_procs[i];
    if (strcmp(p->name, sym) != 0 || p->version > version || p->ptds > ptds) continue;
    if (!best || p->version > best->version || (p->version == best->version && p->ptds > best->ptds)) best = p;
  }
  *pfn = best ? best->fn : NULL;
  return best ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult CUDAAPI cuGetProcAddress(const char *sym, void **pfn, int version, cuuint64_t flags) {
  return proc_lookup(sym, pfn, version, flags);
}

/* CUDA 12's cuGetProcAddress_v2 adds a status out-parameter:
 * CU_GET_PROC_ADDRESS_SUCCESS 0, SYMBOL_NOT_FOUND 1,
 * VERSION_NOT_SUFFICIENT 2. */
CUresult CUDAAPI cuGetProcAddress_v2(const char *sym, void **pfn, int version, cuuint64_t flags, int *status) {
  CUresult r = proc_lookup(sym, pfn, version, flags);
  if (status) {
    if (r == CUDA_SUCCESS) *status = 0;
    else {
      void *any;
      *status = proc_lookup(sym, &any, 1 << 30, flags) == CUDA_SUCCESS ? 2 : 1;
    }
  }
  return r;
}

