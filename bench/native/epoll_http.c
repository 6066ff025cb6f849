/*
 * Workload 4's C peer: a minimal HTTP/1.1 responder on one thread and a plain
 * level-triggered epoll loop, the floor the other servers are measured against.
 *
 * Every request head (anything up to a blank line, CRLFCRLF) is answered with
 * the bytes the project's HttpServer sends for a keep-alive GET / (see
 * bench_http_response), rebuilt when the second changes (checked once per loop
 * turn, after epoll_wait). Keep-alive always, pipelining: the heads found after
 * one read are all answered and their responses go out in one write.
 *
 * Per connection (a struct per fd number, allocated the first time that number
 * is accepted and reused after): an 8 KiB input buffer, where a partial head
 * waits for the rest, and a 64 KiB output buffer (bench_http_connection, shared
 * with core_http.cpp, as is the head scan). If a write cannot complete
 * (EAGAIN) the rest stays in the output buffer, the connection stops reading
 * (EPOLLOUT instead of EPOLLIN) until it is flushed, then answers the heads
 * still buffered and reads again: memory per connection stays bounded. A head
 * over 8 KiB, EOF or an error closes the connection.
 *
 * A readable connection is read once; only when a read fills the buffer is it
 * read again (up to 16 times): a short read means the socket was drained, so
 * no read is spent just to see EAGAIN.
 *
 * usage: epoll_http PORT   (0 picks a free port)
 * prints "listening on 127.0.0.1:<port>" once accepting; SIGTERM or SIGINT
 * stops it (exit 0); a bind failure exits 1.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256 /* as EventWatcher's default batch */
#define MAX_READS 16   /* reads per readiness while each one fills the buffer */

struct connection {
  struct bench_http_connection http; /* the buffers */
  int writing;                       /* 1: watched for EPOLLOUT (reading stopped), 0: for EPOLLIN */
  int open;                          /* the fd is this connection's */
};

static int epfd;
static struct connection** connections; /* indexed by fd; NULL until that number is first used */
static size_t connections_length;

static char response[256];
static size_t response_length;
static time_t response_second = -1;

/* Rebuilds the cached response when the wall-clock second has changed. */
static void refresh_response(void) {
  const time_t now = time(NULL); /* vDSO: no syscall */
  if (now == response_second) return;
  response_length = bench_http_response(response, sizeof response, now);
  if (response_length == 0) bench_die("building the response");
  response_second = now;
}

/* The connection slot for `fd`, allocated (and the table grown) on first use. */
static struct connection* connection_for(int fd) {
  if ((size_t)fd >= connections_length) {
    size_t length = connections_length ? connections_length : 1024;
    while (length <= (size_t)fd) length *= 2;
    struct connection** grown = realloc(connections, length * sizeof *grown);
    if (grown == NULL) return NULL;
    memset(grown + connections_length, 0, (length - connections_length) * sizeof *grown);
    connections = grown;
    connections_length = length;
  }
  if (connections[fd] == NULL) {
    /* malloc, not calloc: the buffers' pages are touched only as far as they are used. */
    connections[fd] = malloc(sizeof(struct connection));
    if (connections[fd] != NULL) connections[fd]->open = 0;
  }
  return connections[fd];
}

/* Closes `fd`, which also takes it out of epoll (no other descriptor refers to it).
   Events of this batch already fetched for the number are skipped, or, if the number
   was accepted again meanwhile, lead to a read or write that fails with EAGAIN. */
static void close_connection(int fd, struct connection* c) {
  c->open = 0;
  close(fd);
}

/* Sets the connection's interest: EPOLLOUT while output waits, else EPOLLIN. */
static int set_writing(int fd, struct connection* c, int writing) {
  if (c->writing == writing) return 0;
  struct epoll_event event = {.events = writing ? EPOLLOUT : EPOLLIN, .data.fd = fd};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) != 0) return -1;
  c->writing = writing;
  return 0;
}

/* Answers and writes everything the input buffer holds. Returns 1 if the connection
   may read on, 0 if it waits for EPOLLOUT or was closed. */
static int serve(int fd, struct connection* c) {
  for (;;) {
    const int full = bench_http_answer(&c->http, response, response_length);
    const int flushed = bench_http_flush(fd, &c->http);
    if (flushed < 0) break;
    if (flushed > 0) {
      if (set_writing(fd, c, 1) != 0) break;
      return 0;
    }
    if (!full) {
      if (c->http.in_length == BENCH_HTTP_IN_CAPACITY) break; /* a head over 8 KiB */
      return 1;
    }
  }
  close_connection(fd, c);
  return 0;
}

static void on_readable(int fd, struct connection* c) {
  for (int reads = 0; reads < MAX_READS; reads++) {
    const size_t room = BENCH_HTTP_IN_CAPACITY - c->http.in_length;
    const ssize_t n = read(fd, c->http.in + c->http.in_length, room);
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { /* EOF or an error (reset) */
      close_connection(fd, c);
      return;
    }
    c->http.in_length += (uint32_t)n;
    if (!serve(fd, c)) return;
    if ((size_t)n < room) return; /* drained */
  }
}

static void on_writable(int fd, struct connection* c) {
  const int flushed = bench_http_flush(fd, &c->http);
  if (flushed > 0) return;
  if (flushed < 0) {
    close_connection(fd, c);
    return;
  }
  if (serve(fd, c) && set_writing(fd, c, 0) != 0) close_connection(fd, c);
}

static void accept_all(int listener) {
  static int warned;
  for (;;) {
    const int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      /* EMFILE, ENOBUFS...: the listener stays readable, so this is retried next turn. */
      if (!warned) perror("accept");
      warned = 1;
      return;
    }
    const int one = 1;
    struct connection* c = connection_for(fd);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
    if (c == NULL || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) != 0) {
      if (!warned) perror("accepting a connection");
      warned = 1;
      close(fd);
      continue;
    }
    bench_http_reset(&c->http);
    c->writing = 0;
    c->open = 1;
  }
}

int main(int argc, char** argv) {
  char* rest;
  const long port = argc == 2 ? strtol(argv[1], &rest, 10) : -1;
  if (argc != 2 || *argv[1] == '\0' || *rest != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "usage: %s PORT   (0 picks a free port)\n", argv[0]);
    return 2;
  }
  bench_raise_nofile(16384);
  signal(SIGPIPE, SIG_IGN); /* a write to a reset connection fails with EPIPE instead */

  /* SIGTERM and SIGINT arrive through a signalfd watched by the loop. Their default
     disposition is restored first: one ignored (SIGINT in a background job of a
     non-interactive shell) would be discarded instead of reaching the signalfd. */
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) != 0) bench_die("sigprocmask");
  const int sfd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) bench_die("signalfd");

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) bench_die("socket");
  const int one = 1;
  if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    bench_die("SO_REUSEADDR");
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0) {
    fprintf(stderr, "epoll_http: cannot bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
    return 1;
  }
  if (listen(listener, SOMAXCONN) != 0) bench_die("listen");
  socklen_t length = sizeof address;
  if (getsockname(listener, (struct sockaddr*)&address, &length) != 0) bench_die("getsockname");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) bench_die("epoll_create1");
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &event) != 0) bench_die("epoll_ctl listener");
  event.data.fd = sfd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &event) != 0) bench_die("epoll_ctl signalfd");

  printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
  fflush(stdout);

  struct epoll_event events[MAX_EVENTS];
  for (int running = 1; running;) {
    const int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      bench_die("epoll_wait");
    }
    refresh_response();
    for (int i = 0; i < n; i++) {
      const int fd = events[i].data.fd;
      const uint32_t ready = events[i].events;
      if (fd == listener) {
        accept_all(listener);
      } else if (fd == sfd) {
        running = 0;
      } else {
        /* Hang-up and error are left to the read or write to observe. */
        struct connection* c = connections[fd];
        if (!c->open) continue;
        if (c->writing) {
          on_writable(fd, c);
        } else if (ready & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          on_readable(fd, c);
        }
      }
    }
  }

  /* Graceful stop: no more accepts, every connection closed. */
  close(listener);
  for (size_t fd = 0; fd < connections_length; fd++) {
    if (connections[fd] == NULL) continue;
    if (connections[fd]->open) close((int)fd);
    free(connections[fd]);
  }
  free(connections);
  close(epfd);
  close(sfd);
  return 0;
}
