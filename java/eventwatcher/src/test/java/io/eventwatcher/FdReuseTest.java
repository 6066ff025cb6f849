package io.eventwatcher;

import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static io.eventwatcher.TestSupport.onLoop;
import static io.eventwatcher.TestSupport.reuseNumber;
import static io.eventwatcher.TestSupport.signal;
import static io.eventwatcher.TestSupport.sync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Fds;
import io.eventwatcher.TestSupport.Pipe;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/**
 * A watched fd closed without unwatch (a caller bug) whose number is reused: a new watch of the
 * number starts clean, so no event of the old file reaches the new callback, nor is the old
 * callback called again. The new file is an eventfd put on the freed number (see {@link
 * TestSupport#reuseNumber}).
 */
class FdReuseTest {
  @Test
  void newWatchOnReusedNumberWorks() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe oldPipe = new Pipe();
        Fds fds = new Fds()) {
      oldPipe.fill();
      int fd = oldPipe.r;
      AtomicBoolean rewatched = new AtomicBoolean();
      AtomicInteger oldCalls = new AtomicInteger();
      AtomicInteger lateOldCalls = new AtomicInteger();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            if (rewatched.get()) lateOldCalls.incrementAndGet();
            oldCalls.incrementAndGet();
          });
      eventually(() -> oldCalls.get() > 0, "the old callback");
      oldPipe.closeRead(); // without unwatch: a caller bug
      int fresh = fds.add(reuseNumber(fd));
      Counter freshCalls = new Counter();
      watcher.watch(fresh, WatchFlag.READ, freshCalls);
      rewatched.set(true);
      flushTurns(watcher);
      assertEquals(0, freshCalls.calls(), "the new eventfd is not readable yet");
      signal(fresh, 1);
      eventually(() -> freshCalls.calls() > 0, "the new callback");
      flushTurns(watcher);
      assertEquals(
          0, lateOldCalls.get(), "the old callback was called after the number was reused");
      watcher.unwatch(fresh, WatchFlag.READ);
    }
  }

  @Test
  void otherFlagOfTheOldFileIsNotRevivedByANewWatch() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe oldPipe = new Pipe();
        Fds fds = new Fds()) {
      int fd = oldPipe.r;
      AtomicBoolean reused = new AtomicBoolean();
      AtomicInteger lateOldCalls = new AtomicInteger();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            if (reused.get()) lateOldCalls.incrementAndGet();
          });
      sync(watcher);
      oldPipe.closeRead();
      int fresh = fds.add(reuseNumber(fd));
      reused.set(true);
      // The new file is always writable; watching WRITE on it must not bring the old READ back.
      Counter freshWrites = new Counter();
      watcher.watch(fresh, WatchFlag.WRITE, freshWrites);
      signal(fresh, 1); // readable too
      eventually(() -> freshWrites.calls() >= 3, "the new WRITE callback");
      flushTurns(watcher);
      assertEquals(0, lateOldCalls.get(), "the old READ callback saw the new file");
      watcher.unwatch(fresh, WatchFlag.WRITE);
      watcher.unwatch(fresh, WatchFlag.READ);
    }
  }

  /**
   * The number is closed and reused inside a callback while the old file's event already sits in
   * the same batch.
   */
  @Test
  void reuseInsideABatchDropsTheFetchedEvent() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe first = new Pipe();
        Pipe second = new Pipe();
        Fds fds = new Fds()) {
      AtomicInteger oldCalls = new AtomicInteger();
      Counter freshCalls = new Counter();
      CompletableFuture<Integer> fresh = new CompletableFuture<>();
      WatchCallback replaceTheOther =
          fd -> {
            oldCalls.incrementAndGet();
            try {
              Pipe victim = fd == first.r ? second : first;
              // Caller bug on purpose: close without unwatch, then reuse the number.
              victim.closeRead();
              int reused = fds.add(reuseNumber(victim.r));
              watcher.watch(reused, WatchFlag.READ, freshCalls);
              fresh.complete(reused);
            } catch (Throwable e) {
              fresh.completeExceptionally(e); // a skip (number taken) or a failure
            }
            watcher.unwatch(fd, WatchFlag.READ);
          };
      onLoop(
          watcher,
          () -> {
            watcher.watch(first.r, WatchFlag.READ, replaceTheOther);
            watcher.watch(second.r, WatchFlag.READ, replaceTheOther);
            first.fill();
            second.fill();
          });
      int freshFd = awaitReuse(fresh);
      flushTurns(watcher, 5);
      assertEquals(1, oldCalls.get(), "the replaced callback got its fetched event");
      assertEquals(0, freshCalls.calls(), "the old file's event reached the new callback");
      onLoop(watcher, () -> signal(freshFd, 1));
      eventually(() -> freshCalls.calls() > 0, "the new callback");
      watcher.unwatchAll();
    }
  }

  /** The reused number, rethrowing a skip or failure of the callback on the test thread. */
  private static int awaitReuse(CompletableFuture<Integer> fresh) {
    try {
      return fresh.get(TestSupport.PATIENCE_MS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof TestAbortedException skip) throw skip;
      return fail("reusing the number failed", e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      return fail("no callback reused the number", e);
    }
  }
}
