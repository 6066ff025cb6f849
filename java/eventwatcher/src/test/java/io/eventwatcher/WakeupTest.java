package io.eventwatcher;

import static io.eventwatcher.TestSupport.asleepInEpollWaitWithoutTimeout;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.sync;
import static io.eventwatcher.TestSupport.systemCallVisible;
import static io.eventwatcher.TestSupport.taskNamed;
import static io.eventwatcher.TestSupport.uniqueThreadName;

import io.eventwatcher.TestSupport.Pipe;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The loop thread waits in epoll_wait with no timeout, so an idle watcher makes no wakeups and does
 * not busy-wait, and a call from another thread wakes it. The loop thread is found in
 * /proc/self/task by its name; "asleep without timeout" is read from its state and its system
 * call's arguments there ({@link TestSupport#asleepInEpollWaitWithoutTimeout}).
 */
class WakeupTest {
  @Test
  void idleLoopSleepsInEpollWaitWithoutTimeout() throws Exception {
    String name = uniqueThreadName("ew-idle");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build();
        Pipe pipe = new Pipe()) {
      // Some registrations, none ready: still nothing to do.
      watcher.watch(pipe.r, WatchFlag.READ, fd -> {});
      watcher.watch(pipe.w, WatchFlag.READ, fd -> {});
      sync(watcher);
      Path loop = taskNamed(name);
      Assumptions.assumeTrue(
          systemCallVisible(loop),
          "the kernel does not show the loop's system call: its timeout cannot be seen");
      eventually(
          () -> asleepInEpollWaitWithoutTimeout(loop),
          "the idle loop to sleep in epoll_wait with no timeout");
      watcher.unwatchAll();
    }
  }

  @Test
  void watchFromAnotherThreadWakesALoopAsleepWithoutTimeout() throws Exception {
    String name = uniqueThreadName("ew-pickup");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build();
        Pipe pipe = new Pipe()) {
      sync(watcher);
      Path loop = taskNamed(name);
      eventually(
          () -> asleepInEpollWaitWithoutTimeout(loop),
          "the loop to sleep in epoll_wait with no timeout");
      pipe.fill();
      CompletableFuture<Void> called = new CompletableFuture<>();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> called.complete(null));
      await(called, "the callback of a watch made while the loop slept");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }
}
