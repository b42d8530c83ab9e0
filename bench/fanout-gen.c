// The fan-out bench's load generator in C (BENCH_GEN=c; bench/fanout.ts builds it with the system's cc):
// what bench/fanout-gen.ts does, at a fraction of its cost per read, so that on a 2-core machine the
// subscribers' side needs a small share of one core and can be kept off the server's (BENCH_PIN=1).
// Raw TCP sockets in one epoll loop: each sends the request it is given (an HTTP GET, or a WebSocket
// handshake and then its hello frames), checks the status line, then scans every byte it receives for
// the payload marker `#T<µs since epoch>;`, whatever the framing. Driven by lines on stdin, answers one
// JSON line on stdout per command (the same fields as fanout-gen.ts's IPC messages):
//   open <port> <count> <request hex> <hello hex or ->   → {"type":"opened","failed":n}
//   reset <0|1>                                          → {"type":"reset"}  (1: record latencies)
//   report                                               → {"type":"report", ...}
//   close                                                → {"type":"closed"}
// End of stdin ends the process.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  int streaming;   /* 0: reading the response headers */
  char head[2048];
  int headLen;
  int state;       /* marker scan: 0 none, 1 after '#', 2 in the digits after "#T" */
  long long micros;
  long count;
  int seen;
  int dropped;
  int closed;
} Conn;

static Conn *conns;
static int nconns, capConns;
static int ep;
static long lost;
static double lastAt;
static int recording;
static double *lat;
static long long *mk;
static long nlat, capLat;
static struct rusage ruAtReset;
static double wallAtReset;

/* The open under way: sockets still to open, those waiting for their headers, failures. */
static int openPort, toOpen, pending, failed;
static unsigned char *request, *hello;
static size_t requestLen, helloLen;

static double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpuMsOf(const struct rusage *r) {
  return r->ru_utime.tv_sec * 1e3 + r->ru_utime.tv_usec / 1e3 + r->ru_stime.tv_sec * 1e3 + r->ru_stime.tv_usec / 1e3;
}

static void writeAll(int fd, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static unsigned char *fromHex(const char *hex, size_t *len) {
  size_t n = strlen(hex) / 2;
  unsigned char *out = malloc(n + 1);
  for (size_t i = 0; i < n; i++) sscanf(hex + 2 * i, "%2hhx", &out[i]);
  *len = n;
  return out;
}

static void marker(Conn *c, long long micros) {
  c->seen = 1;
  if (micros == 0) return; /* a warm-up message */
  c->count++;
  double t = nowMs();
  lastAt = t;
  if (!recording) return;
  if (nlat == capLat) {
    capLat = capLat ? capLat * 2 : 65536;
    lat = realloc(lat, capLat * sizeof *lat);
    mk = realloc(mk, capLat * sizeof *mk);
  }
  lat[nlat] = t - micros / 1000.0;
  mk[nlat++] = micros;
}

/* Markers in `n` bytes, the scan's state carried from one read to the next. */
static void scan(Conn *c, const unsigned char *p, size_t n) {
  const unsigned char *end = p + n;
  while (p < end) {
    if (c->state == 0) {
      p = memchr(p, '#', (size_t)(end - p));
      if (!p) return;
      c->state = 1;
      p++;
    } else if (c->state == 1) {
      unsigned char b = *p++;
      if (b == 'T') {
        c->state = 2;
        c->micros = 0;
      } else if (b != '#') c->state = 0;
    } else {
      unsigned char b = *p++;
      if (b >= '0' && b <= '9') c->micros = c->micros * 10 + (b - '0');
      else if (b == ';') {
        marker(c, c->micros);
        c->state = 0;
      } else c->state = b == '#' ? 1 : 0;
    }
  }
}

static void closeConn(Conn *c) {
  if (c->closed) return;
  c->closed = 1;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

static void openOne(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)openPort) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    if (fd >= 0) close(fd);
    failed++;
    return;
  }
  writeAll(fd, request, requestLen);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (nconns == capConns) {
    capConns = capConns ? capConns * 2 : 1024;
    conns = realloc(conns, capConns * sizeof *conns);
  }
  Conn *c = &conns[nconns];
  memset(c, 0, sizeof *c);
  c->fd = fd;
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)nconns };
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  nconns++;
  pending++;
}

/* Opens the next batch once the last one has its headers: the server's listen backlog is not what is measured. */
static void openMore(void) {
  while (pending == 0 && toOpen > 0)
    for (int i = 0; i < 100 && toOpen > 0; i++, toOpen--) openOne();
  if (pending == 0 && toOpen == 0 && request) {
    printf("{\"type\":\"opened\",\"failed\":%d}\n", failed);
    fflush(stdout);
    free(request);
    free(hello);
    request = hello = NULL;
  }
}

static void headers(Conn *c, const unsigned char *p, size_t n) {
  size_t room = sizeof c->head - 1 - (size_t)c->headLen;
  size_t take = n < room ? n : room;
  memcpy(c->head + c->headLen, p, take);
  c->headLen += (int)take;
  c->head[c->headLen] = 0;
  char *end = strstr(c->head, "\r\n\r\n");
  if (!end) {
    if (take < n) { failed++; pending--; c->dropped = 1; closeConn(c); openMore(); }
    return;
  }
  pending--;
  if (c->headLen < 12 || (strncmp(c->head + 9, "200", 3) != 0 && strncmp(c->head + 9, "101", 3) != 0)) {
    failed++;
    c->dropped = 1;
    closeConn(c);
  } else {
    c->streaming = 1;
    if (hello) writeAll(c->fd, hello, helloLen);
    size_t used = (size_t)(end + 4 - c->head) - ((size_t)c->headLen - take);
    if (used < n) scan(c, p + used, n - used);
  }
  openMore();
}

static void report(void) {
  long deliveries = 0, min = -1, max = 0, warmed = 0, sockets = 0;
  for (int i = 0; i < nconns; i++) {
    Conn *c = &conns[i];
    if (c->dropped && !c->streaming) continue;
    sockets++;
    deliveries += c->count;
    if (min < 0 || c->count < min) min = c->count;
    if (c->count > max) max = c->count;
    if (c->seen) warmed++;
  }
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  printf("{\"type\":\"report\",\"sockets\":%ld,\"lost\":%ld,\"warmed\":%ld,\"deliveries\":%ld,\"minPerSocket\":%ld,\"maxPerSocket\":%ld,"
         "\"lastAt\":%.3f,\"cpuMs\":%.3f,\"wallMs\":%.3f,\"latenciesMs\":[",
         sockets, lost, warmed, deliveries, min < 0 ? 0 : min, max, lastAt, cpuMsOf(&r) - cpuMsOf(&ruAtReset), nowMs() - wallAtReset);
  for (long i = 0; i < nlat; i++) printf(i ? ",%.3f" : "%.3f", lat[i]);
  printf("],\"markersUs\":[");
  for (long i = 0; i < nlat; i++) printf(i ? ",%lld" : "%lld", mk[i]);
  printf("]}\n");
  fflush(stdout);
}

static void command(char *line) {
  char req[65536], hel[65536];
  int latencies;
  if (sscanf(line, "open %d %d %65535s %65535s", &openPort, &toOpen, req, hel) == 4) {
    failed = 0;
    request = fromHex(req, &requestLen);
    hello = strcmp(hel, "-") == 0 ? NULL : fromHex(hel, &helloLen);
    openMore();
  } else if (sscanf(line, "reset %d", &latencies) == 1) {
    for (int i = 0; i < nconns; i++) conns[i].count = 0;
    lastAt = 0;
    recording = latencies;
    nlat = 0;
    getrusage(RUSAGE_SELF, &ruAtReset);
    wallAtReset = nowMs();
    printf("{\"type\":\"reset\"}\n");
    fflush(stdout);
  } else if (strncmp(line, "report", 6) == 0) {
    report();
  } else if (strncmp(line, "close", 5) == 0) {
    for (int i = 0; i < nconns; i++) {
      conns[i].dropped = 1;
      closeConn(&conns[i]);
    }
    nconns = 0;
    lost = 0;
    printf("{\"type\":\"closed\"}\n");
    fflush(stdout);
  }
}

int main(void) {
  static unsigned char buf[256 * 1024];
  static char in[256 * 1024];
  size_t inLen = 0;
  ep = epoll_create1(0);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 0xffffffffu };
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  getrusage(RUSAGE_SELF, &ruAtReset);
  wallAtReset = nowMs();
  struct epoll_event events[1024];
  for (;;) {
    int n = epoll_wait(ep, events, 1024, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; i++) {
      unsigned id = events[i].data.u32;
      if (id == 0xffffffffu) {
        ssize_t r = read(0, in + inLen, sizeof in - 1 - inLen);
        if (r == 0) return 0;
        if (r < 0) continue;
        inLen += (size_t)r;
        char *nl;
        while ((nl = memchr(in, '\n', inLen)) != NULL) {
          *nl = 0;
          command(in);
          size_t used = (size_t)(nl + 1 - in);
          memmove(in, nl + 1, inLen - used);
          inLen -= used;
        }
        continue;
      }
      if ((int)id >= nconns) continue;
      Conn *c = &conns[id];
      if (c->closed) continue;
      ssize_t r = read(c->fd, buf, sizeof buf);
      if (r > 0) {
        if (c->streaming) scan(c, buf, (size_t)r);
        else headers(c, buf, (size_t)r);
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (!c->streaming) { failed++; pending--; c->dropped = 1; closeConn(c); openMore(); continue; }
        if (!c->dropped) lost++;
        closeConn(c);
      }
    }
  }
}
