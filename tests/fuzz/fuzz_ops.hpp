// The operations of the core fuzzer, and how the input bytes encode them.
//
// Encoding. An input is a sequence of operations of four bytes each: code,
// target, flag, kind (a missing byte reads as 0). A Watch or Post is followed
// by the encoding of the operation its callback or task performs each time it
// is called (nested at most two deep; deeper ones perform nothing).
// tests/fuzz/make_corpus.py writes the seed corpus with this encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace eventwatcher::fuzz {

/// What an operation does. Turn and ToggleDriver are top-level only; nested
/// in a callback or task they do nothing.
enum class Code : std::uint8_t {
  NewPipe,        ///< open a non-blocking pipe (both ends join the pool)
  NewSocketPair,  ///< open a non-blocking AF_UNIX stream socketpair
  Watch,          ///< watch(target, flag, a callback performing `then`)
  Unwatch,        ///< unwatch(target, flag)
  UnwatchAll,     ///< unwatchAll()
  Suspend,        ///< suspend(target, flag)
  Resume,         ///< resume(target, flag)
  Post,           ///< runInEventWatcherLoop(a task performing `then`)
  Feed,           ///< write a byte into the target's peer: the target becomes readable
  Drain,          ///< read the target until EAGAIN or EOF: not readable any more
  Fill,           ///< write into the target until EAGAIN: not writable any more
  Close,          ///< close the target, watched or not (no unwatch)
  Replace,        ///< put a new file of `kind` on the target's number (closing it)
  Turn,           ///< one Driver::turn()
  Stop,           ///< stop()
  ToggleDriver,   ///< destroy the Driver (runs queued tasks), or create one
  Throw,          ///< in a callback or task: throw, for the error handler
  Count,          ///< number of codes
};

/// What Replace puts on the number.
enum class NewFile : std::uint8_t {
  PipeRead,   ///< a new pipe's read end (the write end joins the pool)
  PipeWrite,  ///< a new pipe's write end (the read end joins the pool)
  Socket,     ///< one end of a new socketpair (the other joins the pool)
  DevNull,    ///< /dev/null: epoll refuses it (EPERM)
  Regular,    ///< an unlinked regular file: epoll refuses it (EPERM)
  Directory,  ///< "/": epoll refuses it (EPERM)
  Count,
};

/// One decoded operation. `target` and `flag` are resolved when it runs (the
/// pool changes meanwhile): see Harness::resolve_fd and resolve_flag.
struct Op {
  Code code = Code::Turn;
  std::uint8_t target = 0;         ///< which fd number
  std::uint8_t flag = 0;           ///< 0 Read, 1 Write, 2 the caller's own flag, 3 the other one
  std::uint8_t kind = 0;           ///< Replace: NewFile; Watch/Post: overload or invalid argument
  std::shared_ptr<const Op> then;  ///< Watch/Post: what the callback or task performs
};

/// Reads operations off the input bytes.
class Decoder {
 public:
  Decoder(const std::uint8_t* data, std::size_t size) noexcept : data_(data), size_(size) {}

  /// True once every byte is consumed.
  bool done() const noexcept { return at_ >= size_; }

  /// Decodes the next operation; `depth` is its nesting (0: top level).
  Op next(int depth = 0) {
    Op op;
    op.code = static_cast<Code>(byte() % static_cast<std::uint8_t>(Code::Count));
    op.target = byte();
    op.flag = byte();
    op.kind = byte();
    if ((op.code == Code::Watch || op.code == Code::Post) && depth < kMaxDepth) {
      op.then = std::make_shared<const Op>(next(depth + 1));
    }
    return op;
  }

 private:
  static constexpr int kMaxDepth = 2;

  std::uint8_t byte() noexcept { return at_ < size_ ? data_[at_++] : 0; }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

}  // namespace eventwatcher::fuzz
