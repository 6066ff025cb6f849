// TimerHeap, directly: deadline order with equal deadlines in push order,
// removal from the middle against a reference model, ids that go stale when
// their slot is reused, and 1,000,000 pending timers whose cancellation leaves
// the slab no larger than the peak (a tenth under TSan: see kScaleDivisor).
#include "timer_heap.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace eventwatcher::test {
namespace {

using detail::TimerHeap;

// Takes every timer due at `now` (bound: none), returning their deadlines
// in the order taken, and frees their slots.
std::vector<std::int64_t> take_all_due(TimerHeap& heap, std::int64_t now) {
  std::vector<std::int64_t> taken;
  WatchCallback task;
  for (;;) {
    const TimerHeap::Taken next = heap.take_due(now, heap.next_sequence(), task);
    if (next.id == 0) return taken;
    taken.push_back(next.deadline);
    heap.release(next.id);
  }
}

TEST(TimerHeap, TakesByDeadlineThenPushOrder) {
  TimerHeap heap;
  std::vector<int> order;
  const std::int64_t deadlines[] = {30, 10, 20, 10, 0, 20, 10};
  for (int i = 0; i < 7; ++i) heap.push(deadlines[i], 0, [&order, i] { order.push_back(i); });
  WatchCallback task;
  for (;;) {
    const TimerHeap::Taken next = heap.take_due(100, heap.next_sequence(), task);
    if (next.id == 0) break;
    task();
    heap.release(next.id);
  }
  EXPECT_EQ(order, (std::vector<int>{4, 1, 3, 6, 2, 5, 0}));
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeap, TakesOnlyWhatIsDueAndPushedBeforeTheBound) {
  TimerHeap heap;
  heap.push(5, 0, [] {});
  const std::uint64_t bound = heap.next_sequence();
  const TimerHeap::Id late = heap.push(5, 0, [] {});
  WatchCallback task;
  EXPECT_EQ(heap.take_due(4, bound, task).id, 0u) << "taken before its deadline";
  const TimerHeap::Taken first = heap.take_due(5, bound, task);
  EXPECT_NE(first.id, 0u);
  EXPECT_EQ(heap.take_due(5, bound, task).id, 0u) << "pushed after the bound, taken all the same";
  EXPECT_EQ(heap.state(late), TimerHeap::State::pending);
  EXPECT_EQ(heap.state(first.id), TimerHeap::State::taken);
}

TEST(TimerHeap, RequeueCountsAsPushedNow) {
  TimerHeap heap;
  const TimerHeap::Id periodic = heap.push(10, 10, [] {});
  WatchCallback task;
  const TimerHeap::Taken taken = heap.take_due(10, heap.next_sequence(), task);
  ASSERT_EQ(taken.id, periodic);
  EXPECT_EQ(taken.period, 10);
  const TimerHeap::Id other = heap.push(20, 0, [] {});  // same deadline, pushed before the requeue
  heap.requeue(periodic, 20, std::move(task));
  EXPECT_EQ(heap.take_due(20, heap.next_sequence(), task).id, other)
      << "the requeued timer overtook an equal deadline pushed earlier";
  EXPECT_EQ(heap.take_due(20, heap.next_sequence(), task).id, periodic);
}

TEST(TimerHeap, IdOfAFreedSlotIsStaleOnceTheSlotIsReused) {
  TimerHeap heap;
  const TimerHeap::Id first = heap.push(1, 0, [] {});
  EXPECT_EQ(heap.state(first), TimerHeap::State::pending);
  (void)heap.remove(first);
  const TimerHeap::Id second = heap.push(1, 0, [] {});
  ASSERT_EQ(static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(second))
      << "the free slot was not reused";
  EXPECT_NE(first, second);
  EXPECT_EQ(heap.state(first), TimerHeap::State::unknown);
  EXPECT_EQ(heap.state(second), TimerHeap::State::pending);
  EXPECT_EQ(heap.state(0), TimerHeap::State::unknown);
  EXPECT_EQ(heap.slots(), 1u);
}

// Random pushes, removals from anywhere and takes, against a std::set of
// (deadline, push order) keys.
TEST(TimerHeap, MatchesASortedModelUnderRandomRemovals) {
  TimerHeap heap;
  std::set<std::tuple<std::int64_t, int, TimerHeap::Id>> model;
  std::vector<std::pair<TimerHeap::Id, std::tuple<std::int64_t, int, TimerHeap::Id>>> live;
  std::mt19937 random(12345);
  WatchCallback task;
  for (int step = 0; step < 50'000; ++step) {
    const unsigned action = random() % 4;
    if (action <= 1 || live.empty()) {
      const std::int64_t deadline = random() % 1000;
      const TimerHeap::Id id = heap.push(deadline, 0, [] {});
      live.push_back({id, {deadline, step, id}});
      model.insert(live.back().second);
    } else if (action == 2) {
      const std::size_t at = random() % live.size();
      heap.remove(live[at].first);
      model.erase(live[at].second);
      live[at] = live.back();
      live.pop_back();
    } else {
      const TimerHeap::Taken taken = heap.take_due(1000, heap.next_sequence(), task);
      ASSERT_NE(taken.id, 0u);
      ASSERT_EQ(taken.id, std::get<2>(*model.begin())) << "step " << step;
      model.erase(model.begin());
      heap.release(taken.id);
      std::erase_if(live, [&](const auto& entry) { return entry.first == taken.id; });
    }
    ASSERT_EQ(heap.size(), model.size());
  }
}

TEST(TimerHeap, MillionPendingTimersCancelHalfAndFireTheRestInOrder) {
  constexpr int kTimers = 1'000'000 / kScaleDivisor;
  TimerHeap heap;
  std::vector<TimerHeap::Id> ids;
  ids.reserve(kTimers);
  std::mt19937_64 random(7);
  for (int i = 0; i < kTimers; ++i) {
    ids.push_back(heap.push(static_cast<std::int64_t>(random() % 1'000'000'000), 0, [] {}));
  }
  ASSERT_EQ(heap.size(), static_cast<std::size_t>(kTimers));
  const std::size_t peak = heap.slots();
  for (int i = 0; i < kTimers; i += 2) (void)heap.remove(ids[i]);
  EXPECT_EQ(heap.size(), static_cast<std::size_t>(kTimers / 2));
  // Cancelled timers leave nothing behind: as many new ones fit in their slots.
  for (int i = 0; i < kTimers / 2; ++i) {
    heap.push(static_cast<std::int64_t>(random() % 1'000'000'000), 0, [] {});
  }
  EXPECT_EQ(heap.slots(), peak) << "the slab grew although freed slots were there";
  const std::vector<std::int64_t> fired = take_all_due(heap, 1'000'000'000);
  EXPECT_EQ(fired.size(), static_cast<std::size_t>(kTimers));
  EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.slots(), peak);
}

}  // namespace
}  // namespace eventwatcher::test
