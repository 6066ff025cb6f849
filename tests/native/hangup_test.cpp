// Hang-up and error (EPOLLHUP, EPOLLERR) are delivered to every registration
// of the fd, so the callback's read() or write() observes EOF or the error.
#include "test_support.hpp"

#include <cerrno>
#include <csignal>

namespace eventwatcher::test {
namespace {

TEST(HangupDelivery, ReadCallbackSeesEofAndUnwatchingStopsIt) {
  EventWatcher watcher;
  Pipe pipe;
  std::atomic<int> calls{0};
  std::atomic<int> eofs{0};
  watcher.watch(pipe.r(), WatchFlag::Read, [&](int fd) {
    ++calls;
    char byte;
    if (::read(fd, &byte, 1) == 0) {
      ++eofs;
      watcher.unwatch(fd, WatchFlag::Read);
    }
  });
  pipe.write_end.reset();  // writer closes: EPOLLHUP on the read end
  ASSERT_TRUE(eventually([&] { return eofs == 1; }));
  flush_turns(watcher, 5);
  EXPECT_EQ(calls, 1) << "a callback that unwatches on EOF must not spin";
  EXPECT_EQ(eofs, 1);
}

TEST(HangupDelivery, WriteCallbackSeesErrorWhenReaderCloses) {
  std::signal(SIGPIPE, SIG_IGN);
  EventWatcher watcher;
  Pipe pipe;
  char chunk[4096] = {};
  while (::write(pipe.w(), chunk, sizeof chunk) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);  // full: not writable, so only an error can wake it
  std::promise<int> write_errno;
  auto future = write_errno.get_future();
  watcher.watch(pipe.w(), WatchFlag::Write, [&](int fd) {
    watcher.unwatch(fd, WatchFlag::Write);
    write_errno.set_value(::write(fd, "x", 1) < 0 ? errno : 0);
  });
  pipe.read_end.reset();  // EPOLLERR on the write end
  ASSERT_TRUE(ready(future));
  EXPECT_EQ(future.get(), EPIPE);
}

TEST(HangupDelivery, BothCallbacksOfAnFdSeePeerClose) {
  EventWatcher watcher;
  SocketPair sockets;
  const int fd = sockets.a.get();
  char chunk[4096] = {};
  while (::send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);       // not writable until the peer goes away
  std::promise<int> read_result;  // 0 for EOF, else errno
  std::promise<int> write_errno;
  auto read_future = read_result.get_future();
  auto write_future = write_errno.get_future();
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    watcher.unwatch(fd, WatchFlag::Read);
    char byte;
    read_result.set_value(::recv(fd, &byte, 1, 0) == 0 ? 0 : errno);
  });
  watcher.watch(fd, WatchFlag::Write, [&](int) {
    watcher.unwatch(fd, WatchFlag::Write);
    write_errno.set_value(::send(fd, "x", 1, MSG_NOSIGNAL) < 0 ? errno : 0);
  });
  sockets.b.reset();
  ASSERT_TRUE(ready(read_future));
  ASSERT_TRUE(ready(write_future));
  // The peer closed with our data unread, so it reset the connection.
  EXPECT_EQ(read_future.get(), ECONNRESET);
  EXPECT_EQ(write_future.get(), EPIPE);
}

}  // namespace
}  // namespace eventwatcher::test
