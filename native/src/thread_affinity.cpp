#include "thread_affinity.hpp"

#ifdef EVENTWATCHER_DEBUG_CHECKS
#include "error_report.hpp"

#include <cstdlib>

namespace eventwatcher::detail {

void ThreadAffinity::fail(const char* entry_point) noexcept {
  write_stderr_line("eventwatcher: thread-affinity violation: ", entry_point,
                    " called off the thread that owns the loop");
  std::abort();
}

}  // namespace eventwatcher::detail
#endif
