// Arms: one-shot readiness interests that any thread arms with one syscall,
// for a caller that parks until its fd is ready (the JDK's poller model).
#pragma once

#include "epoll.hpp"

#include <eventwatcher/watch_flag.hpp>

#include <sys/epoll.h>

#include <cstdint>

namespace eventwatcher::detail {

/// Two epoll instances of their own, one per flag, nested in the loop's
/// epoll (each registered there, level-triggered, under its token): an fd may
/// be armed for reading and for writing at once, by two threads, without
/// either arm overwriting the other's interest (one epoll entry per fd and
/// instance), and arms never touch the Registry's entries, so every Registry
/// invariant holds unchanged and the same fd may even be watched there too.
///
/// Threads. arm() and disarm() may be called from any thread, concurrently:
/// each is one epoll_ctl, which the kernel serialises. harvest() belongs to
/// the loop thread. The caller keeps the Arms alive while any thread may
/// still call it (the JNI bridge: the Java handle guard).
///
/// One-shot. An arm is EPOLLONESHOT: the kernel reports it once (readiness,
/// or a hang-up or error, which are always reported) and disarms it; the
/// entry stays, disabled, until the next arm() re-enables it with one MOD, or
/// disarm() removes it.
///
/// Close and reuse. The caller must disarm() an fd before closing it. An
/// entry of a file closed without disarm outlives the number only while a dup
/// of the file is open; arm() on the number reused by another file answers
/// ENOENT to the MOD (the kernel keys entries by file and number) and so ADDs
/// a fresh entry. An event of the old entry carries the old token: the token
/// is the caller's, and the caller must make it tell owners apart (the Java
/// side packs the fd with a per-owner generation).
///
/// Errors. Members return 0 or an errno value and never throw.
class Arms {
 public:
  /// epoll_event.data of the two nested instances in the loop's epoll; no
  /// Registry token (fd < 2^31 in the low half) or the wakeup's matches them.
  static constexpr std::uint64_t kReadToken = ~std::uint64_t{0} - 1;
  static constexpr std::uint64_t kWriteToken = ~std::uint64_t{0} - 2;

  /// Creates both instances and registers them in `loop`: level-triggered
  /// when the loop thread harvests them, one-shot when `harvested_elsewhere`
  /// (a poller thread harvests, and rearm() re-enables the nested entry once
  /// a harvest finds nothing). Throws std::system_error (nothing is left
  /// registered then).
  Arms(Epoll& loop, bool harvested_elsewhere);
  ~Arms();
  Arms(const Arms&) = delete;
  Arms& operator=(const Arms&) = delete;

  /// Arms a one-shot interest in `flag` readiness of `fd`, reported with
  /// `token`: one EPOLL_CTL_MOD, or an ADD after it when the fd has no entry
  /// yet (ENOENT). Any thread. Returns 0 or errno (EPERM for a file epoll
  /// cannot watch, EBADF for a closed fd).
  int arm(int fd, WatchFlag flag, std::uint64_t token) noexcept;

  /// Removes the entry of (fd, flag), armed or not. Any thread. Returns 0,
  /// also when there was none (ENOENT) or the fd is closed (EBADF); otherwise
  /// errno.
  int disarm(int fd, WatchFlag flag) noexcept;

  /// Fetches up to `max` reported arms of `flag` into `events` without
  /// waiting: the loop thread, or the one poller thread of `flag` when
  /// harvested elsewhere. Returns the count (0 if none, or on a failure,
  /// which leaves the instance readable so that the next harvest tries
  /// again).
  int harvest(WatchFlag flag, epoll_event* events, int max) noexcept;

  /// Harvested elsewhere: re-enables the one-shot nested entry of `flag` in
  /// the loop's epoll, which reports it at once if arms are pending. Any
  /// thread. Returns 0 or errno.
  int rearm(WatchFlag flag) noexcept;

  bool harvested_elsewhere() const noexcept { return harvested_elsewhere_; }

 private:
  Epoll& of(WatchFlag flag) noexcept { return flag == WatchFlag::Read ? read_ : write_; }

  std::uint32_t nesting() const noexcept {
    return harvested_elsewhere_ ? EPOLLIN | EPOLLONESHOT : EPOLLIN;
  }

  Epoll& loop_;
  Epoll read_;
  Epoll write_;
  const bool harvested_elsewhere_;
};

}  // namespace eventwatcher::detail
