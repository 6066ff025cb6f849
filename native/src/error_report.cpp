#include "error_report.hpp"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace eventwatcher::detail {

StderrLine& StderrLine::operator<<(const char* text) noexcept {
  // One byte stays free for the newline.
  while (*text != '\0' && size_ + 1 < kCapacity) text_[size_++] = *text++;
  return *this;
}

StderrLine& StderrLine::operator<<(long long number) noexcept {
  char digits[24];
  std::size_t count = 0;
  const bool negative = number < 0;
  // Negate digit by digit, so that the most negative value needs no special case.
  do {
    const long long digit = number % 10;
    digits[count++] = static_cast<char>('0' + (digit < 0 ? -digit : digit));
    number /= 10;
  } while (number != 0);
  if (negative) *this << "-";
  while (count > 0 && size_ + 1 < kCapacity) text_[size_++] = digits[--count];
  return *this;
}

void StderrLine::write() noexcept {
  text_[size_++] = '\n';
  std::size_t written = 0;
  while (written < size_) {
    const ssize_t n = ::write(STDERR_FILENO, text_ + written, size_ - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report: dropped
    written += static_cast<std::size_t>(n);
  }
}

namespace {

// At most kLinesPerSecond report lines a second reach fd 2 from this process,
// so a callback that throws on every event costs a line now and then, not a
// flood. acquire() returns -1 for a line to drop, else how many were dropped
// since the last line written. Lock-free and allocation-free; races between
// threads at a second's boundary only move a line from one second to the next.
class LineBudget {
 public:
  long long acquire() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    std::int64_t current = second_.load(std::memory_order_relaxed);
    if (now.tv_sec != current && second_.compare_exchange_strong(current, now.tv_sec)) {
      used_.store(0, std::memory_order_relaxed);
    }
    if (used_.fetch_add(1, std::memory_order_relaxed) >= kLinesPerSecond) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return -1;
    }
    return dropped_.exchange(0, std::memory_order_relaxed);
  }

 private:
  static constexpr int kLinesPerSecond = 10;
  std::atomic<std::int64_t> second_{-1};
  std::atomic<int> used_{0};
  std::atomic<long long> dropped_{0};
};

LineBudget line_budget;

void suppressed(StderrLine& line, long long dropped) noexcept {
  if (dropped > 0) line << " (" << dropped << " more reports suppressed)";
}

const char* where(int fd) noexcept {
  return fd >= 0 ? "callback for fd " : "task or loop";
}

// The default report: the exception's what(), which needs no allocation to
// read (rethrow_exception reuses the exception object, falling back to
// libstdc++'s emergency pool under memory exhaustion).
void describe(std::exception_ptr error, int fd) noexcept {
  const long long dropped = line_budget.acquire();
  if (dropped < 0) return;
  StderrLine line;
  line << "eventwatcher: uncaught exception in " << where(fd);
  if (fd >= 0) line << static_cast<long long>(fd);
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    line << ": " << e.what();
  } catch (...) {
    line << ": an exception not derived from std::exception";
  }
  suppressed(line, dropped);
  line.write();
}

void lost(int fd) noexcept {
  const long long dropped = line_budget.acquire();
  if (dropped < 0) return;
  StderrLine line;
  line << "eventwatcher: an error in " << where(fd);
  if (fd >= 0) line << static_cast<long long>(fd);
  line << " was lost: the error handler threw";
  suppressed(line, dropped);
  line.write();
}

}  // namespace

void report_error(const Options::ErrorHandler& handler, std::exception_ptr error, int fd) noexcept {
  if (!handler) {
    describe(error, fd);
    return;
  }
  try {
    handler(error, fd);
  } catch (...) {
    lost(fd);
  }
}

}  // namespace eventwatcher::detail
