// Workload 4 on the project's C++ core: epoll_http.c's responder with the
// loop, the registrations and the dispatch left to eventwatcher::EventWatcher.
//
// The same per-connection structures (bench_http_connection: an 8 KiB input
// buffer, a 64 KiB output buffer) and the same head scan, so that the
// difference from epoll_http.c is the library alone. The watcher runs on the
// main thread (Options::start_thread = false), turned by an
// EventWatcher::Driver: run() with a hook between turns, which marks the
// cached response's date as due for a check. Registrations are
// level-triggered, as the core offers only that. Each connection slot (one
// per fd number, allocated the first time that number is accepted and reused
// after) owns its Read and Write callbacks, so accepting allocates nothing
// once the slot exists.
//
// Every request head (anything up to CRLFCRLF) is answered with the bytes the
// project's HttpServer sends for a keep-alive GET / (bench_http_response),
// rebuilt when the second changes (checked by the first readable callback of
// each loop turn, as epoll_http.c checks once per turn after epoll_wait); the
// heads found after one read are answered in one write. A
// readable connection is read once, again only while reads fill the buffer (a
// short read means the socket was drained). If a write cannot complete, the
// rest stays in the output buffer and the connection swaps Read for Write
// until it is flushed: reading stops meanwhile, so memory stays bounded. A
// head over 8 KiB, EOF or an error closes the connection (unwatched first, as
// the library requires).
//
// usage: core_http PORT   (0 picks a free port)
// prints "listening on 127.0.0.1:<port>" once accepting; SIGTERM or SIGINT
// stops it (a signalfd watched by the loop; exit 0); a bind failure exits 1.
#include "bench_util.h"

#include <eventwatcher/event_watcher.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <vector>

namespace {

using eventwatcher::EventWatcher;
using eventwatcher::IWatchCallback;
using eventwatcher::IWatchCallbackPtr;
using eventwatcher::WatchFlag;

constexpr int kMaxReads = 16;  // reads per callback while each one fills the buffer

class Server;

// A registration's callback: forwards the fd to a member function of Server.
template <void (Server::*Handler)(int fd)>
class Forward final : public IWatchCallback {
 public:
  explicit Forward(Server& server) : server_(server) {}
  void run(int fd) override { (server_.*Handler)(fd); }

 private:
  Server& server_;
};

// One accepted connection: the shared buffers plus its registrations' state.
struct Connection {
  bench_http_connection http;
  bool writing = false;  // Write is watched (reading stopped), else Read
  bool open = false;
  IWatchCallbackPtr on_read;  // created with the slot, reused for every connection in it
  IWatchCallbackPtr on_write;
};

// The responder. Loop thread only, apart from construction and close_all().
class Server {
 public:
  Server(EventWatcher& watcher, int listener, int signal_fd)
      : watcher_(watcher), listener_(listener), signal_fd_(signal_fd) {}

  // Watches the listener and the signalfd; accepting starts with the loop.
  void start() {
    watcher_.watch(listener_, WatchFlag::Read,
                   std::make_shared<Forward<&Server::on_accept>>(*this));
    watcher_.watch(signal_fd_, WatchFlag::Read,
                   std::make_shared<Forward<&Server::on_signal>>(*this));
  }

  // Once the loop has returned: unwatches and closes the listener and every
  // connection (with no loop running, the watcher applies that at once).
  void close_all() {
    watcher_.unwatch(listener_, WatchFlag::Read);
    watcher_.unwatch(signal_fd_, WatchFlag::Read);
    ::close(listener_);
    for (std::size_t fd = 0; fd < connections_.size(); fd++) {
      if (connections_[fd] && connections_[fd]->open)
        close_connection(static_cast<int>(fd), *connections_[fd]);
    }
  }

  void on_accept(int) {
    for (;;) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN) return;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        warn_once("accept");  // EMFILE, ENOBUFS...: the listener stays readable, retried next turn
        return;
      }
      const int one = 1;
      if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        warn_once("TCP_NODELAY");
        ::close(fd);
        continue;
      }
      Connection& c = connection_for(fd);
      bench_http_reset(&c.http);
      c.writing = false;
      try {
        watcher_.watch(fd, WatchFlag::Read, c.on_read);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "core_http: watching fd %d: %s\n", fd, e.what());
        ::close(fd);
        continue;
      }
      c.open = true;
    }
  }

  // Between loop turns: the next readable callback checks the clock.
  void next_turn() { date_checked_ = false; }

  void on_readable(int fd) {
    if (!date_checked_) refresh_response();
    Connection& c = *connections_[fd];
    for (int reads = 0; reads < kMaxReads; reads++) {
      const std::size_t room = BENCH_HTTP_IN_CAPACITY - c.http.in_length;
      const ssize_t n = ::read(fd, c.http.in + c.http.in_length, room);
      if (n < 0 && errno == EAGAIN) return;  // spurious: not readable after all
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // EOF or an error (reset)
        close_connection(fd, c);
        return;
      }
      c.http.in_length += static_cast<std::uint32_t>(n);
      if (!serve(fd, c)) return;
      if (static_cast<std::size_t>(n) < room) return;  // drained
    }
  }

  void on_writable(int fd) {
    Connection& c = *connections_[fd];
    const int flushed = bench_http_flush(fd, &c.http);
    if (flushed > 0) return;
    if (flushed < 0) {
      close_connection(fd, c);
      return;
    }
    if (serve(fd, c)) set_writing(fd, c, false);
  }

  void on_signal(int) {
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == sizeof info) {
    }
    watcher_.stop();
  }

 private:
  // Answers and writes everything the input buffer holds. Returns true if the
  // connection may read on, false if it waits for Write or was closed.
  bool serve(int fd, Connection& c) {
    for (;;) {
      const int full = bench_http_answer(&c.http, response_, response_length_);
      const int flushed = bench_http_flush(fd, &c.http);
      if (flushed < 0) break;
      if (flushed > 0) {
        set_writing(fd, c, true);
        return false;
      }
      if (!full) {
        if (c.http.in_length == BENCH_HTTP_IN_CAPACITY) break;  // a head over 8 KiB
        return true;
      }
    }
    close_connection(fd, c);
    return false;
  }

  // Swaps the Read registration for Write or back. Returns false (the
  // connection closed) if the watcher refuses.
  bool set_writing(int fd, Connection& c, bool writing) {
    if (c.writing == writing) return true;
    try {
      if (writing) {
        watcher_.unwatch(fd, WatchFlag::Read);
        watcher_.watch(fd, WatchFlag::Write, c.on_write);
      } else {
        watcher_.unwatch(fd, WatchFlag::Write);
        watcher_.watch(fd, WatchFlag::Read, c.on_read);
      }
      c.writing = writing;
      return true;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "core_http: switching fd %d: %s\n", fd, e.what());
      close_connection(fd, c);
      return false;
    }
  }

  // Unwatches (the one registration it has: Read or Write) and closes, in that
  // order, as the library asks: the number may be accepted again at once.
  void close_connection(int fd, Connection& c) {
    try {
      watcher_.unwatch(fd, c.writing ? WatchFlag::Write : WatchFlag::Read);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "core_http: unwatching fd %d: %s\n", fd, e.what());
    }
    c.open = false;
    ::close(fd);
  }

  // The slot for `fd`, created (with its callbacks) on first use.
  Connection& connection_for(int fd) {
    if (static_cast<std::size_t>(fd) >= connections_.size())
      connections_.resize(static_cast<std::size_t>(fd) * 2 + 1);
    auto& slot = connections_[static_cast<std::size_t>(fd)];
    if (!slot) {
      // Default-initialized: the buffers stay untouched (not zeroed) until used.
      slot = std::make_unique_for_overwrite<Connection>();
      slot->on_read = std::make_shared<Forward<&Server::on_readable>>(*this);
      slot->on_write = std::make_shared<Forward<&Server::on_writable>>(*this);
    }
    return *slot;
  }

  // Rebuilds the cached response when the wall-clock second has changed.
  void refresh_response() {
    date_checked_ = true;
    const std::time_t now = std::time(nullptr);  // vDSO: no syscall
    if (now == response_second_) return;
    response_length_ = bench_http_response(response_, sizeof response_, now);
    if (response_length_ == 0) bench_die("building the response");
    response_second_ = now;
  }

  void warn_once(const char* what) {
    if (!warned_) std::perror(what);
    warned_ = true;
  }

  EventWatcher& watcher_;
  const int listener_;
  const int signal_fd_;
  std::vector<std::unique_ptr<Connection>> connections_;  // indexed by fd
  char response_[256];
  std::size_t response_length_ = 0;
  std::time_t response_second_ = -1;
  bool date_checked_ = false;  // in this loop turn
  bool warned_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  char* rest = nullptr;
  const long port = argc == 2 ? std::strtol(argv[1], &rest, 10) : -1;
  if (argc != 2 || *argv[1] == '\0' || *rest != '\0' || port < 0 || port > 65535) {
    std::fprintf(stderr, "usage: %s PORT   (0 picks a free port)\n", argv[0]);
    return 2;
  }
  bench_raise_nofile(16384);
  ::signal(SIGPIPE, SIG_IGN);  // a write to a reset connection fails with EPIPE instead

  // SIGTERM and SIGINT arrive through a signalfd watched by the loop. Their
  // default disposition is restored first: one ignored (SIGINT in a background
  // job of a non-interactive shell) would be discarded instead of reaching it.
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) bench_die("sigprocmask");
  const int signal_fd = ::signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) bench_die("signalfd");

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) bench_die("socket");
  const int one = 1;
  if (::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    bench_die("SO_REUSEADDR");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "core_http: cannot bind 127.0.0.1:%ld: %s\n", port, std::strerror(errno));
    return 1;
  }
  if (::listen(listener, SOMAXCONN) != 0) bench_die("listen");
  socklen_t length = sizeof address;
  if (::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    bench_die("getsockname");

  try {
    eventwatcher::Options options;
    options.start_thread = false;  // the loop runs here, on the main thread
    EventWatcher watcher(options);
    Server server(watcher, listener, signal_fd);
    server.start();
    std::printf("listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    std::fflush(stdout);
    {
      EventWatcher::Driver driver(watcher);      // run(), with a hook between turns
      while (driver.turn()) server.next_turn();  // until on_signal() stops it
    }
    server.close_all();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "core_http: %s\n", e.what());
    return 1;
  }
  ::close(signal_fd);
  return 0;
}
