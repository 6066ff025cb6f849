// A watched fd closed without unwatch, and its number reused: what the
// header's "Closing fds" paragraph promises, case by case.
#include "test_support.hpp"

#include <vector>

#include <sys/stat.h>
#include <cerrno>
#include <cstdio>

namespace eventwatcher::test {
namespace {

// Puts a fresh pipe's read end on the number `fd` (as a reusing open would).
Pipe reuse_number(int fd) {
  Pipe fresh;
  if (fresh.r() == fd) return fresh;  // the kernel handed out the freed number
  if (fresh.w() == fd) fresh.write_end.reset(::fcntl(fd, F_DUPFD_CLOEXEC, 0));  // move it aside
  EXPECT_EQ(::dup3(fresh.r(), fd, O_CLOEXEC), fd);
  fresh.read_end.reset(fd);
  return fresh;
}

// Puts `file` (an open fd, taken over) on the number `fd`.
Fd put_on_number(Fd file, int fd) {
  if (file.get() == fd) return file;
  EXPECT_EQ(::dup3(file.get(), fd, O_CLOEXEC), fd);
  return Fd(fd);
}

// Files epoll refuses: its MOD and DEL on the reused number answer EPERM.
std::vector<Fd> unpollable_files() {
  std::vector<Fd> files;
  files.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::FILE* temporary = std::tmpfile();
  files.emplace_back(::dup(::fileno(temporary)));
  std::fclose(temporary);
  files.emplace_back(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (const Fd& file : files) EXPECT_GE(file.get(), 0);
  return files;
}

// Watches a fresh pipe's read end for Read and Write, then closes it without
// unwatch and puts `file` on its number. Returns the number.
int watched_then_replaced_by(EventWatcher& watcher, Fd file, Fd& holder) {
  Pipe pipe;
  const int fd = pipe.r();
  watcher.watch(fd, WatchFlag::Read, [](int) {});
  watcher.watch(fd, WatchFlag::Write, [](int) {});
  pipe.read_end.release();
  ::close(fd);  // caller bug on purpose
  holder = put_on_number(std::move(file), fd);
  return fd;
}

TEST(FdReuse, NumberReusedByAnUnpollableFileIsUnwatchedWithoutError) {
  for (Fd& file : unpollable_files()) {
    EventWatcher watcher;
    Fd holder;
    const int fd = watched_then_replaced_by(watcher, std::move(file), holder);
    EXPECT_NO_THROW(watcher.unwatch(fd, WatchFlag::Read));
    // The file is gone, so both registrations went with the first unwatch:
    // resume of either reports ENOENT, as for any unregistered (fd, flag).
    try {
      watcher.resume(fd, WatchFlag::Write);
      ADD_FAILURE() << "resume of a removed registration did not throw";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ENOENT) << error.what();
    }
    EXPECT_NO_THROW(watcher.unwatch(fd, WatchFlag::Write));
  }
}

TEST(FdReuse, SuspendResumeAndUnwatchAllOfANumberReusedByAnUnpollableFile) {
  for (Fd& file : unpollable_files()) {
    EventWatcher watcher;
    Fd holder;
    const int fd = watched_then_replaced_by(watcher, Fd(::dup(file.get())), holder);
    EXPECT_NO_THROW(watcher.suspend(fd, WatchFlag::Read)) << "removes instead";
    try {
      watcher.resume(fd, WatchFlag::Read);
      ADD_FAILURE() << "resume after close and reuse did not throw";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), ENOENT) << error.what();
    }
    holder.reset();
    const int again = watched_then_replaced_by(watcher, std::move(file), holder);
    EXPECT_NO_THROW(watcher.unwatchAll());
    // A watch of the number now reports the file's own refusal, and the old
    // registrations are gone, not left behind.
    try {
      watcher.watch(again, WatchFlag::Read, [](int) {});
      ADD_FAILURE() << "epoll accepted an unpollable file";
    } catch (const std::system_error& error) {
      EXPECT_EQ(error.code().value(), EPERM) << error.what();
    }
    EXPECT_NO_THROW(watcher.unwatch(again, WatchFlag::Write));
  }
}

TEST(FdReuse, WatchOfANumberReusedByAnUnpollableFileFailsAndDropsTheOldRegistrations) {
  EventWatcher watcher;
  Fd holder;
  const int fd =
      watched_then_replaced_by(watcher, Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)), holder);
  EXPECT_THROW(watcher.watch(fd, WatchFlag::Read, [](int) {}), std::system_error);
  holder.reset();
  Pipe fresh = reuse_number(fd);
  Counter calls;
  watcher.watch(fd, WatchFlag::Read, calls.callback());
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return calls.calls > 0; }));
  watcher.unwatchAll();
}

TEST(FdReuse, NewWatchOnReusedNumberWorks) {
  EventWatcher watcher;
  Pipe old_pipe;
  old_pipe.fill();
  std::atomic<bool> rewatched{false};
  std::atomic<int> late_old_calls{0};
  std::atomic<int> old_calls{0};
  const int fd = old_pipe.r();
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    if (rewatched) ++late_old_calls;
    ++old_calls;
  });
  ASSERT_TRUE(eventually([&] { return old_calls > 0; }));
  old_pipe.read_end.release();  // closed below without unwatch: a caller bug
  ::close(fd);
  Pipe fresh = reuse_number(fd);
  Counter fresh_calls;
  watcher.watch(fd, WatchFlag::Read, fresh_calls.callback());
  rewatched = true;
  flush_turns(watcher);
  EXPECT_EQ(fresh_calls.calls, 0) << "the new pipe is empty";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  EXPECT_EQ(late_old_calls, 0);
  watcher.unwatch(fd, WatchFlag::Read);
}

// A dup keeps the old file alive, so the kernel keeps reporting the old
// epoll entry (with the old generation) after the number was reused.
TEST(FdReuse, StaleKernelEntryOfADupNeverReachesTheNewCallback) {
  EventWatcher watcher;
  Pipe old_pipe;
  old_pipe.fill();
  const int fd = old_pipe.r();
  Fd keep_alive(::dup(fd));
  ASSERT_GE(keep_alive.get(), 0);
  std::atomic<bool> rewatched{false};
  std::atomic<int> late_old_calls{0};
  watcher.watch(fd, WatchFlag::Read, [&](int) {
    if (rewatched) ++late_old_calls;
  });
  old_pipe.read_end.release();
  ::close(fd);
  Pipe fresh = reuse_number(fd);
  Counter fresh_calls;
  watcher.watch(fd, WatchFlag::Read, fresh_calls.callback());
  rewatched = true;
  flush_turns(watcher, 5);  // the stale entry fires on each of these turns
  EXPECT_EQ(fresh_calls.calls, 0) << "an event of the old file reached the new callback";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  EXPECT_EQ(late_old_calls, 0);
  watcher.unwatch(fd, WatchFlag::Read);
  keep_alive.reset();  // releases the old file and its stale entry
}

// What the header says happens when the number is reused by a file that is
// not watched while a dup keeps the old file open: the old file's events
// reach the old callback, with the old number, until it is unwatched.
TEST(FdReuse, ADupKeepsTheOldFileReportingToTheOldCallbackUntilUnwatched) {
  EventWatcher watcher;
  Pipe old_pipe;
  const int fd = old_pipe.r();
  Fd keep_alive(::dup(fd));
  ASSERT_GE(keep_alive.get(), 0);
  std::promise<void> reported;
  std::atomic<int> calls{0};
  std::atomic<bool> unwatched{false};
  std::atomic<int> calls_after_unwatch{0};
  watcher.watch(fd, WatchFlag::Read, [&](int called_with) {
    EXPECT_EQ(called_with, fd);
    if (unwatched) ++calls_after_unwatch;
    if (++calls == 3) reported.set_value();
  });
  old_pipe.read_end.release();
  ::close(fd);
  Pipe unrelated = reuse_number(fd);  // never watched
  old_pipe.fill();                    // the old file becomes ready, through the dup
  auto future = reported.get_future();
  ASSERT_TRUE(ready(future)) << "the old file's events did not reach the old callback";
  EXPECT_NO_THROW(watcher.unwatch(fd, WatchFlag::Read));
  unwatched = true;
  flush_turns(watcher, 5);  // the stale entry still fires: dropped on each turn
  EXPECT_EQ(calls_after_unwatch, 0);
  unrelated.fill();
  EXPECT_EQ(unrelated.drain(), 1u) << "the unrelated file's data was consumed";
  keep_alive.reset();
}

// The number is closed and reused inside a callback while the old fd's event
// already sits in the same batch.
TEST(FdReuse, ReuseInsideABatchDropsTheFetchedEvent) {
  EventWatcher watcher;
  Pipe first;
  Pipe second;
  std::atomic<int> old_calls{0};
  Counter fresh_calls;
  Pipe fresh;  // becomes the replacement of whichever pipe loses the race
  auto replace_the_other = [&](int fd) {
    ++old_calls;
    const int other = fd == first.r() ? second.r() : first.r();
    Pipe& victim = fd == first.r() ? second : first;
    // Caller bug on purpose: close without unwatch, then reuse the number.
    victim.read_end.release();
    ::close(other);
    fresh = reuse_number(other);
    watcher.watch(other, WatchFlag::Read, fresh_calls.callback());
    watcher.unwatch(fd, WatchFlag::Read);
  };
  on_loop(watcher, [&] {
    watcher.watch(first.r(), WatchFlag::Read, replace_the_other);
    watcher.watch(second.r(), WatchFlag::Read, replace_the_other);
    first.fill();
    second.fill();
  });
  ASSERT_TRUE(eventually([&] { return old_calls > 0; }));
  flush_turns(watcher, 5);
  EXPECT_EQ(old_calls, 1);
  EXPECT_EQ(fresh_calls.calls, 0) << "the fresh pipe is empty";
  fresh.fill();
  EXPECT_TRUE(eventually([&] { return fresh_calls.calls > 0; }));
  watcher.unwatchAll();
}

}  // namespace
}  // namespace eventwatcher::test
