#include "wakeup.hpp"

#include "error_report.hpp"
#include "syscall_error.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace eventwatcher::detail {

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw_errno("eventfd", -1);
}

Wakeup::~Wakeup() {
  ::close(fd_);
}

void Wakeup::signal() noexcept {
  const std::uint64_t one = 1;
  while (::write(fd_, &one, sizeof one) < 0) {
    // EAGAIN means the counter is already non-zero: the loop will wake anyway.
    if (errno == EAGAIN) return;
    if (errno != EINTR) {
      write_stderr_line("eventwatcher: wakeup eventfd write failed: ", std::strerror(errno));
      std::abort();
    }
  }
}

void Wakeup::wait(int timeout_ms) noexcept {
  pollfd entry{fd_, POLLIN, 0};
  // Any outcome will do: readable, timed out, interrupted. The caller retries.
  (void)::poll(&entry, 1, timeout_ms);
}

// Always an exchange. stop() publishes its flag without any lock the loop
// takes, so a load that read a stale true (a set the loop has already
// cleared) could return with the loop blocked and the stop unseen. An
// exchange that reads true is ordered before the loop's next clear, which
// synchronizes with it, so the loop's next step() sees the flag.
void Wakeup::request(bool from_loop) noexcept {
  if (pending_.exchange(true, std::memory_order_acq_rel) || from_loop) return;
  signal();
}

// Returning on a loaded true may read a stale value, a set the loop has
// already cleared; it is still safe for a task, because TaskQueue::push and
// take_all() lock the same mutex and the loop calls take_all()
// after every clear (consume() returning true, and in leave()). Say this
// thread pushed task T, then loaded true, written by some set Q. Q is
// eventually cleared (see consume()); let C be the first clear after Q in
// pending_'s modification order, and TA the take_all() after it. If T's push
// locked the mutex before TA, TA (or an earlier take) takes T. Otherwise TA's
// unlock synchronizes with the push's lock, so C happens before this load,
// and coherence forbids the load to read Q, which precedes C: contradiction.
// So the loop runs T without another write. The load may be relaxed: the
// mutex, not the flag, makes T visible; the load only needs coherence.
void Wakeup::request_for_task(bool from_loop) noexcept {
  if (pending_.load(std::memory_order_relaxed)) return;
  request(from_loop);
}

void Wakeup::drain() noexcept {
  std::uint64_t value;
  // Non-blocking: EAGAIN just means it was drained already. Nothing else can fail.
  while (::read(fd_, &value, sizeof value) < 0 && errno == EINTR) {
  }
}

}  // namespace eventwatcher::detail
