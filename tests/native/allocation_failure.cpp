#include "allocation_failure.hpp"

#include <cstdlib>
#include <new>

namespace eventwatcher::test {
namespace {

thread_local bool refusing = false;
thread_local int refused_count = 0;

}  // namespace

AllocationFailure::AllocationFailure() noexcept {
  start();
}

AllocationFailure::~AllocationFailure() {
  stop();
}

int AllocationFailure::refused() noexcept {
  return refused_count;
}

void AllocationFailure::start() noexcept {
  refused_count = 0;
  refusing = true;
}

void AllocationFailure::stop() noexcept {
  refusing = false;
}

}  // namespace eventwatcher::test

// The replaceable global allocation functions (the array, nothrow and sized
// forms call these in libstdc++).
void* operator new(std::size_t size) {
  if (eventwatcher::test::refusing) {
    ++eventwatcher::test::refused_count;
    throw std::bad_alloc();
  }
  if (void* memory = std::malloc(size == 0 ? 1 : size)) return memory;
  throw std::bad_alloc();
}

void operator delete(void* memory) noexcept {
  std::free(memory);
}

void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
