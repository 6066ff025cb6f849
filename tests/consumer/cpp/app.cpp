// An application built against the installed C++ library: through CMake's
// find_package (CMakeLists.txt, shared and static) and through pkg-config
// (the README's command line). It watches a pipe, runs a timer and a task on
// the loop thread, and meets an error; tests/consumer/run.sh compares its lines.
#include <eventwatcher/event_watcher.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <system_error>

using namespace std::chrono_literals;

int main() {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
  eventwatcher::EventWatcher watcher;
  std::promise<std::string> received;
  watcher.watch(fds[0], eventwatcher::WatchFlag::Read, [&](int fd) {
    char buffer[64];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    watcher.unwatch(fd, eventwatcher::WatchFlag::Read);
    received.set_value(std::string(buffer, n > 0 ? static_cast<size_t>(n) : 0));
  });
  if (::write(fds[1], "hello", 5) != 5) return 1;
  std::printf("read %s\n", received.get_future().get().c_str());

  std::promise<bool> timer_ran;
  watcher.runAfter(1ms, [&] { timer_ran.set_value(watcher.inEventWatcherLoop()); });
  std::printf("timer on loop thread: %s\n", timer_ran.get_future().get() ? "true" : "false");

  try {
    watcher.watch(fds[1] + 1000, eventwatcher::WatchFlag::Read, [](int) {});
  } catch (const std::system_error& e) {
    std::printf("error: %s\n", e.code() == std::errc::bad_file_descriptor ? "EBADF" : e.what());
  }
  ::close(fds[0]);
  ::close(fds[1]);
}
