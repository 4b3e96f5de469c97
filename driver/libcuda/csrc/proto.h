/* The wire protocol between libcuda.so.1 and `gpubuf driver-serve`
 * (docs/driver-protocol.md). Every message is a 16-byte header and a
 * payload of little-endian 64-bit words, then bytes. */
#ifndef GPUBUF_PROTO_H
#define GPUBUF_PROTO_H

#include <stdint.h>

#define GB_MAGIC 0x50444247u /* "GBDP" */
#define GB_VERSION 1u
#define GB_MAX_PAYLOAD (64u << 20) /* a module's PTX is the largest payload */
#define GB_MAX_WORDS 64u           /* words in one message's argument part */
#define GB_STAGING_SIZE (4u << 20) /* the shared staging area for pageable copies */
#define GB_WAIT_SLICE_US 2000u     /* how long the server waits before NOT_READY */

struct gb_req {
  uint32_t magic;
  uint16_t version;
  uint16_t op;
  uint32_t nwords; /* 64-bit words first in the payload */
  uint32_t nbytes; /* bytes after them */
};

struct gb_resp {
  uint32_t magic;
  uint32_t status; /* a CUresult */
  uint32_t nwords;
  uint32_t nbytes;
};

enum gb_op {
  GB_HELLO = 1,
  GB_DEVICE_ATTR,
  GB_DEVICE_INFO,
  GB_CTX_CREATE,
  GB_CTX_DESTROY,
  GB_WAIT,
  GB_MODULE_LOAD,
  GB_MODULE_UNLOAD,
  GB_MODULE_FUNCTION,
  GB_MODULE_GLOBAL,
  GB_FUNC_ATTR,
  GB_FUNC_SET_ATTR,
  GB_MEM_ALLOC,
  GB_MEM_FREE,
  GB_MEM_INFO,
  GB_HOST_ALLOC,
  GB_HOST_FREE,
  GB_HOST_REGISTER,
  GB_COPY_HTOD,
  GB_COPY_DTOH,
  GB_COPY_DTOD,
  GB_MEMSET,
  GB_STREAM_CREATE,
  GB_STREAM_DESTROY,
  GB_STREAM_WAIT_EVENT,
  GB_EVENT_CREATE,
  GB_EVENT_RECORD,
  GB_EVENT_ELAPSED,
  GB_EVENT_DESTROY,
  GB_LAUNCH,
  GB_OCCUPANCY,
  GB_FINISH,
  GB_COPY_HTOD_MERGE,
  GB_OP_END
};

/* GB_WAIT kinds */
enum { GB_WAIT_CTX = 1, GB_WAIT_STREAM = 2, GB_WAIT_EVENT = 3 };
/* GB_WAIT modes */
enum { GB_WAIT_BLOCK = 0, GB_WAIT_QUERY = 1 };

#endif
