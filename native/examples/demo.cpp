// A tour of the EventWatcher: watches a pipe and a socketpair, shows
// level-triggered reads, dynamic write interest, EOF, and a task, then exits.
#include <eventwatcher/event_watcher.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <string>

using eventwatcher::EventWatcher;
using eventwatcher::WatchFlag;

int main() {
  int pipe_fds[2];
  int sockets[2];
  if (::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) != 0 ||
      ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sockets) != 0) {
    std::perror("demo: pipe2/socketpair");
    return 1;
  }
  EventWatcher watcher;
  std::promise<void> pipe_done;
  std::promise<void> socket_done;

  // Pipe: read until EOF; unwatch on EOF so the hang-up does not fire forever.
  watcher.watch(pipe_fds[0], WatchFlag::Read, [&](int fd) {
    char buffer[64];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      std::printf("[pipe fd %d] read %zd bytes: %.*s\n", fd, n, static_cast<int>(n), buffer);
    } else if (n == 0) {
      std::printf("[pipe fd %d] EOF: writer closed, unwatching\n", fd);
      watcher.unwatch(fd, WatchFlag::Read);
      pipe_done.set_value();
    }
  });

  // Socketpair: write when writable (Write interest only while there is
  // something to send), and echo what the peer answers.
  std::string outbound = "ping over a socketpair";
  watcher.watch(sockets[0], WatchFlag::Write, [&](int fd) {
    const ssize_t n = ::send(fd, outbound.data(), outbound.size(), MSG_NOSIGNAL);
    std::printf("[socket fd %d] writable: sent %zd bytes, dropping Write interest\n", fd, n);
    watcher.unwatch(fd, WatchFlag::Write);
  });
  watcher.watch(sockets[1], WatchFlag::Read, [&](int fd) {
    char buffer[64];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      std::printf("[socket fd %d] received: %.*s\n", fd, static_cast<int>(n), buffer);
      watcher.unwatch(fd, WatchFlag::Read);
      socket_done.set_value();
    }
  });

  (void)!::write(pipe_fds[1], "hello", 5);
  (void)!::write(pipe_fds[1], " world", 6);
  ::close(pipe_fds[1]);

  pipe_done.get_future().wait();
  socket_done.get_future().wait();

  std::promise<bool> task_ran;
  watcher.runInEventWatcherLoop([&] { task_ran.set_value(watcher.inEventWatcherLoop()); });
  std::printf("[task] ran on the loop thread: %s\n", task_ran.get_future().get() ? "yes" : "no");

  watcher.unwatchAll();
  ::close(pipe_fds[0]);
  ::close(sockets[0]);
  ::close(sockets[1]);
  std::printf("demo finished: pipe EOF seen, socket round trip done, task ran\n");
  return 0;
}
