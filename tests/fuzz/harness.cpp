#include "harness.hpp"

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace eventwatcher::fuzz {

ModelCallback::ModelCallback(Harness& harness, std::uint64_t id, int fd, WatchFlag flag,
                             std::shared_ptr<const Op> then)
    : id(id), fd(fd), flag(flag), then(std::move(then)), harness_(harness) {
  ++harness_.live_callbacks;
}

ModelCallback::~ModelCallback() {
  harness_.on_callback_destroyed(*this);
}

void ModelCallback::run(int called_fd) {
  harness_.on_callback(*this, called_fd);
}

Harness::Harness() {
  Options options;
  options.start_thread = false;
  options.max_events = kMaxEvents;
  options.epoll_wait = [this](int epoll_fd, epoll_event* events, int max, int timeout) {
    return on_wait(epoll_fd, events, max, timeout);
  };
  options.error_handler = [this](std::exception_ptr error, int fd) { on_error(error, fd); };
  watcher_.emplace(std::move(options));
}

// Ends the input: the Driver (running the queued tasks) if there is one,
// then the watcher, whose callbacks and tasks must all be gone with it.
Harness::~Harness() {
  if (driver_) toggle_driver();
  model_.watcher_ending();
  watcher_.reset();
  if (live_callbacks != 0) violation("%d callbacks outlived the watcher", live_callbacks);
  if (live_tasks_ != 0) violation("%d tasks outlived the watcher", live_tasks_);
  files_.close_all();
}

void Harness::run(Decoder& input) {
  for (int i = 0; i < kMaxOps && !input.done(); ++i) {
    perform(input.next(), Context{});
    if (watcher_->inEventWatcherLoop() != driver_.has_value()) {
      violation("inEventWatcherLoop() is %s at the top level", driver_ ? "false" : "true");
    }
  }
}

int Harness::resolve_fd(const Op& op, const Context& context) const {
  const std::uint8_t target = op.target;
  if (target >= 0xf8) return -1;  // an invalid argument
  if (op.code == Code::Replace && target >= 0xe0) return kHighNumbers[target % 3];
  if (context.callback != nullptr && target >= 0xc0) return context.callback->fd;
  const std::vector<int>& numbers = files_.numbers();
  if (numbers.empty()) return kNoFd;
  return numbers[target % numbers.size()];
}

WatchFlag Harness::resolve_flag(const Op& op, const Context& context) {
  const WatchFlag own = context.callback != nullptr ? context.callback->flag : WatchFlag::Read;
  switch (op.flag % 4) {
    case 0:
      return WatchFlag::Read;
    case 1:
      return WatchFlag::Write;
    case 2:
      return own;
    default:
      return own == WatchFlag::Read ? WatchFlag::Write : WatchFlag::Read;
  }
}

void Harness::perform(const Op& op, const Context& context) {
  const int fd = resolve_fd(op, context);
  const WatchFlag flag = resolve_flag(op, context);
  const int depth = context.depth;
  switch (op.code) {
    case Code::NewPipe:
      note(depth, "new pipe: %s", files_.open_pipe() ? "opened" : "pool full");
      return;
    case Code::NewSocketPair:
      note(depth, "new socketpair: %s", files_.open_socket_pair() ? "opened" : "pool full");
      return;
    case Code::Watch:
      return watch(op, fd, flag, depth);
    case Code::Post:
      return post(op, depth);
    case Code::Turn:
      if (depth == 0) turn();
      return;
    case Code::ToggleDriver:
      if (depth == 0) toggle_driver();
      return;
    case Code::Stop:
      note(depth, "stop()");
      model_.stop();
      watcher_->stop();
      return;
    case Code::Throw:
      if (depth == 0) return;
      note(depth, "throw");
      model_.error_thrown(context.callback != nullptr ? context.callback->fd : -1);
      throw Thrown{};
    case Code::UnwatchAll:
      return registry_op(op, -1, flag, depth);
    case Code::Unwatch:
    case Code::Suspend:
    case Code::Resume:
      if (fd != kNoFd) registry_op(op, fd, flag, depth);
      return;
    default:
      if (fd >= 0) file_op(op, fd, depth);
      return;
  }
}

// Calls `call` and checks its outcome: `expected` is 0 (returns), an errno
// (std::system_error of the system category with that code) or kInvalidArgument.
template <typename Call>
void Harness::expect(int depth, const char* what, int fd, WatchFlag flag, int expected,
                     Call&& call) {
  note(depth, "%s(%d, %s): expect %s", what, fd, name(flag),
       expected == 0                  ? "success"
       : expected == kInvalidArgument ? "invalid_argument"
                                      : std::strerror(expected));
  int actual = 0;
  std::string message;
  try {
    call();
  } catch (const std::system_error& error) {
    actual =
        error.code().category() == std::system_category() ? error.code().value() : kOtherException;
    message = error.what();
  } catch (const std::invalid_argument& error) {
    actual = kInvalidArgument;
    message = error.what();
  } catch (...) {
    actual = kOtherException;
  }
  if (actual != expected) {
    violation("%s(%d, %s) ended with %d (%s), expected %d", what, fd, name(flag), actual,
              message.c_str(), expected);
  }
  if (actual > 0 && message.find("fd " + std::to_string(fd)) == std::string::npos) {
    violation("%s(%d, %s) threw \"%s\", which does not name the fd", what, fd, name(flag),
              message.c_str());
  }
}

void Harness::registry_op(const Op& op, int fd, WatchFlag flag, int depth) {
  EventWatcher& watcher = *watcher_;
  switch (op.code) {
    case Code::Unwatch:
      return expect(depth, "unwatch", fd, flag,
                    fd < 0 ? kInvalidArgument : model_.unwatch(fd, flag),
                    [&] { watcher.unwatch(fd, flag); });
    case Code::Suspend:
      return expect(depth, "suspend", fd, flag,
                    fd < 0 ? kInvalidArgument : model_.suspend(fd, flag),
                    [&] { watcher.suspend(fd, flag); });
    case Code::Resume:
      return expect(depth, "resume", fd, flag, fd < 0 ? kInvalidArgument : model_.resume(fd, flag),
                    [&] { watcher.resume(fd, flag); });
    default:
      model_.unwatch_all();
      return expect(depth, "unwatchAll", -1, flag, 0, [&] { watcher.unwatchAll(); });
  }
}

void Harness::watch(const Op& op, int fd, WatchFlag flag, int depth) {
  if (fd == kNoFd) return;
  EventWatcher& watcher = *watcher_;
  const int variant = op.kind % 8;
  if (variant == 7) {
    return expect(depth, "watch null", fd, flag, kInvalidArgument,
                  [&] { watcher.watch(fd, flag, IWatchCallbackPtr{}); });
  }
  if (variant == 6) {
    return expect(depth, "watch empty", fd, flag, kInvalidArgument,
                  [&] { watcher.watch(fd, flag, std::function<void(int)>{}); });
  }
  auto callback = std::make_shared<ModelCallback>(*this, next_callback_++, fd, flag, op.then);
  const int expected = fd < 0 ? kInvalidArgument : model_.watch(fd, flag, callback->id);
  note(depth, "callback #%llu", static_cast<unsigned long long>(callback->id));
  if (variant % 2 == 0) {
    return expect(depth, "watch", fd, flag, expected,
                  [&] { watcher.watch(fd, flag, IWatchCallbackPtr(callback)); });
  }
  expect(depth, "watch function", fd, flag, expected, [&] {
    watcher.watch(fd, flag, std::function<void(int)>([callback](int fd) { callback->run(fd); }));
  });
}

void Harness::post(const Op& op, int depth) {
  if (op.kind % 8 == 7) {
    return expect(depth, "post empty", -1, WatchFlag::Read, kInvalidArgument,
                  [&] { watcher_->runInEventWatcherLoop(WatchCallback{}); });
  }
  const std::uint64_t sequence = model_.post();
  note(depth, "post task #%llu", static_cast<unsigned long long>(sequence));
  auto life = std::make_shared<TaskLife>(live_tasks_);
  try {
    watcher_->runInEventWatcherLoop(
        [this, sequence, then = op.then, life] { on_task(sequence, then); });
  } catch (...) {
    violation("runInEventWatcherLoop threw");
  }
}

void Harness::file_op(const Op& op, int fd, int depth) {
  switch (op.code) {
    case Code::Feed:
      note(depth, "feed %d", fd);
      return files_.feed(fd);
    case Code::Drain:
      note(depth, "drain %d", fd);
      return files_.drain(fd);
    case Code::Fill:
      note(depth, "fill %d", fd);
      return files_.fill(fd);
    case Code::Close:
      note(depth, "close %d%s", fd, files_.at(fd) ? "" : " (not open)");
      model_.closing(fd);
      return files_.close(fd);
    default: {
      const auto what = static_cast<NewFile>(op.kind % static_cast<int>(NewFile::Count));
      static const char* const names[] = {"pipe read end", "pipe write end", "socket",
                                          "/dev/null",     "regular file",   "directory"};
      const bool held = files_.at(fd) != nullptr;
      const bool done = files_.replace(fd, what);
      if (done && held) model_.closing(fd);  // dup3 closed the file that was there
      note(depth, "replace %d by a %s: %s", fd, names[static_cast<int>(what)],
           done ? "done" : "skipped");
    }
  }
}

}  // namespace eventwatcher::fuzz
