package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.blockedInEpollWait;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.idleWindow;
import static io.eventwatcher.TestSupport.schedStat;
import static io.eventwatcher.TestSupport.sync;
import static io.eventwatcher.TestSupport.taskNamed;
import static io.eventwatcher.TestSupport.uniqueThreadName;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.eventwatcher.TestSupport.Pipe;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Semantic 5: no busy wait and no polling timeout. The loop thread is found in /proc/self/task by
 * its name; "blocked" means sleeping in epoll_wait, "no wakeup" an unchanged schedstat (CPU time
 * and number of times scheduled).
 */
class WakeupTest {
  @Test
  void idleLoopSleepsInEpollWaitAndNeverWakes() throws Exception {
    String name = uniqueThreadName("ew-idle");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build();
        Pipe pipe = new Pipe()) {
      // Some registrations, none ready: still nothing to do.
      watcher.watch(pipe.r, WatchFlag.READ, fd -> {});
      watcher.watch(pipe.w, WatchFlag.READ, fd -> {});
      sync(watcher);
      Path loop = taskNamed(name);
      eventually(() -> blockedInEpollWait(loop), "the loop to block in epoll_wait");
      String before = schedStat(loop);
      idleWindow();
      assertEquals(before, schedStat(loop), "an idle loop woke up");
      watcher.unwatchAll();
    }
  }

  @Test
  void watchFromAnotherThreadIsPickedUpAtOnceByABlockedLoop() throws Exception {
    String name = uniqueThreadName("ew-pickup");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build();
        Pipe pipe = new Pipe()) {
      sync(watcher);
      Path loop = taskNamed(name);
      eventually(() -> blockedInEpollWait(loop), "the loop to block in epoll_wait");
      pipe.fill();
      CompletableFuture<Void> called = new CompletableFuture<>();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> called.complete(null));
      await(called, "the callback of a watch made while the loop slept");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }
}
