// Makes operator new fail on one thread, to prove a path allocates nothing.
#pragma once

namespace eventwatcher::test {

/// While alive, every operator new on the constructing thread throws
/// std::bad_alloc (and is counted); other threads allocate as usual. The
/// replacement operator new lives in allocation_failure.cpp.
class AllocationFailure {
 public:
  AllocationFailure() noexcept;
  ~AllocationFailure();
  AllocationFailure(const AllocationFailure&) = delete;
  AllocationFailure& operator=(const AllocationFailure&) = delete;

  /// Allocations refused on this thread since construction.
  static int refused() noexcept;

  /// Starts refusing on the calling thread without an object (for code that
  /// cannot hold one across the point of interest, such as a throw); ended by
  /// stop() or by the destructor of an AllocationFailure.
  static void start() noexcept;
  static void stop() noexcept;
};

}  // namespace eventwatcher::test
