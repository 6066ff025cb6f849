package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.awaitQuietly;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static io.eventwatcher.TestSupport.onLoop;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.eventwatcher.TestSupport.BlockingCall;
import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Pipe;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * unwatch and unwatchAll are synchronous, from any thread and from callbacks: when they return, the
 * callback is not running and is never called again, even for events already fetched in the current
 * batch.
 */
class UnwatchTest {
  @Test
  void fromAnotherThreadWaitsForTheRunningCallback() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean inside = new AtomicBoolean();
      AtomicInteger calls = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            inside.set(true);
            if (calls.incrementAndGet() == 1) {
              entered.countDown();
              awaitQuietly(release);
            }
            inside.set(false);
          });
      await(entered, "the callback");

      // Once the unwatcher is seen parked inside unwatch() (the loop is busy in the callback, so
      // nothing can end that wait), an unwatch that did not wait for the callback would have
      // returned.
      BlockingCall unwatch =
          new BlockingCall("unwatcher", "unwatch", () -> watcher.unwatch(pipe.r, WatchFlag.READ));
      unwatch.awaitParked();
      assertFalse(unwatch.hasReturned(), "unwatch returned while its callback was still running");
      release.countDown();
      unwatch.awaitReturn();
      assertFalse(inside.get(), "the callback was still running when unwatch returned");
      int callsAtReturn = calls.get();
      flushTurns(watcher);
      assertEquals(callsAtReturn, calls.get(), "called after unwatch returned");
    }
  }

  @Test
  void fromAnotherThreadNoCallAfterReturnUnderChurn() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      AtomicInteger lateCalls = new AtomicInteger();
      for (int i = 0; i < 200; i++) {
        try (Pipe pipe = new Pipe()) {
          pipe.fill();
          AtomicBoolean unwatched = new AtomicBoolean();
          AtomicInteger calls = new AtomicInteger();
          watcher.watch(
              pipe.r,
              WatchFlag.READ,
              fd -> {
                if (unwatched.get()) lateCalls.incrementAndGet();
                calls.incrementAndGet();
              });
          eventually(() -> calls.get() > 0, "the callback");
          watcher.unwatch(pipe.r, WatchFlag.READ);
          unwatched.set(true);
        }
      }
      flushTurns(watcher);
      assertEquals(0, lateCalls.get(), "callbacks ran after their unwatch returned");
    }
  }

  /**
   * Both pipes are made ready inside one task, so one epoll_wait fetches both events; whichever
   * callback runs first unwatches the other, whose fetched event must be dropped.
   */
  @Test
  void insideCallbackDropsEventsOfTheSameBatch() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe first = new Pipe();
        Pipe second = new Pipe()) {
      AtomicInteger calls = new AtomicInteger();
      WatchCallback unwatchBoth =
          fd -> {
            calls.incrementAndGet();
            watcher.unwatch(first.r, WatchFlag.READ);
            watcher.unwatch(second.r, WatchFlag.READ);
          };
      onLoop(
          watcher,
          () -> {
            watcher.watch(first.r, WatchFlag.READ, unwatchBoth);
            watcher.watch(second.r, WatchFlag.READ, unwatchBoth);
            first.fill();
            second.fill();
          });
      eventually(() -> calls.get() > 0, "a callback");
      flushTurns(watcher, 5);
      assertEquals(1, calls.get(), "an event of an unwatched fd was delivered");
    }
  }

  @Test
  void callbackUnwatchingItselfIsCalledOnce() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      AtomicInteger calls = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            calls.incrementAndGet();
            watcher.unwatch(fd, WatchFlag.READ);
          });
      eventually(() -> calls.get() == 1, "the callback");
      flushTurns(watcher, 5);
      assertEquals(1, calls.get());
    }
  }

  @Test
  void unwatchAllInsideCallbackStopsTheRestOfTheBatch() throws Exception {
    List<Pipe> pipes = new ArrayList<>();
    try (EventWatcher watcher = new EventWatcher()) {
      for (int i = 0; i < 4; i++) pipes.add(new Pipe());
      AtomicInteger calls = new AtomicInteger();
      onLoop(
          watcher,
          () -> {
            for (Pipe pipe : pipes) {
              watcher.watch(
                  pipe.r,
                  WatchFlag.READ,
                  fd -> {
                    calls.incrementAndGet();
                    watcher.unwatchAll();
                  });
              pipe.fill();
            }
          });
      eventually(() -> calls.get() > 0, "a callback");
      flushTurns(watcher, 5);
      assertEquals(1, calls.get(), "callbacks ran after unwatchAll");
    } finally {
      for (Pipe pipe : pipes) pipe.close();
    }
  }

  @Test
  void unwatchAllFromAnotherThread() throws Exception {
    List<Pipe> pipes = new ArrayList<>();
    try (EventWatcher watcher = new EventWatcher()) {
      AtomicBoolean unwatched = new AtomicBoolean();
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger lateCalls = new AtomicInteger();
      for (int i = 0; i < 8; i++) {
        Pipe pipe = new Pipe();
        pipes.add(pipe);
        pipe.fill();
        watcher.watch(
            pipe.r,
            WatchFlag.READ,
            fd -> {
              if (unwatched.get()) lateCalls.incrementAndGet();
              calls.incrementAndGet();
            });
      }
      eventually(() -> calls.get() >= 16, "the callbacks");
      watcher.unwatchAll();
      unwatched.set(true);
      flushTurns(watcher);
      assertEquals(0, lateCalls.get(), "callbacks ran after unwatchAll returned");
      // The fds can be watched again afterwards.
      Counter again = new Counter();
      watcher.watch(pipes.get(0).r, WatchFlag.READ, again);
      eventually(() -> again.calls() > 0, "a callback registered after unwatchAll");
      watcher.unwatchAll();
    } finally {
      for (Pipe pipe : pipes) pipe.close();
    }
  }

  @Test
  void callbackCanWatchAnotherFd() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe trigger = new Pipe();
        Pipe target = new Pipe()) {
      target.fill();
      Counter targetCalls = new Counter();
      watcher.watch(
          trigger.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            watcher.watch(target.r, WatchFlag.READ, targetCalls);
          });
      trigger.fill();
      eventually(() -> targetCalls.calls() > 0, "the callback registered by a callback");
      watcher.unwatchAll();
    }
  }

  @Test
  void unwatchOfUnwatchedFdIsANoOp() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      assertDoesNotThrow(() -> watcher.unwatch(pipe.r, WatchFlag.READ));
      assertDoesNotThrow(() -> watcher.unwatch(12345, WatchFlag.WRITE));
      Counter counter = new Counter();
      watcher.watch(pipe.r, WatchFlag.READ, counter);
      assertDoesNotThrow(() -> watcher.unwatch(pipe.r, WatchFlag.WRITE)); // the other flag
      pipe.fill();
      eventually(() -> counter.calls() > 0, "READ still registered");
      watcher.unwatch(pipe.r, WatchFlag.READ);
      assertDoesNotThrow(() -> watcher.unwatch(pipe.r, WatchFlag.READ)); // twice
    }
  }

  @Test
  void unwatchOfAnFdClosedMeanwhileStillRemovesTheRegistration() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      Counter counter = new Counter();
      watcher.watch(pipe.r, WatchFlag.READ, counter);
      eventually(() -> counter.calls() > 0, "the callback");
      onLoop(watcher, pipe::closeRead); // between turns: the kernel drops the epoll entry
      assertDoesNotThrow(() -> watcher.unwatch(pipe.r, WatchFlag.READ));
    }
  }
}
