#include "wakeup.hpp"

#include "syscall_error.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace eventwatcher::detail {

Wakeup::Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0) throw_errno("eventfd", -1);
}

Wakeup::~Wakeup() {
  ::close(fd_);
}

void Wakeup::request(bool from_loop) noexcept {
  if (pending_.exchange(true, std::memory_order_acq_rel) || from_loop) return;
  const std::uint64_t one = 1;
  while (::write(fd_, &one, sizeof one) < 0) {
    // EAGAIN means the counter is already non-zero: the loop will wake anyway.
    if (errno == EAGAIN) return;
    if (errno != EINTR) {
      std::fprintf(stderr, "eventwatcher: wakeup eventfd write failed: %s\n", std::strerror(errno));
      std::abort();
    }
  }
}

void Wakeup::drain() noexcept {
  std::uint64_t value;
  // Non-blocking: EAGAIN just means it was drained already. Nothing else can fail.
  while (::read(fd_, &value, sizeof value) < 0 && errno == EINTR) {
  }
}

}  // namespace eventwatcher::detail
