#include "timer_heap.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace eventwatcher::detail {
namespace {

constexpr std::size_t kArity = 4;

constexpr std::uint32_t index_of(TimerHeap::Id id) {
  return static_cast<std::uint32_t>(id);
}

constexpr std::uint32_t generation_of(TimerHeap::Id id) {
  return static_cast<std::uint32_t>(id >> 32);
}

constexpr TimerHeap::Id make_id(std::uint32_t index, std::uint32_t generation) {
  return TimerHeap::Id{generation} << 32 | index;
}

}  // namespace

TimerHeap::Id TimerHeap::push(std::int64_t deadline, std::int64_t period, WatchCallback task) {
  const std::uint32_t index = allocate();
  Node& node = nodes_[index];
  node.task = std::move(task);
  node.period = period;
  insert(index, deadline);
  return make_id(index, node.generation);
}

std::uint32_t TimerHeap::allocate() {
  if (free_ == kNone && nodes_.size() >= kNone) {
    throw std::length_error("EventWatcher: too many timers (2^32 - 1)");
  }
  // Room in the heap for every slot in use first, so that insert() and
  // requeue() never allocate; doubling keeps it amortised O(1).
  if (heap_.capacity() < in_use_ + 1) heap_.reserve(std::max<std::size_t>(64, 2 * in_use_));
  std::uint32_t index = free_;
  if (index != kNone) {
    free_ = nodes_[index].next_free;
    nodes_[index].next_free = kNone;
  } else {
    nodes_.emplace_back();  // may throw: nothing changed but the heap's capacity
    index = static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  ++in_use_;
  return index;
}

void TimerHeap::free(std::uint32_t index) noexcept {
  Node& node = nodes_[index];
  node.task = nullptr;
  if (++node.generation == 0) node.generation = 1;  // 0 would make id 0 for slot 0
  node.next_free = free_;
  free_ = index;  // last in, first out: the slot still warm in the cache
  --in_use_;
}

const TimerHeap::Node* TimerHeap::find(Id id) const noexcept {
  const std::uint32_t index = index_of(id);
  if (index >= nodes_.size()) return nullptr;
  const Node& node = nodes_[index];
  // A free slot's generation moved on when it was freed.
  return node.generation == generation_of(id) ? &node : nullptr;
}

TimerHeap::State TimerHeap::state(Id id) const noexcept {
  const Node* node = find(id);
  if (node == nullptr) return State::unknown;
  return node->heap_index != kNone ? State::pending : State::taken;
}

std::int64_t TimerHeap::period(Id id) const noexcept {
  const Node* node = find(id);
  return node != nullptr ? node->period : 0;
}

WatchCallback TimerHeap::remove(Id id) noexcept {
  const std::uint32_t index = index_of(id);
  erase_at(nodes_[index].heap_index);
  WatchCallback task = std::move(nodes_[index].task);
  free(index);
  return task;
}

TimerHeap::Taken TimerHeap::take_due(std::int64_t now, std::uint64_t bound,
                                     WatchCallback& task) noexcept {
  if (heap_.empty()) return {};
  const Entry top = heap_.front();
  Node& node = nodes_[top.node];
  if (top.deadline > now || node.sequence >= bound) return {};
  erase_at(0);
  task = std::move(node.task);
  return {make_id(top.node, node.generation), top.deadline, node.period};
}

void TimerHeap::requeue(Id id, std::int64_t deadline, WatchCallback task) noexcept {
  const std::uint32_t index = index_of(id);
  nodes_[index].task = std::move(task);
  insert(index, deadline);
}

void TimerHeap::release(Id id) noexcept {
  free(index_of(id));
}

void TimerHeap::insert(std::uint32_t index, std::int64_t deadline) noexcept {
  nodes_[index].sequence = sequence_++;
  heap_.push_back({deadline, index});  // within capacity: see allocate()
  sift_up(heap_.size() - 1);
}

void TimerHeap::erase_at(std::size_t at) noexcept {
  nodes_[heap_[at].node].heap_index = kNone;
  const Entry last = heap_.back();
  heap_.pop_back();
  if (at == heap_.size()) return;  // it was the last entry
  place(at, last);
  // The last entry may belong above or below the gap.
  if (at > 0 && before(last, heap_[(at - 1) / kArity])) {
    sift_up(at);
  } else {
    sift_down(at);
  }
}

bool TimerHeap::before(const Entry& a, const Entry& b) const noexcept {
  if (a.deadline != b.deadline) return a.deadline < b.deadline;
  return nodes_[a.node].sequence < nodes_[b.node].sequence;
}

void TimerHeap::place(std::size_t at, const Entry& entry) noexcept {
  heap_[at] = entry;
  nodes_[entry.node].heap_index = static_cast<std::uint32_t>(at);
}

void TimerHeap::sift_up(std::size_t at) noexcept {
  const Entry entry = heap_[at];
  while (at > 0) {
    const std::size_t parent = (at - 1) / kArity;
    if (!before(entry, heap_[parent])) break;
    place(at, heap_[parent]);
    at = parent;
  }
  place(at, entry);
}

void TimerHeap::sift_down(std::size_t at) noexcept {
  const Entry entry = heap_[at];
  const std::size_t size = heap_.size();
  for (;;) {
    const std::size_t first = at * kArity + 1;
    if (first >= size) break;
    const std::size_t end = std::min(first + kArity, size);
    std::size_t least = first;
    for (std::size_t child = first + 1; child < end; ++child) {
      if (before(heap_[child], heap_[least])) least = child;
    }
    if (!before(heap_[least], entry)) break;
    place(at, heap_[least]);
    at = least;
  }
  place(at, entry);
}

}  // namespace eventwatcher::detail
