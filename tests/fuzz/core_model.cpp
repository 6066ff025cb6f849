#include "core_model.hpp"

#include <poll.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace eventwatcher::fuzz {
namespace {

// The last kNotes lines noted, oldest overwritten first.
constexpr int kNotes = 80;
char notes[kNotes][112];
unsigned noted = 0;
bool tracing = false;

}  // namespace

void note(int depth, const char* format, ...) {
  char* line = notes[noted++ % kNotes];
  const int indent = std::snprintf(line, sizeof notes[0], "%*s", 2 * depth + 2, "");
  va_list arguments;
  va_start(arguments, format);
  std::vsnprintf(line + indent, sizeof notes[0] - static_cast<unsigned>(indent), format, arguments);
  va_end(arguments);
  if (tracing) std::fprintf(stderr, "%s\n", line);
}

void forget_notes() noexcept {
  noted = 0;
}

void trace_notes(bool on) noexcept {
  tracing = on;
}

void violation(const char* format, ...) {
  std::fprintf(stderr, "eventwatcher_fuzz: the last operations, oldest first:\n");
  for (unsigned i = noted > kNotes ? noted - kNotes : 0; i < noted; ++i) {
    std::fprintf(stderr, "%s\n", notes[i % kNotes]);
  }
  std::fprintf(stderr, "eventwatcher_fuzz: CONTRACT VIOLATION: ");
  va_list arguments;
  va_start(arguments, format);
  std::vfprintf(stderr, format, arguments);
  va_end(arguments);
  std::fprintf(stderr, "\n");
  std::abort();
}

const char* name(WatchFlag flag) {
  return flag == WatchFlag::Read ? "Read" : "Write";
}

Model::Registration* Model::find(int fd, WatchFlag flag) {
  auto it = registrations_.find({fd, flag});
  return it == registrations_.end() ? nullptr : &it->second;
}

bool Model::orphaned(int fd) const {
  const File* file = files_.at(fd);
  for (const WatchFlag flag : {WatchFlag::Read, WatchFlag::Write}) {
    auto it = registrations_.find({fd, flag});
    if (it != registrations_.end()) return file == nullptr || file->serial != it->second.serial;
  }
  return false;
}

void Model::drop(int fd, WatchFlag flag) {
  auto it = registrations_.find({fd, flag});
  if (it == registrations_.end()) return;
  batch_.erase(it->second.callback);  // never called from now on
  registrations_.erase(it);
}

void Model::drop_all(int fd) {
  drop(fd, WatchFlag::Read);
  drop(fd, WatchFlag::Write);
}

int Model::watch(int fd, WatchFlag flag, std::uint64_t callback) {
  if (orphaned(fd)) drop_all(fd);  // the old file's registrations died with it
  const File* file = files_.at(fd);
  if (file == nullptr) return EBADF;
  if (!pollable(file->kind)) return EPERM;
  drop(fd, flag);  // replaced
  registrations_[{fd, flag}] = Registration{callback, file->serial};
  return 0;
}

int Model::unwatch(int fd, WatchFlag flag) {
  if (find(fd, flag) == nullptr) return 0;
  if (orphaned(fd)) {
    drop_all(fd);
  } else {
    drop(fd, flag);
  }
  return 0;
}

void Model::unwatch_all() {
  registrations_.clear();
  batch_.clear();
}

int Model::suspend(int fd, WatchFlag flag) {
  Registration* registration = find(fd, flag);
  if (registration == nullptr || registration->suspended) return 0;
  if (orphaned(fd)) {
    drop_all(fd);
  } else {
    registration->suspended = true;
    batch_.erase(registration->callback);  // not called before resume, not for this batch
  }
  return 0;
}

int Model::resume(int fd, WatchFlag flag) {
  Registration* registration = find(fd, flag);
  if (registration == nullptr) return ENOENT;
  if (!registration->suspended) return 0;
  if (orphaned(fd)) {
    drop_all(fd);
    return ENOENT;
  }
  registration->suspended = false;  // not in the batch: events fetched before are not for it
  return 0;
}

void Model::closing(int fd) {
  for (auto& [callback, fetched] : batch_) {
    if (fetched.fd == fd) fetched.optional = true;
  }
}

bool Model::turn_begins() {
  if (phase_ != Phase::idle) violation("Driver::turn() called in phase %s", phase_name(phase_));
  turn_expected_ = !stop_requested_;
  if (turn_expected_) phase_ = Phase::waiting;
  return turn_expected_;
}

bool Model::ready(int fd, WatchFlag flag) const {
  const short revents = files_.readiness(fd);
  const short wanted = flag == WatchFlag::Read ? POLLIN : POLLOUT;
  return (revents & (wanted | POLLHUP | POLLERR)) != 0;
}

void Model::fetching(int timeout) {
  if (phase_ != Phase::waiting) {
    violation("epoll_wait called in phase %s (%s)", phase_name(phase_),
              phase_ == Phase::idle ? "after stop(), or outside a turn" : "twice in one turn");
  }
  const bool tasks_queued = ran_ < posted_;
  if (tasks_queued && timeout != 0) {
    violation("epoll_wait with timeout %d while task #%llu is queued: a real wait would block",
              timeout, static_cast<unsigned long long>(ran_));
  }
  if (!tasks_queued && timeout != -1) {
    if (stale_nonblocking_wait_)
      violation("idle loop polls again (timeout %d): a busy loop", timeout);
    stale_nonblocking_wait_ = true;
  } else {
    stale_nonblocking_wait_ = false;
  }
  batch_.clear();
  for (const auto& [key, registration] : registrations_) {
    const auto [fd, flag] = key;
    if (registration.suspended || orphaned(fd) || !ready(fd, flag)) continue;
    batch_[registration.callback] = Fetched{fd, flag};
  }
  note(0, "  epoll_wait: %zu registrations ready", batch_.size());
  phase_ = Phase::dispatch;
}

void Model::called(std::uint64_t callback, int fd, WatchFlag flag) {
  const auto id = static_cast<unsigned long long>(callback);
  if (phase_ != Phase::dispatch) {
    violation("callback #%llu of (%d, %s) called in phase %s, not in a turn's dispatch", id, fd,
              name(flag), phase_name(phase_));
  }
  const Registration* registration = find(fd, flag);
  if (registration == nullptr || registration->callback != callback) {
    violation(
        "callback #%llu of (%d, %s) called after its unwatch/unwatchAll/replacement "
        "returned (now registered: %s)",
        id, fd, name(flag), registration == nullptr ? "nothing" : "another callback");
  }
  auto fetched = batch_.find(callback);
  if (fetched == batch_.end()) {
    if (registration->suspended)
      violation("callback #%llu of (%d, %s) called while suspended", id, fd, name(flag));
    if (orphaned(fd))
      violation("callback #%llu of (%d, %s) called after its fd was closed", id, fd, name(flag));
    violation(
        "callback #%llu of (%d, %s) called without a ready event fetched for it (not "
        "ready at the wait, registered or resumed after it, or called twice)",
        id, fd, name(flag));
  }
  batch_.erase(fetched);
}

void Model::end_dispatch() {
  for (const auto& [callback, fetched] : batch_) {
    if (fetched.optional) continue;
    violation("(%d, %s) was ready at the wait, but its callback #%llu was not called", fetched.fd,
              name(fetched.flag), static_cast<unsigned long long>(callback));
  }
  batch_.clear();
}

void Model::turn_ended(bool result) {
  if (result != turn_expected_) {
    violation("Driver::turn() returned %s, expected %s", result ? "true" : "false",
              turn_expected_ ? "true (no stop requested)" : "false (stop requested)");
  }
  if (!result) return;
  if (phase_ == Phase::waiting) violation("Driver::turn() returned without an epoll_wait");
  if (phase_ == Phase::dispatch) {
    end_dispatch();
    due_ = posted_;
  }
  if (ran_ < due_) {
    violation("the turn ended before task #%llu ran, which was queued before its task phase",
              static_cast<unsigned long long>(ran_));
  }
  no_error_pending();
  phase_ = Phase::idle;
}

void Model::task_runs(std::uint64_t sequence) {
  if (phase_ == Phase::dispatch) {  // the first task of the turn: the dispatch is over
    end_dispatch();
    phase_ = Phase::tasks;
    due_ = posted_;
  } else if (phase_ != Phase::tasks && phase_ != Phase::leaving) {
    violation("task #%llu ran in phase %s", static_cast<unsigned long long>(sequence),
              phase_name(phase_));
  }
  if (sequence != ran_) {
    violation("task #%llu ran, but task #%llu was due (FIFO, each exactly once)",
              static_cast<unsigned long long>(sequence), static_cast<unsigned long long>(ran_));
  }
  ++ran_;
}

void Model::driver_ending() {
  if (phase_ != Phase::idle) violation("Driver destroyed in phase %s", phase_name(phase_));
  phase_ = Phase::leaving;
}

void Model::driver_ended() {
  if (ran_ != posted_) {
    violation("~Driver returned before task #%llu ran", static_cast<unsigned long long>(ran_));
  }
  no_error_pending();
  stop_requested_ = false;  // consumed by the Driver's destruction
  // Tasks posted (or stop() called) by the tasks ~Driver runs leave the
  // wakeup mark set, so the next Driver's first wait may not block, once.
  stale_nonblocking_wait_ = false;
  phase_ = Phase::idle;
}

void Model::error_reported(int fd) {
  if (pending_error_ == -2) violation("error handler called for fd %d, but nothing threw", fd);
  if (fd != pending_error_) {
    violation("error handler called with fd %d, but the exception came from fd %d", fd,
              pending_error_);
  }
  if (phase_ != Phase::dispatch && phase_ != Phase::tasks && phase_ != Phase::leaving) {
    violation("error handler called in phase %s", phase_name(phase_));
  }
  pending_error_ = -2;
}

void Model::no_error_pending() const {
  if (pending_error_ != -2) {
    violation("an exception thrown by fd %d's callback (-1: a task) was not reported",
              pending_error_);
  }
}

const char* Model::phase_name(Phase phase) {
  switch (phase) {
    case Phase::idle:
      return "idle (between turns)";
    case Phase::waiting:
      return "waiting (turn begun, no epoll_wait yet)";
    case Phase::dispatch:
      return "dispatch";
    case Phase::tasks:
      return "tasks";
    case Phase::leaving:
      return "leaving (~Driver)";
    case Phase::dead:
      return "dead (watcher destroyed)";
  }
  return "?";
}

}  // namespace eventwatcher::fuzz
