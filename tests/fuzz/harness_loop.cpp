#include "harness.hpp"

#include <cerrno>
#include <cstring>
#include <exception>

namespace eventwatcher::fuzz {

void Harness::turn() {
  if (!driver_) toggle_driver();
  note(0, "turn");
  const bool expected = model_.turn_begins();
  bool result = false;
  try {
    result = driver_->turn();
  } catch (const std::exception& error) {
    violation("Driver::turn() threw: %s", error.what());
  }
  model_.turn_ended(result);
  if (!expected) note(0, "  (stopped)");
}

void Harness::toggle_driver() {
  if (driver_) {
    note(0, "destroy the Driver");
    model_.driver_ending();
    driver_.reset();
    model_.driver_ended();
  } else {
    note(0, "create a Driver");
    driver_.emplace(*watcher_);
  }
}

void Harness::on_callback(ModelCallback& callback, int fd) {
  note(1, "callback #%llu (%d, %s)", static_cast<unsigned long long>(callback.id), fd,
       name(callback.flag));
  if (running_callback_ != nullptr || running_task_) {
    violation("callback #%llu called inside another callback or task",
              static_cast<unsigned long long>(callback.id));
  }
  if (fd != callback.fd) {
    violation("callback #%llu of fd %d called with fd %d",
              static_cast<unsigned long long>(callback.id), callback.fd, fd);
  }
  if (!watcher_->inEventWatcherLoop()) violation("inEventWatcherLoop() is false in a callback");
  model_.no_error_pending();
  model_.called(callback.id, callback.fd, callback.flag);
  Restore<const ModelCallback*> restore{running_callback_, nullptr};
  running_callback_ = &callback;
  if (callback.then) perform(*callback.then, Context{1, &callback});
}

void Harness::on_callback_destroyed(const ModelCallback& callback) {
  if (running_callback_ == &callback) {
    violation("callback #%llu destroyed while it runs",
              static_cast<unsigned long long>(callback.id));
  }
  --live_callbacks;
}

void Harness::on_task(std::uint64_t sequence, const std::shared_ptr<const Op>& then) {
  note(1, "task #%llu", static_cast<unsigned long long>(sequence));
  if (running_callback_ != nullptr || running_task_) {
    violation("task #%llu ran inside a callback or task",
              static_cast<unsigned long long>(sequence));
  }
  if (!watcher_->inEventWatcherLoop()) violation("inEventWatcherLoop() is false in a task");
  model_.no_error_pending();
  model_.task_runs(sequence);
  Restore<bool> restore{running_task_, false};
  running_task_ = true;
  if (then) perform(*then, Context{1, nullptr});
}

int Harness::on_wait(int epoll_fd, epoll_event* events, int max, int timeout) {
  if (max != kMaxEvents) violation("epoll_wait for %d events, not max_events %d", max, kMaxEvents);
  model_.fetching(timeout);
  int count;
  do {
    count = ::epoll_wait(epoll_fd, events, max, 0);  // never blocks
  } while (count < 0 && errno == EINTR);
  if (count < 0) violation("epoll_wait failed: %s", std::strerror(errno));
  if (count >= max) violation("a full batch (%d): the model needs every ready fd in one", count);
  return count;
}

void Harness::on_error(std::exception_ptr error, int fd) {
  note(1, "error handler (fd %d)", fd);
  try {
    std::rethrow_exception(error);
  } catch (const Thrown&) {
  } catch (...) {
    violation("the error handler got an exception the fuzzer did not throw (fd %d)", fd);
  }
  model_.error_reported(fd);
}

}  // namespace eventwatcher::fuzz
