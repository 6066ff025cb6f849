// The one place where a failing syscall becomes an exception.
#pragma once

#include <system_error>

namespace eventwatcher::detail {

/// Builds a std::system_error for `error` (an errno value) raised by `op`
/// on `fd`; the message reads "<op> failed for fd <fd>: <strerror>".
/// Pass fd = -1 when the call concerns no user fd.
std::system_error syscall_error(int error, const char* op, int fd);

/// Throws syscall_error(errno, op, fd).
[[noreturn]] void throw_errno(const char* op, int fd);

}  // namespace eventwatcher::detail
