// Where exceptions escaping callbacks, tasks and the loop itself go.
//
// The reporting path must work when the fault is the lack of a resource (no
// memory, no descriptors), so its last resort formats into a stack buffer and
// makes one write(2) to fd 2: no allocation, no stdio, nothing opened.
#pragma once

#include <eventwatcher/options.hpp>

#include <cstddef>
#include <exception>

namespace eventwatcher::detail {

/// Passes `error` to `handler`; with no handler, prints one line describing
/// it on fd 2. If the handler throws anything, or describing the error fails,
/// a fixed line naming `fd` is written to fd 2 instead; if that write fails
/// too, the report is dropped. The lines on fd 2 are limited to 10 a second
/// per process (the next line says how many were suppressed). Any thread (the
/// loop's, in practice); never throws, and neither it nor the fallback
/// allocates.
void report_error(const Options::ErrorHandler& handler, std::exception_ptr error, int fd) noexcept;

/// A line assembled on the stack and written to fd 2 with one write(2).
/// Longer text is truncated. Never allocates; never throws.
class StderrLine {
 public:
  StderrLine& operator<<(const char* text) noexcept;
  StderrLine& operator<<(long long number) noexcept;
  /// Appends the newline and writes the line; a failed write is dropped.
  void write() noexcept;

 private:
  static constexpr std::size_t kCapacity = 512;
  char text_[kCapacity];
  std::size_t size_ = 0;
};

/// Writes the concatenation of `parts` and a newline to fd 2 (see StderrLine).
template <typename... Parts>
void write_stderr_line(const Parts&... parts) noexcept {
  StderrLine line;
  (line << ... << parts);
  line.write();
}

}  // namespace eventwatcher::detail
