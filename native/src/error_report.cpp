#include "error_report.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

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

const char* where(int fd) noexcept {
  return fd >= 0 ? "callback for fd " : "task or loop";
}

// The default report: the exception's what(), which needs no allocation to
// read (rethrow_exception reuses the exception object, falling back to
// libstdc++'s emergency pool under memory exhaustion).
void describe(std::exception_ptr error, int fd) noexcept {
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
  line.write();
}

void lost(int fd) noexcept {
  StderrLine line;
  line << "eventwatcher: an error in " << where(fd);
  if (fd >= 0) line << static_cast<long long>(fd);
  line << " was lost: the error handler threw";
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
