/*
 * Batched UDP sockets for the relay's hot path (Linux): recvmmsg/sendmmsg driven by libuv, with the
 * datagrams in buffers shared with JavaScript, so relaying a packet makes no JS object and no N-API call
 * per packet. The TURN logic stays in TypeScript (turn-server/src/transports/native-io.ts); this file only
 * moves bytes.
 *
 * Receive: in libuv's poll phase, every readable socket is drained with recvmmsg into the next free slots
 * of `inData` (SLOT_BYTES each: the largest UDP payload fits), with length, source and socket in `inMeta`
 * (IN_META_STRIDE int32 each). Once per loop iteration (a check handle, right after the poll phase), or
 * sooner when the slots are full, JS `onBatch(count)` is called once for all of them, whichever sockets
 * they came from.
 * Send: JS appends datagrams to `outData` and their socket and destination to `outMeta`
 * (OUT_META_STRIDE int32 each) and counts them in `control` [count, bytes used]. The queue is sent after
 * each onBatch and before the loop blocks (a prepare handle), or when JS calls flush() because it is full:
 * consecutive entries for one socket go out in one sendmmsg.
 *
 * Addresses in meta: family 4 → a0 = IPv4 as a host-order integer; family 6 → a0..a3 = the 16 bytes as
 * four big-endian words. Ports in host order.
 *
 * Built against Node-API (version 8) and libuv's stable handle API by `npm run build:native`.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define IN_SLOTS 64
#define SLOT_BYTES 65536
#define IN_META_STRIDE 8
#define OUT_SLOTS 256
#define OUT_BYTES (1 << 20)
#define OUT_META_STRIDE 10
/* control: [queued datagrams, queued bytes, datagrams that could not be sent (cumulative)] */
#define CONTROL_INTS 3
/* Batches read per readable event before yielding to the rest of the event loop. */
#define MAX_ROUNDS 8

typedef struct state_s state_t;

typedef struct sock_s {
  uv_poll_t poll;
  int fd;
  int polling;
  int closing;
  state_t* state;
} sock_t;

struct state_s {
  napi_env env;
  uv_loop_t* loop;
  napi_ref on_batch;
  napi_ref resource;
  napi_async_context async_context;
  napi_ref in_data_ref;
  napi_ref in_meta_ref;
  napi_ref out_data_ref;
  napi_ref out_meta_ref;
  napi_ref control_ref;
  int32_t* control;
  uv_check_t check;
  uv_prepare_t prepare;
  int pending;
  uint8_t* in_data;
  int32_t* in_meta;
  uint8_t* out_data;
  int32_t* out_meta;
  struct mmsghdr in_msgs[IN_SLOTS];
  struct iovec in_iov[IN_SLOTS];
  struct sockaddr_storage in_addr[IN_SLOTS];
  struct mmsghdr out_msgs[OUT_SLOTS];
  struct iovec out_iov[OUT_SLOTS];
  struct sockaddr_storage out_addr[OUT_SLOTS];
  /* Open sockets by descriptor number (a descriptor is unique while open). */
  sock_t** by_fd;
  int capacity;
};

#define CALL(env, call)                                         \
  do {                                                          \
    if ((call) != napi_ok) {                                    \
      napi_throw_error((env), "EINTERNAL", #call " failed");    \
      return NULL;                                              \
    }                                                           \
  } while (0)

static state_t* get_state(napi_env env) {
  void* data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (state_t*)data;
}

/* Throws an Error like Node's: message "<syscall> <CODE>", .code = "<CODE>", .errno = -errno, .syscall. */
static void throw_errno(napi_env env, const char* syscall, int error) {
  const char* code = uv_err_name(-error);
  char message[128];
  snprintf(message, sizeof message, "%s %s", syscall, code);
  napi_value code_value, message_value, err, errno_value, syscall_value;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &err);
  napi_create_int32(env, -error, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, err, "errno", errno_value);
  napi_set_named_property(env, err, "syscall", syscall_value);
  napi_throw(env, err);
}

static sock_t* find_sock(state_t* state, int fd) {
  if (fd < 0 || fd >= state->capacity) return NULL;
  sock_t* s = state->by_fd[fd];
  return s != NULL && !s->closing ? s : NULL;
}

/* Files the socket under its descriptor; 0 when the table cannot grow. */
static int register_sock(state_t* state, sock_t* s) {
  if (s->fd >= state->capacity) {
    int capacity = state->capacity > 0 ? state->capacity : 1024;
    while (capacity <= s->fd) capacity *= 2;
    sock_t** grown = realloc(state->by_fd, (size_t)capacity * sizeof *grown);
    if (grown == NULL) return 0;
    memset(grown + state->capacity, 0, (size_t)(capacity - state->capacity) * sizeof *grown);
    state->by_fd = grown;
    state->capacity = capacity;
  }
  state->by_fd[s->fd] = s;
  return 1;
}

static void unlink_sock(sock_t* s) {
  state_t* state = s->state;
  if (s->fd >= 0 && s->fd < state->capacity && state->by_fd[s->fd] == s) state->by_fd[s->fd] = NULL;
}

static void write_source(int32_t* meta, const struct sockaddr_storage* addr) {
  if (addr->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)addr;
    meta[1] = 4;
    meta[2] = ntohs(in->sin_port);
    meta[3] = (int32_t)ntohl(in->sin_addr.s_addr);
  } else {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)addr;
    const uint8_t* b = in6->sin6_addr.s6_addr;
    meta[1] = 6;
    meta[2] = ntohs(in6->sin6_port);
    for (int w = 0; w < 4; w++)
      meta[3 + w] = (int32_t)(((uint32_t)b[4 * w] << 24) | ((uint32_t)b[4 * w + 1] << 16) |
                              ((uint32_t)b[4 * w + 2] << 8) | (uint32_t)b[4 * w + 3]);
  }
}

static socklen_t read_destination(const int32_t* meta, struct sockaddr_storage* addr) {
  memset(addr, 0, sizeof(struct sockaddr_in6));
  if (meta[3] == 4) {
    struct sockaddr_in* in = (struct sockaddr_in*)addr;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)meta[4]);
    in->sin_addr.s_addr = htonl((uint32_t)meta[5]);
    return sizeof(struct sockaddr_in);
  }
  struct sockaddr_in6* in6 = (struct sockaddr_in6*)addr;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons((uint16_t)meta[4]);
  uint8_t* b = in6->sin6_addr.s6_addr;
  for (int w = 0; w < 4; w++) {
    uint32_t word = (uint32_t)meta[5 + w];
    b[4 * w] = word >> 24;
    b[4 * w + 1] = (word >> 16) & 0xff;
    b[4 * w + 2] = (word >> 8) & 0xff;
    b[4 * w + 3] = word & 0xff;
  }
  return sizeof(struct sockaddr_in6);
}

/* Sends the queued datagrams (control[0] entries) and empties the queue. Returns how many failed. */
static int flush_out(state_t* state) {
  int count = state->control[0];
  state->control[0] = 0;
  state->control[1] = 0;
  if (count <= 0) return 0;
  if (count > OUT_SLOTS) count = OUT_SLOTS;
  for (int i = 0; i < count; i++) {
    const int32_t* meta = state->out_meta + i * OUT_META_STRIDE;
    uint32_t offset = (uint32_t)meta[1], length = (uint32_t)meta[2];
    if (offset > OUT_BYTES || length > OUT_BYTES - offset) length = 0, offset = 0;
    state->out_iov[i].iov_base = state->out_data + offset;
    state->out_iov[i].iov_len = length;
    state->out_msgs[i].msg_hdr.msg_namelen = read_destination(meta, &state->out_addr[i]);
  }
  int failed = 0;
  int i = 0;
  while (i < count) {
    int fd = state->out_meta[i * OUT_META_STRIDE];
    int run = 1;
    while (i + run < count && state->out_meta[(i + run) * OUT_META_STRIDE] == fd) run++;
    int sent = sendmmsg(fd, state->out_msgs + i, (unsigned)run, MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      failed++; /* The first datagram of the run failed (full buffer, unreachable…): UDP drops it. */
      i++;
    } else {
      i += sent;
    }
  }
  state->control[2] += failed;
  return failed;
}

/* Calls JS onBatch(count) for the pending slots; an exception becomes the process's uncaughtException. */
static void deliver(state_t* state) {
  int count = state->pending;
  if (count == 0) return;
  napi_env env = state->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, resource, argv[1], result;
  napi_get_reference_value(env, state->on_batch, &callback);
  napi_get_reference_value(env, state->resource, &resource);
  napi_create_int32(env, count, &argv[0]);
  napi_status status = napi_make_callback(env, state->async_context, resource, callback, 1, argv, &result);
  state->pending = 0;
  if (status == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
  flush_out(state);
}

static void on_readable(uv_poll_t* handle, int status, int events) {
  (void)events;
  sock_t* s = (sock_t*)handle->data;
  state_t* state = s->state;
  if (status < 0) {
    /* The descriptor itself failed (libuv could not poll it): stop, rather than spin on the error. */
    uv_poll_stop(handle);
    return;
  }
  for (int round = 0; round < MAX_ROUNDS && !s->closing; round++) {
    if (state->pending == IN_SLOTS) deliver(state);
    if (s->closing) return;
    int first = state->pending;
    int free_slots = IN_SLOTS - first;
    for (int i = first; i < IN_SLOTS; i++) {
      state->in_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      state->in_msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(s->fd, state->in_msgs + first, (unsigned)free_slots, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN (drained) or a socket error: nothing to deliver. */
    for (int i = first; i < first + n; i++) {
      int32_t* meta = state->in_meta + i * IN_META_STRIDE;
      meta[0] = (int32_t)state->in_msgs[i].msg_len;
      write_source(meta, &state->in_addr[i]);
      meta[7] = s->fd;
    }
    state->pending = first + n;
    if (n < free_slots) return;
  }
}

/* After the poll phase: one onBatch for everything read in it, then send what it queued. */
static void on_check(uv_check_t* handle) {
  state_t* state = (state_t*)handle->data;
  deliver(state);
  flush_out(state);
}

/* Before the loop blocks: send what timers and other callbacks queued. */
static void on_prepare(uv_prepare_t* handle) {
  flush_out((state_t*)handle->data);
}

static void close_sock(sock_t* s);

static void cleanup(void* arg) {
  state_t* state = (state_t*)arg;
  if (state == NULL) return;
  for (int fd = 0; fd < state->capacity; fd++)
    if (state->by_fd[fd] != NULL) close_sock(state->by_fd[fd]);
  uv_close((uv_handle_t*)&state->check, NULL);
  uv_close((uv_handle_t*)&state->prepare, NULL);
}

/* init(onBatch) → { inData, inMeta, outData, outMeta, control, inSlots, slotBytes, inMetaStride, outSlots, outBytes, outMetaStride } */
static napi_value Init(napi_env env, napi_callback_info info) {
  if (get_state(env) != NULL) {
    napi_throw_error(env, "EALREADY", "udp-batch: init() was already called in this environment");
    return NULL;
  }
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  CALL(env, napi_typeof(env, argv[0], &type));
  if (argc < 1 || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "udp-batch: init(onBatch) needs a function");
    return NULL;
  }
  state_t* state = calloc(1, sizeof(state_t));
  if (state == NULL) {
    napi_throw_error(env, "ENOMEM", "udp-batch: out of memory");
    return NULL;
  }
  state->env = env;
  CALL(env, napi_get_uv_event_loop(env, &state->loop));
  CALL(env, napi_create_reference(env, argv[0], 1, &state->on_batch));
  napi_value resource, name;
  CALL(env, napi_create_object(env, &resource));
  CALL(env, napi_create_reference(env, resource, 1, &state->resource));
  CALL(env, napi_create_string_utf8(env, "UDPBATCH", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_async_init(env, resource, name, &state->async_context));

  napi_value in_data, in_meta, out_data, out_meta;
  void* p;
  CALL(env, napi_create_arraybuffer(env, (size_t)IN_SLOTS * SLOT_BYTES, &p, &in_data));
  state->in_data = p;
  CALL(env, napi_create_arraybuffer(env, (size_t)IN_SLOTS * IN_META_STRIDE * 4, &p, &in_meta));
  state->in_meta = p;
  CALL(env, napi_create_arraybuffer(env, OUT_BYTES, &p, &out_data));
  state->out_data = p;
  CALL(env, napi_create_arraybuffer(env, (size_t)OUT_SLOTS * OUT_META_STRIDE * 4, &p, &out_meta));
  state->out_meta = p;
  CALL(env, napi_create_reference(env, in_data, 1, &state->in_data_ref));
  CALL(env, napi_create_reference(env, in_meta, 1, &state->in_meta_ref));
  CALL(env, napi_create_reference(env, out_data, 1, &state->out_data_ref));
  CALL(env, napi_create_reference(env, out_meta, 1, &state->out_meta_ref));
  napi_value control;
  CALL(env, napi_create_arraybuffer(env, CONTROL_INTS * 4, &p, &control));
  state->control = p;
  state->control[0] = state->control[1] = state->control[2] = 0;
  CALL(env, napi_create_reference(env, control, 1, &state->control_ref));
  /* Neither handle keeps the process alive: only open sockets do. */
  uv_check_init(state->loop, &state->check);
  state->check.data = state;
  uv_check_start(&state->check, on_check);
  uv_unref((uv_handle_t*)&state->check);
  uv_prepare_init(state->loop, &state->prepare);
  state->prepare.data = state;
  uv_prepare_start(&state->prepare, on_prepare);
  uv_unref((uv_handle_t*)&state->prepare);
  for (int i = 0; i < IN_SLOTS; i++) {
    state->in_iov[i].iov_base = state->in_data + (size_t)i * SLOT_BYTES;
    state->in_iov[i].iov_len = SLOT_BYTES;
    state->in_msgs[i].msg_hdr.msg_iov = &state->in_iov[i];
    state->in_msgs[i].msg_hdr.msg_iovlen = 1;
    state->in_msgs[i].msg_hdr.msg_name = &state->in_addr[i];
  }
  for (int i = 0; i < OUT_SLOTS; i++) {
    state->out_msgs[i].msg_hdr.msg_iov = &state->out_iov[i];
    state->out_msgs[i].msg_hdr.msg_iovlen = 1;
    state->out_msgs[i].msg_hdr.msg_name = &state->out_addr[i];
  }
  CALL(env, napi_set_instance_data(env, state, NULL, NULL));
  CALL(env, napi_add_env_cleanup_hook(env, cleanup, state));

  napi_value result, value;
  CALL(env, napi_create_object(env, &result));
  CALL(env, napi_set_named_property(env, result, "inData", in_data));
  CALL(env, napi_set_named_property(env, result, "inMeta", in_meta));
  CALL(env, napi_set_named_property(env, result, "outData", out_data));
  CALL(env, napi_set_named_property(env, result, "outMeta", out_meta));
  CALL(env, napi_set_named_property(env, result, "control", control));
  const struct { const char* name; int value; } constants[] = {
      {"inSlots", IN_SLOTS},   {"slotBytes", SLOT_BYTES}, {"inMetaStride", IN_META_STRIDE},
      {"outSlots", OUT_SLOTS}, {"outBytes", OUT_BYTES},   {"outMetaStride", OUT_META_STRIDE},
  };
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    CALL(env, napi_create_int32(env, constants[i].value, &value));
    CALL(env, napi_set_named_property(env, result, constants[i].name, value));
  }
  return result;
}

static int get_int_arg(napi_env env, napi_value value, int32_t* out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

/*
 * open(family 4|6, address, port, bufferBytes, reusePort, v6only) → [fd, boundPort]. Throws Node-style
 * errors (code EADDRINUSE, EACCES, EADDRNOTAVAIL…, syscall socket/bind).
 */
static napi_value Open(napi_env env, napi_callback_info info) {
  state_t* state = get_state(env);
  if (state == NULL) {
    napi_throw_error(env, "EINVAL", "udp-batch: init() first");
    return NULL;
  }
  size_t argc = 6;
  napi_value argv[6];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t family, port, buffer_bytes;
  bool reuse_port = false, v6only = false;
  char address[64];
  size_t address_length = 0;
  if (argc < 6 || !get_int_arg(env, argv[0], &family) || !get_int_arg(env, argv[2], &port) ||
      !get_int_arg(env, argv[3], &buffer_bytes) ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &address_length) != napi_ok ||
      napi_get_value_bool(env, argv[4], &reuse_port) != napi_ok || napi_get_value_bool(env, argv[5], &v6only) != napi_ok ||
      (family != 4 && family != 6) || port < 0 || port > 65535) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "udp-batch: open(family, address, port, bufferBytes, reusePort, v6only)");
    return NULL;
  }
  struct sockaddr_storage addr;
  memset(&addr, 0, sizeof addr);
  socklen_t addr_length;
  if (family == 4) {
    struct sockaddr_in* in = (struct sockaddr_in*)&addr;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, address, &in->sin_addr) != 1) {
      throw_errno(env, "bind", EINVAL);
      return NULL;
    }
    addr_length = sizeof *in;
  } else {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&addr;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) != 1) {
      throw_errno(env, "bind", EINVAL);
      return NULL;
    }
    addr_length = sizeof *in6;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  int one = 1, zero = 0;
  if (family == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof one);
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int error = errno;
    close(fd);
    throw_errno(env, "setsockopt", error);
    return NULL;
  }
  if (buffer_bytes > 0) {
    /* Capped by net.core.rmem_max / wmem_max, as Node's recvBufferSize / sendBufferSize are. */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  if (bind(fd, (struct sockaddr*)&addr, addr_length) != 0) {
    int error = errno;
    close(fd);
    throw_errno(env, "bind", error);
    return NULL;
  }
  struct sockaddr_storage bound;
  socklen_t bound_length = sizeof bound;
  getsockname(fd, (struct sockaddr*)&bound, &bound_length);
  int bound_port = bound.ss_family == AF_INET ? ntohs(((struct sockaddr_in*)&bound)->sin_port)
                                              : ntohs(((struct sockaddr_in6*)&bound)->sin6_port);
  sock_t* s = calloc(1, sizeof(sock_t));
  if (s == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "udp-batch: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->state = state;
  if (!register_sock(state, s)) {
    close(fd);
    free(s);
    napi_throw_error(env, "ENOMEM", "udp-batch: out of memory");
    return NULL;
  }

  napi_value result, fd_value, port_value;
  CALL(env, napi_create_array_with_length(env, 2, &result));
  CALL(env, napi_create_int32(env, fd, &fd_value));
  CALL(env, napi_create_int32(env, bound_port, &port_value));
  CALL(env, napi_set_element(env, result, 0, fd_value));
  CALL(env, napi_set_element(env, result, 1, port_value));
  return result;
}

static sock_t* sock_arg(napi_env env, napi_callback_info info) {
  state_t* state = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (state == NULL || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !get_int_arg(env, argv[0], &fd))
    return NULL;
  return find_sock(state, fd);
}

/* start(fd): deliver its datagrams to onBatch. */
static napi_value Start(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (s == NULL) {
    throw_errno(env, "start", EBADF);
    return NULL;
  }
  if (!s->polling) {
    int error = uv_poll_init(s->state->loop, &s->poll, s->fd);
    if (error != 0) {
      throw_errno(env, "uv_poll_init", -error);
      return NULL;
    }
    s->poll.data = s;
    s->polling = 1;
    error = uv_poll_start(&s->poll, UV_READABLE, on_readable);
    if (error != 0) {
      throw_errno(env, "uv_poll_start", -error);
      return NULL;
    }
  }
  return NULL;
}

static void on_poll_closed(uv_handle_t* handle) {
  sock_t* s = (sock_t*)handle->data;
  close(s->fd);
  free(s);
}

static void close_sock(sock_t* s) {
  s->closing = 1;
  unlink_sock(s);
  if (s->polling) {
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t*)&s->poll, on_poll_closed);
  } else {
    close(s->fd);
    free(s);
  }
}

/* close(fd): stops delivery at once and closes the socket (its descriptor is freed on the next loop turn). */
static napi_value Close(napi_env env, napi_callback_info info) {
  sock_t* s = sock_arg(env, info);
  if (s == NULL) return NULL;
  state_t* state = s->state;
  /* What was queued before close() still goes out (as a dgram send would have); nothing read from it is
     delivered any more: its descriptor number may be reused. */
  flush_out(state);
  for (int i = 0; i < state->pending; i++)
    if (state->in_meta[i * IN_META_STRIDE + 7] == s->fd) state->in_meta[i * IN_META_STRIDE + 7] = -1;
  close_sock(s);
  return NULL;
}

/* flush(): sends the queue now (JS calls it when the queue is full). Returns how many could not be sent. */
static napi_value Flush(napi_env env, napi_callback_info info) {
  (void)info;
  state_t* state = get_state(env);
  if (state == NULL) {
    napi_throw_error(env, "EINVAL", "udp-batch: init() first");
    return NULL;
  }
  napi_value result;
  CALL(env, napi_create_int32(env, flush_out(state), &result));
  return result;
}

/* addressText(slot): the source of in-slot `slot` as Node renders rinfo.address (IPv6 only needs this). */
static napi_value AddressText(napi_env env, napi_callback_info info) {
  state_t* state = get_state(env);
  size_t argc = 1;
  napi_value argv[1];
  int32_t slot;
  if (state == NULL || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !get_int_arg(env, argv[0], &slot) || slot < 0 || slot >= IN_SLOTS) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "udp-batch: addressText(slot)");
    return NULL;
  }
  char text[INET6_ADDRSTRLEN];
  const struct sockaddr_storage* addr = &state->in_addr[slot];
  if (addr->ss_family == AF_INET) uv_ip4_name((const struct sockaddr_in*)addr, text, sizeof text);
  else uv_ip6_name((const struct sockaddr_in6*)addr, text, sizeof text);
  napi_value result;
  CALL(env, napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
      {"init", NULL, Init, NULL, NULL, NULL, napi_default, NULL},
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, Flush, NULL, NULL, NULL, napi_default, NULL},
      {"addressText", NULL, AddressText, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods) != napi_ok) return NULL;
  return exports;
}
