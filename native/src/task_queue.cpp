#include "task_queue.hpp"

#include <utility>

namespace eventwatcher::detail {

void TaskQueue::push(WatchCallback task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
}

bool TaskQueue::try_push(WatchCallback task) {
  std::lock_guard lock(mutex_);
  if (!open_) return false;
  tasks_.push_back(std::move(task));
  return true;
}

void TaskQueue::set_open(bool open) {
  std::lock_guard lock(mutex_);
  open_ = open;
}

void TaskQueue::take_all(std::vector<WatchCallback>& out) {
  std::lock_guard lock(mutex_);
  out.swap(tasks_);
}

void TaskQueue::clear() {
  std::vector<WatchCallback> doomed;
  take_all(doomed);
}

}  // namespace eventwatcher::detail
