// Arms: one-shot interests armed from any thread with one epoll_ctl, reported
// by Poller::collect as three batch entries each, driven one turn at a time.
#include "poller.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace eventwatcher::test {
namespace {

using detail::Delivery;
using detail::Poller;

struct Report {
  WatchFlag flag;
  std::uint64_t token;
  bool operator==(const Report&) const = default;
};

struct Turn {
  std::vector<std::pair<int, WatchFlag>> registrations;
  std::vector<Report> arms;
  std::vector<WatchFlag> handed_off;  // flags whose arms are pending for their harvester
};

// A poller with arms, whose turns run on the thread that calls turn().
class ArmedPoller {
 public:
  explicit ArmedPoller(int max_events = 16)
      : poller_({}, max_events, Delivery::level, handler_),
        batch_(static_cast<std::size_t>(Poller::batch_capacity(max_events, true))) {}

  detail::Arms& arms() { return poller_.arms(); }
  Poller& poller() { return poller_; }
  detail::Registry& registry() { return poller_.registry(); }
  void own() { poller_.registry().owner().claim(); }

  // One turn waiting up to `timeout_ns`: what it recorded.
  Turn turn(std::int64_t timeout_ns = 0) {
    EXPECT_GE(poller_.wait(timeout_ns), 0);
    const int recorded = poller_.collect(batch_.data());
    Turn turn;
    for (int i = 0; i < recorded; ++i) {
      const std::int32_t entry = batch_[static_cast<std::size_t>(i)];
      if (entry >= 0) {
        turn.registrations.emplace_back(entry >> 1,
                                        (entry & 1) ? WatchFlag::Write : WatchFlag::Read);
        continue;
      }
      if (entry <= -3) {
        turn.handed_off.push_back(entry == -3 ? WatchFlag::Read : WatchFlag::Write);
        continue;
      }
      const auto low = static_cast<std::uint32_t>(batch_[static_cast<std::size_t>(i) + 1]);
      const auto high = static_cast<std::uint32_t>(batch_[static_cast<std::size_t>(i) + 2]);
      turn.arms.push_back(
          {entry == -1 ? WatchFlag::Read : WatchFlag::Write, std::uint64_t{high} << 32 | low});
      i += 2;
    }
    return turn;
  }

 private:
  Options::ErrorHandler handler_;
  Poller poller_;
  std::vector<std::int32_t> batch_;
};

constexpr std::uint64_t kToken = 0x8765432100000007;

TEST(Arms, ReportOnceWithTheirTokenAndAgainOnlyWhenArmedAgain) {
  ArmedPoller poller;
  poller.own();
  Pipe pipe;
  ASSERT_EQ(poller.arms().arm(pipe.r(), WatchFlag::Read, kToken), 0);
  EXPECT_TRUE(poller.turn().arms.empty()) << "reported before the pipe was readable";
  pipe.fill();
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{WatchFlag::Read, kToken}}));
  EXPECT_TRUE(poller.turn().arms.empty()) << "a one-shot arm reported twice";
  ASSERT_EQ(poller.arms().arm(pipe.r(), WatchFlag::Read, kToken + 1), 0);  // still readable
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{WatchFlag::Read, kToken + 1}}));
}

TEST(Arms, OfBothFlagsOnOneFdNeverOverwriteEachOther) {
  ArmedPoller poller;
  poller.own();
  SocketPair sockets;
  const int fd = sockets.a.get();
  ASSERT_EQ(poller.arms().arm(fd, WatchFlag::Read, 1), 0);
  ASSERT_EQ(poller.arms().arm(fd, WatchFlag::Write, 2), 0);  // writable at once
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{WatchFlag::Write, 2}}));
  ASSERT_EQ(::write(sockets.b.get(), "x", 1), 1);
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{WatchFlag::Read, 1}}));
}

TEST(Arms, CoexistWithARegistrationOfTheSameFd) {
  ArmedPoller poller;
  poller.own();
  Pipe pipe;
  ASSERT_EQ(poller.registry().watch(pipe.r(), WatchFlag::Read, nullptr), 0);
  ASSERT_EQ(poller.arms().arm(pipe.r(), WatchFlag::Read, kToken), 0);
  pipe.fill();
  const Turn turn = poller.turn();
  EXPECT_EQ(turn.registrations,
            (std::vector<std::pair<int, WatchFlag>>{{pipe.r(), WatchFlag::Read}}));
  EXPECT_EQ(turn.arms, (std::vector<Report>{{WatchFlag::Read, kToken}}));
  // Level-triggered, the registration reports again; the one-shot arm does not.
  const Turn again = poller.turn();
  EXPECT_EQ(again.registrations.size(), 1u);
  EXPECT_TRUE(again.arms.empty());
}

TEST(Arms, DisarmedNeverReport) {
  ArmedPoller poller;
  poller.own();
  Pipe disarmed;
  Pipe control;
  ASSERT_EQ(poller.arms().arm(disarmed.r(), WatchFlag::Read, 1), 0);
  ASSERT_EQ(poller.arms().arm(control.r(), WatchFlag::Read, 2), 0);
  ASSERT_EQ(poller.arms().disarm(disarmed.r(), WatchFlag::Read), 0);
  disarmed.fill();
  control.fill();
  // The control's report proves the turn saw the readiness of both pipes.
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{WatchFlag::Read, 2}}));
  EXPECT_EQ(poller.arms().disarm(disarmed.r(), WatchFlag::Read), 0) << "a second disarm";
  EXPECT_EQ(poller.arms().disarm(9999, WatchFlag::Write), 0) << "disarm of a closed fd";
}

TEST(Arms, OfAClosedAndReusedNumberReachOnlyTheNewFile) {
  ArmedPoller poller;
  poller.own();
  auto old_pipe = std::make_unique<Pipe>();
  const int number = old_pipe->r();
  ASSERT_EQ(poller.arms().arm(number, WatchFlag::Read, 1), 0);
  old_pipe.reset();  // closed without disarm: the kernel drops the entry with the file
  Pipe reused;
  ASSERT_EQ(reused.r() == number || reused.w() == number, true) << "the number was not reused";
  const int fd = reused.r() == number ? reused.r() : reused.w();
  const WatchFlag flag = fd == reused.r() ? WatchFlag::Read : WatchFlag::Write;
  ASSERT_EQ(poller.arms().arm(fd, flag, 2), 0) << "the MOD's ENOENT must fall back to ADD";
  reused.fill();
  EXPECT_EQ(poller.turn().arms, (std::vector<Report>{{flag, 2}}));
}

TEST(Arms, OfARegularFileAreRefusedWithEperm) {
  ArmedPoller poller;
  Fd file(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  ASSERT_GE(file.get(), 0);
  EXPECT_EQ(poller.arms().arm(file.get(), WatchFlag::Read, 1), EPERM);
  EXPECT_EQ(poller.arms().arm(-1, WatchFlag::Read, 1), EBADF);
}

TEST(Arms, BeyondOneBatchWaitForTheNextTurn) {
  ArmedPoller poller(4);
  poller.own();
  std::vector<Pipe> pipes(10);
  for (std::size_t i = 0; i < pipes.size(); ++i) {
    pipes[i].fill();
    ASSERT_EQ(poller.arms().arm(pipes[i].r(), WatchFlag::Read, i), 0);
  }
  std::vector<bool> seen(pipes.size());
  for (const std::size_t expected : {4u, 4u, 2u, 0u}) {
    const Turn turn = poller.turn();
    ASSERT_EQ(turn.arms.size(), expected);
    for (const Report& report : turn.arms) {
      ASSERT_FALSE(seen[report.token]) << "token " << report.token << " reported twice";
      seen[report.token] = true;
    }
  }
}

// The parking thread's arm reaches a loop already blocked in epoll_wait: no
// wakeup, no hand-off through the loop.
TEST(Arms, MadeWhileTheLoopWaitsReachItWithoutAWakeup) {
  ArmedPoller poller;
  Pipe pipe;
  pipe.fill();
  std::promise<Turn> result;
  std::thread loop([&] {
    poller.own();
    result.set_value(poller.turn(-1));  // no limit: only the arm can end this wait
  });
  auto future = result.get_future();
  ASSERT_EQ(poller.arms().arm(pipe.r(), WatchFlag::Read, kToken), 0);
  ASSERT_TRUE(ready(future));
  EXPECT_EQ(future.get().arms, (std::vector<Report>{{WatchFlag::Read, kToken}}));
  loop.join();
}

// Harvested elsewhere: the loop only says, once, that arms are pending; the
// harvester takes them and re-enables the loop's report when it finds none.
TEST(Arms, HandedOffAreSignalledOnceUntilTheHarvesterRearms) {
  ArmedPoller poller;
  poller.own();
  ASSERT_EQ(poller.poller().make_arms_harvested_elsewhere(), 0);
  EXPECT_EQ(poller.poller().make_arms_harvested_elsewhere(), EBUSY);
  Pipe first;
  Pipe second;
  first.fill();
  ASSERT_EQ(poller.arms().arm(first.r(), WatchFlag::Read, 1), 0);
  Turn turn = poller.turn();
  EXPECT_TRUE(turn.arms.empty()) << "a handed-off arm reached the batch";
  EXPECT_EQ(turn.handed_off, (std::vector<WatchFlag>{WatchFlag::Read}));
  EXPECT_TRUE(poller.turn().handed_off.empty()) << "signalled again before a rearm";
  epoll_event events[4];
  ASSERT_EQ(poller.arms().harvest(WatchFlag::Read, events, 4), 1);
  EXPECT_EQ(events[0].data.u64, 1u);
  ASSERT_EQ(poller.arms().harvest(WatchFlag::Read, events, 4), 0);
  ASSERT_EQ(poller.arms().rearm(WatchFlag::Read), 0);
  EXPECT_TRUE(poller.turn().handed_off.empty()) << "signalled with nothing pending";
  second.fill();
  ASSERT_EQ(poller.arms().arm(second.r(), WatchFlag::Read, 2), 0);
  EXPECT_EQ(poller.turn().handed_off, (std::vector<WatchFlag>{WatchFlag::Read}));
}

// A harvester thread, the loop and parkers at once, as the Java sub-pollers
// run: every arm is harvested exactly once (checked under TSan in CI).
TEST(Arms, HandedOffToAHarvesterThreadAreEachHarvestedOnce) {
  constexpr int kThreads = 4;
  const int rounds = 1000 / kScaleDivisor;
  ArmedPoller poller;
  ASSERT_EQ(poller.poller().make_arms_harvested_elsewhere(), 0);
  std::vector<Pipe> pipes(kThreads);
  std::vector<std::atomic<int>> harvested(kThreads);
  std::atomic<int> signals{0};
  std::atomic<bool> done{false};
  std::thread loop([&] {
    poller.own();
    while (!done.load()) {
      if (!poller.turn(1'000'000).handed_off.empty()) {
        signals.fetch_add(1);
        signals.notify_one();
      }
    }
  });
  std::thread harvester([&] {
    int seen = 0;
    while (!done.load()) {
      epoll_event events[8];
      const int count = poller.arms().harvest(WatchFlag::Read, events, 8);
      for (int i = 0; i < count; ++i) {
        harvested[events[i].data.u64].fetch_add(1);
        harvested[events[i].data.u64].notify_one();
      }
      if (count > 0) continue;
      ASSERT_EQ(poller.arms().rearm(WatchFlag::Read), 0);
      signals.wait(seen);  // parked until the loop says arms are pending
      seen = signals.load();
    }
  });
  std::vector<std::thread> parkers;
  for (int t = 0; t < kThreads; ++t) {
    parkers.emplace_back([&, t] {
      for (int round = 1; round <= rounds; ++round) {
        pipes[t].fill();
        ASSERT_EQ(poller.arms().arm(pipes[t].r(), WatchFlag::Read, t), 0);
        harvested[t].wait(round - 1);
        ASSERT_EQ(harvested[t].load(), round);
        ASSERT_EQ(pipes[t].drain(), 1u);
      }
    });
  }
  for (auto& parker : parkers) parker.join();
  done.store(true);
  signals.fetch_add(1);
  signals.notify_one();
  harvester.join();
  loop.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(harvested[t].load(), rounds);
}

// Threads park and re-arm while the loop turns: every arm is reported
// exactly once (checked under TSan in CI).
TEST(Arms, FromManyThreadsAtOnceAreEachReportedOnce) {
  constexpr int kThreads = 6;
  const int rounds = 2000 / kScaleDivisor;
  ArmedPoller poller;
  std::vector<Pipe> pipes(kThreads);
  std::vector<std::atomic<int>> reported(kThreads);
  std::atomic<bool> done{false};
  std::thread loop([&] {
    poller.own();
    while (!done.load()) {
      for (const Report& report : poller.turn(1'000'000).arms) {
        reported[report.token].fetch_add(1);
        reported[report.token].notify_one();
      }
    }
  });
  std::vector<std::thread> parkers;
  for (int t = 0; t < kThreads; ++t) {
    parkers.emplace_back([&, t] {
      for (int round = 1; round <= rounds; ++round) {
        pipes[t].fill();
        ASSERT_EQ(poller.arms().arm(pipes[t].r(), WatchFlag::Read, t), 0);
        reported[t].wait(round - 1);
        ASSERT_EQ(reported[t].load(), round);
        ASSERT_EQ(pipes[t].drain(), 1u);
      }
    });
  }
  for (auto& parker : parkers) parker.join();
  done.store(true);
  loop.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(reported[t].load(), rounds);
}

}  // namespace
}  // namespace eventwatcher::test
