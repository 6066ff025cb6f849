// TimerHeap: pending timers in deadline order, with O(log n) cancel.
#pragma once

#include <eventwatcher/watch_callback.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eventwatcher::detail {

/// A 4-ary min-heap of small entries (deadline, slot) over a slab of timer
/// slots; each slot records its position in the heap, so a timer is removed
/// from the middle in O(log n) when cancelled, and cancelled timers leave no
/// garbage behind. Freed slots go on a free list and are reused before the
/// slab grows, so memory follows the peak number of timers, never the number
/// of timers ever scheduled (and is kept at that peak).
///
/// Why a heap, and not a hierarchical timing wheel (Netty's HashedWheelTimer,
/// the kernel's timer wheel): a wheel buckets deadlines by tick, so a timer
/// runs up to a tick late and timers within a tick lose their order, or each
/// level must be sorted again as it cascades. The heap keeps deadlines to the
/// nanosecond and orders equal deadlines by scheduling order (a sequence
/// number per scheduling) at O(log n) per operation, O(1) to read the next
/// deadline (which the wait needs every turn). With four children per node the
/// tree is half as deep as a binary heap's, and the four children of a node
/// are four 16-byte entries next to one another, one 64-byte cache line when
/// aligned, two at worst, so a sift-down step costs about one cache miss and
/// 1,000,000 timers are about 10 levels deep. The sequence number lives in the
/// slot and is read only when two deadlines are equal.
///
/// Ids. A slot's index and its generation, which counts the slot's uses, make
/// the id; an id whose slot has been freed (the timer ran or was cancelled)
/// never names the slot's next timer.
///
/// A slot is free, pending (in the heap) or taken: removed from the heap by
/// take_due() to run, until requeue() puts it back (a periodic timer) or
/// release() frees it. While taken, the task lives with the caller, not in
/// the slot, because another push may move the slab.
///
/// Not thread-safe: Timers guards it with its mutex. Never calls a task.
class TimerHeap {
 public:
  /// Names a timer: its slot's index in the low 32 bits, the slot's
  /// generation (never 0) in the high 32. So 0 never names a timer.
  using Id = std::uint64_t;

  enum class State : std::uint8_t { unknown, pending, taken };

  /// A timer that take_due() took out of the heap to run.
  struct Taken {
    Id id = 0;  ///< 0: nothing was due
    std::int64_t deadline = 0;
    std::int64_t period = 0;  ///< 0 for a one-shot timer
  };

  /// Adds a pending timer with the next sequence number and returns its id.
  /// Throws std::bad_alloc, or std::length_error when 2^32 - 1 slots are in
  /// use; nothing changes then.
  Id push(std::int64_t deadline, std::int64_t period, WatchCallback task);

  /// Whether `id` names a pending timer, a taken one, or nothing (any more).
  State state(Id id) const noexcept;
  /// The period of pending or taken timer `id` (0 for a one-shot).
  std::int64_t period(Id id) const noexcept;

  /// Removes pending timer `id`, frees its slot and returns its task.
  WatchCallback remove(Id id) noexcept;

  /// If the earliest pending timer is due at `now` (deadline <= now) and was
  /// pushed or requeued before sequence number `bound`, takes it out of the
  /// heap, moves its task into `task` and returns it; otherwise Taken{}.
  Taken take_due(std::int64_t now, std::uint64_t bound, WatchCallback& task) noexcept;
  /// Puts taken timer `id` back as pending at `deadline`, with a new sequence
  /// number (it counts as scheduled now). Never allocates.
  void requeue(Id id, std::int64_t deadline, WatchCallback task) noexcept;
  /// Frees the slot of taken timer `id`: `id` names nothing from now on.
  void release(Id id) noexcept;

  bool empty() const noexcept { return heap_.empty(); }
  /// Pending timers.
  std::size_t size() const noexcept { return heap_.size(); }
  /// Slots in the slab: in use (pending or taken) and free. Never shrinks.
  std::size_t slots() const noexcept { return nodes_.size(); }
  /// The earliest pending deadline. Not empty() only.
  std::int64_t next_deadline() const noexcept { return heap_.front().deadline; }
  /// The sequence number the next push or requeue gets.
  std::uint64_t next_sequence() const noexcept { return sequence_; }

 private:
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};

  struct Entry {
    std::int64_t deadline;
    std::uint32_t node;
  };
  static_assert(sizeof(Entry) == 16);

  struct Node {
    WatchCallback task;          // empty while taken or free
    std::int64_t period = 0;     // 0: one-shot
    std::uint64_t sequence = 0;  // scheduling order, for equal deadlines
    std::uint32_t generation = 1;
    std::uint32_t heap_index = kNone;  // kNone unless pending
    std::uint32_t next_free = kNone;   // the free list, while free
  };

  // The slot `id` names while it is in use, or null.
  const Node* find(Id id) const noexcept;
  std::uint32_t allocate();
  void free(std::uint32_t index) noexcept;
  void insert(std::uint32_t index, std::int64_t deadline) noexcept;
  void erase_at(std::size_t at) noexcept;
  bool before(const Entry& a, const Entry& b) const noexcept;
  void place(std::size_t at, const Entry& entry) noexcept;
  void sift_up(std::size_t at) noexcept;
  void sift_down(std::size_t at) noexcept;

  std::vector<Entry> heap_;  // capacity >= slots in use: insert() never allocates
  std::vector<Node> nodes_;
  std::uint32_t free_ = kNone;  // head of the free list
  std::size_t in_use_ = 0;      // pending or taken slots
  std::uint64_t sequence_ = 0;
};

}  // namespace eventwatcher::detail
