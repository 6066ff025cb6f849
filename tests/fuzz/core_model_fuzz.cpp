// libFuzzer target: drives one EventWatcher (start_thread = false) one
// Driver::turn() at a time on the fuzzing thread, with operations decoded
// from the input (fuzz_ops.hpp) on a pool of real fds (fuzz_files.hpp), and
// checks every outcome against the model of the contract (core_model.hpp);
// the harness (harness.hpp) ties them together. A mismatch prints the recent
// operations and aborts.
//
// Every wait is non-blocking (the injected epoll_wait uses timeout 0) and
// its batch (64) is larger than the pool (10 fds), so a turn sees every
// ready fd. Each input runs on a fresh watcher and pool, all closed at its
// end, so inputs are independent and deterministic.
#include "core_model.hpp"
#include "fuzz_ops.hpp"
#include "harness.hpp"

#include <dirent.h>
#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

/// The number of fds this process has open (counting /proc/self/fd itself).
int open_fds() {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) eventwatcher::fuzz::violation("cannot list /proc/self/fd");
  int count = 0;
  while (::readdir(directory) != nullptr) ++count;
  ::closedir(directory);
  return count;
}

}  // namespace

/// Makes recoverable UBSan reports fatal, so that libFuzzer records them.
extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

/// Once per process: a write to a pipe without reader must not kill it.
/// EVENTWATCHER_FUZZ_TRACE=1 prints every operation (to read what an input does).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ::signal(SIGPIPE, SIG_IGN);
  const char* trace = std::getenv("EVENTWATCHER_FUZZ_TRACE");
  eventwatcher::fuzz::trace_notes(trace != nullptr && *trace == '1');
  return 0;
}

/// One input: a fresh watcher and pool, the decoded operations, all closed
/// (checked: the input leaves as many fds open as it found).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  eventwatcher::fuzz::forget_notes();
  const int fds_before = open_fds();
  {
    eventwatcher::fuzz::Decoder input(data, size);
    eventwatcher::fuzz::Harness harness;
    harness.run(input);
  }
  const int fds_after = open_fds();
  if (fds_after != fds_before) {
    eventwatcher::fuzz::violation("the input leaked %d fds", fds_after - fds_before);
  }
  return 0;
}
