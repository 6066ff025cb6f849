// The pool of real files the core fuzzer watches: pipes, socketpairs, and
// the files epoll refuses, with the fd numbers they sit on.
//
// No dups. Every open file of the pool sits on exactly one fd number (Replace
// moves a new file onto a number with dup3 and closes its first number at
// once, before anything can watch it). The header documents that a dup of a
// watched fd keeps its epoll entry alive and delivers stale events to the old
// callback; the model does not mimic that, so the fuzzer stays within the
// no-dup contract.
#pragma once

#include "fuzz_ops.hpp"

#include <cstdint>
#include <map>
#include <vector>

namespace eventwatcher::fuzz {

/// What an open fd of the pool is.
enum class Kind : std::uint8_t { PipeRead, PipeWrite, Socket, DevNull, Regular, Directory };

/// An open file of the pool, as the fuzzer knows it.
struct File {
  std::uint64_t serial;  ///< unique per open file within one input
  Kind kind;
  int peer = -1;  ///< the number of the other end, while it is open
};

/// Owns the pool's fds; closes them all on destruction. Never throws on a
/// failed syscall: a file that cannot be made just does not join the pool.
class Files {
 public:
  /// At most this many fds open at once (so one epoll batch reports them all).
  static constexpr std::size_t kMaxOpen = 10;

  Files() = default;
  ~Files();
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  /// Opens a pipe or a socketpair on the lowest free numbers (which may be
  /// numbers closed earlier, watched or not). False if the pool is full.
  bool open_pipe();
  bool open_socket_pair();
  /// Puts a new file on number `fd`, closing what was there. False (nothing
  /// done) if the pool is full or `fd` is held by something outside the pool.
  bool replace(int fd, NewFile what);
  /// Closes `fd` if the pool holds it.
  void close(int fd);
  /// Closes every fd of the pool.
  void close_all();

  /// Makes `fd` readable: one byte into its peer. A no-op without a peer.
  void feed(int fd);
  /// Reads `fd` until EAGAIN or EOF.
  void drain(int fd);
  /// Writes into `fd` until EAGAIN (the pipe or socket buffer is full).
  void fill(int fd);

  /// The open file on `fd`, or null.
  const File* at(int fd) const;
  /// poll(2) revents of `fd` (POLLIN, POLLOUT, POLLHUP, POLLERR): the
  /// kernel's own readiness of the file, with no epoll involved.
  short readiness(int fd) const;
  /// Every number the pool has used in this input, in order of first use.
  const std::vector<int>& numbers() const { return numbers_; }

 private:
  void add(int fd, Kind kind, int peer);
  bool room(std::size_t extra) const { return open_.size() + extra <= kMaxOpen; }
  int open_new(NewFile what, int& other_end);

  std::map<int, File> open_;
  std::vector<int> numbers_;
  std::uint64_t next_serial_ = 1;
};

/// True for the kinds epoll accepts.
constexpr bool pollable(Kind kind) {
  return kind == Kind::PipeRead || kind == Kind::PipeWrite || kind == Kind::Socket;
}

}  // namespace eventwatcher::fuzz
