#include "task_queue.hpp"

#include <utility>

namespace eventwatcher::detail {

void TaskQueue::push(WatchCallback task) {
  std::lock_guard lock(mutex_);
  tasks_.push_back(std::move(task));
}

void TaskQueue::take_all(std::vector<WatchCallback>& out) {
  std::lock_guard lock(mutex_);
  out.swap(tasks_);
}

}  // namespace eventwatcher::detail
