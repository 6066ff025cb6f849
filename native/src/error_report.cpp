#include "error_report.hpp"

#include <cstdio>
#include <string>

namespace eventwatcher::detail {
namespace {

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "non-standard exception";
  }
}

void print(const char* what, std::exception_ptr error, int fd) noexcept {
  try {
    const std::string text = describe(error);
    if (fd >= 0) {
      std::fprintf(stderr, "eventwatcher: %s in callback for fd %d: %s\n", what, fd, text.c_str());
    } else {
      std::fprintf(stderr, "eventwatcher: %s in task: %s\n", what, text.c_str());
    }
  } catch (...) {
    std::fputs("eventwatcher: exception while reporting an exception\n", stderr);
  }
}

}  // namespace

void report_error(const Options::ErrorHandler& handler, std::exception_ptr error, int fd) noexcept {
  if (!handler) {
    print("uncaught exception", error, fd);
    return;
  }
  try {
    handler(error, fd);
  } catch (...) {
    print("error handler threw", std::current_exception(), fd);
  }
}

}  // namespace eventwatcher::detail
