// Where exceptions escaping callbacks and tasks go.
#pragma once

#include <eventwatcher/options.hpp>

#include <exception>

namespace eventwatcher::detail {

/// Passes `error` to `handler`, or prints one line on stderr when the handler
/// is empty. A handler that throws has its exception printed as well. Loop
/// thread; never throws.
void report_error(const Options::ErrorHandler& handler, std::exception_ptr error, int fd) noexcept;

}  // namespace eventwatcher::detail
