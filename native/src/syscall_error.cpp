#include "syscall_error.hpp"

#include <cerrno>
#include <string>

namespace eventwatcher::detail {

std::system_error syscall_error(int error, const char* op, int fd) {
  std::string what = op;
  what += " failed";
  if (fd >= 0) {
    what += " for fd ";
    what += std::to_string(fd);
  }
  return std::system_error(error, std::system_category(), what);
}

void throw_errno(const char* op, int fd) {
  throw syscall_error(errno, op, fd);
}

}  // namespace eventwatcher::detail
