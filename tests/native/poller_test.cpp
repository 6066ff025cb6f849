// Poller::collect (the JNI bridge's batch) and one-shot delivery, driven one
// turn at a time on the test thread.
#include "poller.hpp"
#include "test_support.hpp"

#include <cerrno>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace eventwatcher::test {
namespace {

using detail::Delivery;
using detail::Poller;

// A poller owned by the test thread, with a batch buffer for collect().
class Turns {
 public:
  explicit Turns(Delivery delivery) : poller_({}, 16, delivery, handler_), batch_(32) {
    poller_.registry().owner().claim();
  }

  detail::Registry& registry() { return poller_.registry(); }
  Poller& poller() { return poller_; }

  // One non-blocking turn: the (fd, flag) pairs it recorded.
  std::set<std::pair<int, WatchFlag>> turn() {
    EXPECT_GE(poller_.wait(0), 0);
    const int recorded = poller_.collect(batch_.data());
    std::set<std::pair<int, WatchFlag>> entries;
    for (int i = 0; i < recorded; ++i) {
      entries.emplace(batch_[i] >> 1, (batch_[i] & 1) != 0 ? WatchFlag::Write : WatchFlag::Read);
    }
    EXPECT_EQ(entries.size(), static_cast<std::size_t>(recorded)) << "an entry recorded twice";
    return entries;
  }

 private:
  Options::ErrorHandler handler_;
  Poller poller_;
  std::vector<std::int32_t> batch_;
};

using Entries = std::set<std::pair<int, WatchFlag>>;

TEST(Collect, RecordsEveryReadyRegistrationOnEveryTurnWhenLevelTriggered) {
  Turns turns(Delivery::level);
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Write, nullptr), 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}, {fd, WatchFlag::Write}}));
  }
  ASSERT_EQ(turns.registry().unwatch(fd, WatchFlag::Read), 0);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Write}}));
  ASSERT_EQ(turns.registry().unwatch(fd, WatchFlag::Write), 0);
  EXPECT_EQ(turns.turn(), Entries{});
}

TEST(Collect, DrainsTheWakeupAndRecordsNothingForIt) {
  Turns turns(Delivery::level);
  turns.poller().wakeup().signal();
  EXPECT_EQ(turns.turn(), Entries{});
  EXPECT_EQ(turns.poller().wait(0), 0) << "the eventfd was not drained";
}

TEST(Collect, NeverRecordsAStaleEntryOfAClosedAndReusedNumber) {
  Turns turns(Delivery::level);
  Pipe old_pipe;
  old_pipe.fill();
  const int fd = old_pipe.r();
  Fd keep_alive(::dup(fd));  // keeps the old entry reporting
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);
  old_pipe.read_end.release();
  ::close(fd);
  Pipe fresh;
  ASSERT_EQ(fresh.r(), fd) << "the number was not reused";
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);  // new generation
  EXPECT_EQ(turns.turn(), Entries{}) << "the fresh pipe is empty";
  fresh.fill();
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}}));
  ASSERT_EQ(turns.registry().unwatch(fd, WatchFlag::Read), 0);
}

TEST(OneShot, ADeliveredRegistrationWaitsForResume) {
  Turns turns(Delivery::oneshot);
  Pipe pipe;
  pipe.fill();  // stays ready
  ASSERT_EQ(turns.registry().watch(pipe.r(), WatchFlag::Read, nullptr), 0);
  EXPECT_EQ(turns.turn(), (Entries{{pipe.r(), WatchFlag::Read}}));
  EXPECT_EQ(turns.turn(), Entries{}) << "delivered again before resume";
  EXPECT_EQ(turns.turn(), Entries{});
  ASSERT_EQ(turns.registry().resume(pipe.r(), WatchFlag::Read), 0);
  EXPECT_EQ(turns.turn(), (Entries{{pipe.r(), WatchFlag::Read}}));
  ASSERT_EQ(turns.registry().unwatch(pipe.r(), WatchFlag::Read), 0);
}

TEST(OneShot, TheOtherFlagStaysArmedWhileOneIsDelivered) {
  Turns turns(Delivery::oneshot);
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Write, nullptr), 0);
  // Only Write is ready: the kernel disarms the whole entry as it reports it,
  // and the registry re-arms Read, which was not delivered.
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Write}}));
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}}));
  EXPECT_EQ(turns.turn(), Entries{});
  ASSERT_EQ(turns.registry().resume(fd, WatchFlag::Write), 0);
  ASSERT_EQ(turns.registry().resume(fd, WatchFlag::Read), 0);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}, {fd, WatchFlag::Write}}));
  ASSERT_EQ(turns.registry().unwatch_all(), 0);
}

TEST(OneShot, ResumeAfterCloseAndReuseIsEnoentAndNeverArmsTheNewFile) {
  Turns turns(Delivery::oneshot);
  Pipe old_pipe;
  old_pipe.fill();
  const int fd = old_pipe.r();
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}}));
  // The callback, run elsewhere meanwhile, closed its fd without unwatch.
  old_pipe.read_end.release();
  ::close(fd);
  Pipe fresh;
  ASSERT_EQ(fresh.r(), fd) << "the number was not reused";
  fresh.fill();
  EXPECT_EQ(turns.registry().resume(fd, WatchFlag::Read), ENOENT);
  EXPECT_EQ(turns.turn(), Entries{}) << "the file that took the number was watched";
  EXPECT_EQ(turns.registry().resume(fd, WatchFlag::Read), ENOENT) << "removed";
}

TEST(OneShot, ASuspendedWatchIsRegisteredButNotArmed) {
  Turns turns(Delivery::oneshot);
  Pipe pipe;
  pipe.fill();
  ASSERT_EQ(turns.registry().watch(pipe.r(), WatchFlag::Read, nullptr, /*suspended=*/true), 0);
  EXPECT_EQ(turns.turn(), Entries{});
  ASSERT_EQ(turns.registry().resume(pipe.r(), WatchFlag::Read), 0);
  EXPECT_EQ(turns.turn(), (Entries{{pipe.r(), WatchFlag::Read}}));
  ASSERT_EQ(turns.registry().unwatch(pipe.r(), WatchFlag::Read), 0);
}

TEST(OneShot, HangUpIsDeliveredOnceToEachRegistration) {
  Turns turns(Delivery::oneshot);
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Read, nullptr), 0);
  ASSERT_EQ(turns.registry().watch(fd, WatchFlag::Write, nullptr), 0);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Write}}));
  ASSERT_EQ(::shutdown(fd, SHUT_RDWR), 0);  // EPOLLHUP: for both flags
  ASSERT_EQ(turns.registry().resume(fd, WatchFlag::Write), 0);
  EXPECT_EQ(turns.turn(), (Entries{{fd, WatchFlag::Read}, {fd, WatchFlag::Write}}));
  EXPECT_EQ(turns.turn(), Entries{});
  ASSERT_EQ(turns.registry().unwatch_all(), 0);
}

}  // namespace
}  // namespace eventwatcher::test
