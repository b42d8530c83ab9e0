// One system call for a fan-out's writes: each consumer's socket gets its send as an io_uring request, and
// a block of them enters the kernel together. Why: on a paced message a thousand consumers each cost one
// write(2); on this kind of machine (page-table isolation on every kernel entry) the entries and exits are
// a third of the fan-out's CPU. Every send is non-blocking (MSG_DONTWAIT): the kernel takes what fits at
// once and reports it (or -EAGAIN); nothing is left in flight when send() returns, so the caller writes
// any rest through the socket's own stream, in order, as after a short write(2).
// Raw system calls, no liburing: the ring is three mmaps and two counters, and no library has to be there.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING_ENTRIES 256

typedef struct {
  int fd;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
  unsigned entries;
} ring_t;

static int ring_setup(ring_t *r, unsigned entries) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  // One issuer, no interrupt for completions, keep submitting past a failed request. Linux 6.0 is the first
  // with all three (EINVAL before): older kernels are not used at all, since what this relies on (a send with
  // MSG_DONTWAIT completing at once with -EAGAIN, never armed to finish later) is what 6.x does.
  p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  int fd = (int)syscall(__NR_io_uring_setup, entries, &p);
  if (fd < 0) return -errno;
  r->fd = fd;
  r->entries = p.sq_entries;
  r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single) {
    if (r->cq_len > r->sq_len) r->sq_len = r->cq_len;
    r->cq_len = r->sq_len;
  }
  r->sq_map = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (r->sq_map == MAP_FAILED) goto fail;
  r->cq_map = single ? r->sq_map : mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  if (r->cq_map == MAP_FAILED) goto fail;
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) goto fail;
  char *sq = r->sq_map, *cq = r->cq_map;
  r->sq_head = (unsigned *)(sq + p.sq_off.head);
  r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  r->sq_array = (unsigned *)(sq + p.sq_off.array);
  r->cq_head = (unsigned *)(cq + p.cq_off.head);
  r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
fail: {
    int err = -errno;
    close(fd);
    return err;
  }
}

static void ring_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ring_t *r = data;
  if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqes_len);
  if (r->cq_map && r->cq_map != MAP_FAILED && r->cq_map != r->sq_map) munmap(r->cq_map, r->cq_len);
  if (r->sq_map && r->sq_map != MAP_FAILED) munmap(r->sq_map, r->sq_len);
  close(r->fd);
  free(r);
}

/** Sends bufs[i] (length lens[i]) on fds[i] for i < n; results[i] gets the bytes taken or -errno. */
static int ring_send(ring_t *r, const int *fds, void *const *bufs, const size_t *lens, int *results, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    unsigned count = n - done;
    if (count > r->entries) count = r->entries;
    unsigned tail = *r->sq_tail;
    for (unsigned i = 0; i < count; i++) {
      unsigned idx = tail & *r->sq_mask;
      struct io_uring_sqe *s = &r->sqes[idx];
      memset(s, 0, sizeof *s);
      s->opcode = IORING_OP_SEND;
      s->fd = fds[done + i];
      s->addr = (unsigned long)bufs[done + i];
      s->len = (unsigned)lens[done + i];
      s->msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL;
      s->user_data = done + i;
      r->sq_array[idx] = idx;
      tail++;
    }
    __atomic_store_n(r->sq_tail, tail, __ATOMIC_RELEASE);
    unsigned reaped = 0;
    while (reaped < count) {
      unsigned to_submit = tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
      int ret = (int)syscall(__NR_io_uring_enter, r->fd, to_submit, count - reaped, IORING_ENTER_GETEVENTS, NULL, 0);
      if (ret < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) return -errno;
      unsigned head = *r->cq_head;
      unsigned ctail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
      for (; head != ctail; head++) {
        struct io_uring_cqe *c = &r->cqes[head & *r->cq_mask];
        if (c->user_data < n) results[c->user_data] = c->res;
        reaped++;
      }
      __atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
    }
    done += count;
  }
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[128];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/** open(): undefined once this thread's ring is ready; otherwise the errno's text (no ring: write(2)). */
static napi_value js_open(napi_env env, napi_callback_info info) {
  (void)info;
  void *data = NULL;
  napi_get_instance_data(env, &data);
  napi_value out;
  if (data != NULL) {
    napi_get_undefined(env, &out);
    return out;
  }
  ring_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno(env, "open", ENOMEM);
  int err = ring_setup(r, RING_ENTRIES);
  if (err < 0) {
    free(r);
    napi_create_string_utf8(env, err == -EINVAL ? "needs Linux 6.0 or later" : strerror(-err), NAPI_AUTO_LENGTH, &out);
    return out;
  }
  napi_set_instance_data(env, r, ring_free, NULL);
  napi_get_undefined(env, &out);
  return out;
}

/** send(fds: Int32Array, bufs: Buffer[], n, results: Int32Array): one send per socket, n of them. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ring_t *r = NULL;
  napi_get_instance_data(env, (void **)&r);
  if (r == NULL || argc < 4) {
    napi_throw_error(env, NULL, "send: open() first, with (fds, bufs, n, results)");
    return NULL;
  }
  napi_typedarray_type t1, t2;
  size_t len1, len2, off;
  void *fdp, *resp;
  napi_value ab;
  uint32_t n;
  if (napi_get_typedarray_info(env, argv[0], &t1, &len1, &fdp, &ab, &off) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &t2, &len2, &resp, &ab, &off) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &n) != napi_ok || t1 != napi_int32_array || t2 != napi_int32_array ||
      n > len1 || n > len2) {
    napi_throw_type_error(env, NULL, "send: (fds: Int32Array, bufs: Buffer[], n, results: Int32Array)");
    return NULL;
  }
  void **bufs = malloc(n * (sizeof(void *) + sizeof(size_t)) + 1);
  if (bufs == NULL) return throw_errno(env, "send", ENOMEM);
  size_t *lens = (size_t *)(bufs + n);
  // A send that never completes (the ring failed) reads as cancelled: the caller fails that socket.
  for (uint32_t i = 0; i < n; i++) ((int *)resp)[i] = -ECANCELED;
  for (uint32_t i = 0; i < n; i++) {
    napi_value b;
    if (napi_get_element(env, argv[1], i, &b) != napi_ok || napi_get_buffer_info(env, b, &bufs[i], &lens[i]) != napi_ok) {
      free(bufs);
      napi_throw_type_error(env, NULL, "send: bufs[i] must be a Buffer");
      return NULL;
    }
  }
  int err = ring_send(r, fdp, bufs, lens, resp, n);
  free(bufs);
  if (err < 0) return throw_errno(env, "io_uring_enter", -err);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, js_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, js_send, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  return exports;
}
