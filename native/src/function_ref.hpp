// FunctionRef: a non-owning reference to a callable, which never allocates.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace eventwatcher::detail {

template <typename Signature>
class FunctionRef;

/// Two words: a pointer to the callable and a trampoline that calls it. Unlike
/// std::function it neither copies nor allocates, so it may refer to a lambda
/// of any size. It must not outlive the callable: bind it to a temporary only
/// as a parameter that is used before the full-expression ends.
template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  /// Refers to `callable` (not a copy). Any thread; never throws. The result
  /// of a callable bound to FunctionRef<void(...)> is discarded.
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                                        std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& callable) noexcept  // implicit, like std::function's
      : callable_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        trampoline_([](void* callable, Args... args) -> R {
          auto& target = *static_cast<std::remove_reference_t<F>*>(callable);
          if constexpr (std::is_void_v<R>) {
            target(std::forward<Args>(args)...);
          } else {
            return target(std::forward<Args>(args)...);
          }
        }) {}

  /// Calls the callable, on the calling thread; throws what it throws.
  R operator()(Args... args) const { return trampoline_(callable_, std::forward<Args>(args)...); }

 private:
  void* callable_;
  R (*trampoline_)(void*, Args...);
};

}  // namespace eventwatcher::detail
