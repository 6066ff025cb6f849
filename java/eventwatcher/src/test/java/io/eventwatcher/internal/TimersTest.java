package io.eventwatcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.EventWatcher;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Cancelled timers leave the loop's queue, whichever thread cancels them, so schedule-and-cancel
 * never grows it; a million pending timers fit and fire.
 */
class TimersTest {
  private static Reactor reactor(EventWatcher watcher) throws ReflectiveOperationException {
    Field field = EventWatcher.class.getDeclaredField("reactor");
    field.setAccessible(true);
    return (Reactor) field.get(watcher);
  }

  private static int pending(EventWatcher watcher) throws Exception {
    Reactor reactor = reactor(watcher);
    return watcher.submit(reactor::pendingTimers).get(10, TimeUnit.SECONDS);
  }

  @Test
  void timersCancelledFromAnotherThreadLeaveTheQueue() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      for (int round = 0; round < 10; round++) {
        List<ScheduledFuture<?>> futures = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
          futures.add(watcher.schedule(() -> {}, 1, TimeUnit.HOURS));
        }
        assertEquals(10_000, pending(watcher), "round " + round);
        for (ScheduledFuture<?> future : futures) assertTrue(future.cancel(false));
        assertEquals(0, pending(watcher), "round " + round + ": cancelled timers stayed");
      }
    }
  }

  @Test
  void timersCancelledOnTheLoopLeaveTheQueueAtOnce() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      Reactor reactor = reactor(watcher);
      CompletableFuture<int[]> sizes = new CompletableFuture<>();
      watcher.execute(
          () -> {
            List<ScheduledFuture<?>> futures = new ArrayList<>();
            for (int i = 0; i < 100_000; i++) {
              futures.add(watcher.schedule(() -> {}, i, TimeUnit.MILLISECONDS));
            }
            int before = reactor.pendingTimers();
            for (ScheduledFuture<?> future : futures) future.cancel(false);
            sizes.complete(new int[] {before, reactor.pendingTimers()});
          });
      int[] result = sizes.get(10, TimeUnit.SECONDS);
      assertEquals(100_000, result[0]);
      assertEquals(0, result[1]);
    }
  }

  @Test
  void aMillionPendingTimersAllFire() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      int count = 1_000_000;
      int[] fired = new int[1]; // loop thread only
      CompletableFuture<Integer> last = new CompletableFuture<>();
      for (int i = 0; i < count; i++) {
        watcher.schedule(
            () -> {
              if (++fired[0] == count) last.complete(fired[0]);
            },
            i % 50,
            TimeUnit.MILLISECONDS);
      }
      assertEquals(count, last.get(30, TimeUnit.SECONDS));
      assertEquals(0, pending(watcher));
    }
  }
}
