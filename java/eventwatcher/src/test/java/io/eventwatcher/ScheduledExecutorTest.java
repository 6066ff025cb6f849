package io.eventwatcher;

import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.asleepInEpollWaitWithoutTimeout;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.taskNamed;
import static io.eventwatcher.TestSupport.uniqueThreadName;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * EventWatcher as a ScheduledExecutorService: delayed and periodic tasks run on the loop thread,
 * never before their deadlines and in deadline order; futures report results, failures and cancels;
 * cancel works from any thread and from inside the task; the lifecycle methods behave as the
 * interface specifies, with pending timers never run after shutdown. Lower bounds on run times are
 * the contract (never early); nothing asserts that a run was prompt.
 */
class ScheduledExecutorTest {
  @Test
  void aDelayedTaskRunsOnTheLoopThreadNeverBeforeItsDeadline() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      long scheduled = System.nanoTime();
      ScheduledFuture<Thread> future =
          watcher.schedule(
              () -> {
                assertTrue(System.nanoTime() - scheduled >= TimeUnit.MILLISECONDS.toNanos(20));
                return Thread.currentThread();
              },
              20,
              TimeUnit.MILLISECONDS);
      assertTrue(future.getDelay(TimeUnit.MILLISECONDS) <= 20);
      assertSame(TestSupport.loopThread(watcher), future.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      assertTrue(future.isDone());
      assertFalse(future.isCancelled());
    }
  }

  @Test
  void timersRunInDeadlineOrderAndEqualDelaysInSchedulingOrder() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      ConcurrentLinkedQueue<Integer> order = new ConcurrentLinkedQueue<>();
      CountDownLatch all = new CountDownLatch(60);
      int[] delays = {30, 10, 20}; // ms; 20 timers each, interleaved
      TestSupport.onLoop(
          watcher,
          () -> {
            for (int i = 0; i < 60; i++) {
              int id = i;
              watcher.schedule(
                  () -> {
                    order.add(id);
                    all.countDown();
                  },
                  delays[i % 3],
                  TimeUnit.MILLISECONDS);
            }
          });
      await(all, "60 timers");
      List<Integer> expected = new ArrayList<>();
      for (int slot : new int[] {1, 2, 0}) {
        for (int i = slot; i < 60; i += 3) expected.add(i);
      }
      assertEquals(expected, new ArrayList<>(order));
    }
  }

  @Test
  void aCancelledTimerNeverRunsAndCancelIsIdempotent() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      AtomicInteger cancelledRuns = new AtomicInteger();
      ScheduledFuture<?> cancelled =
          watcher.schedule(cancelledRuns::incrementAndGet, 20, TimeUnit.MILLISECONDS);
      ScheduledFuture<String> later = watcher.schedule(() -> "later", 40, TimeUnit.MILLISECONDS);
      assertTrue(cancelled.cancel(false));
      assertFalse(cancelled.cancel(true), "a second cancel");
      assertTrue(cancelled.isCancelled());
      assertTrue(cancelled.isDone());
      assertThrows(CancellationException.class, cancelled::get);
      // The later timer ran, so the loop passed the cancelled one's deadline.
      assertEquals("later", later.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      assertEquals(0, cancelledRuns.get());
      assertFalse(later.cancel(false), "cancel after completion");
    }
  }

  @Test
  void aPeriodicTaskCancelledFromInsideStopsAndItsFutureSaysCancelled() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      AtomicInteger runs = new AtomicInteger();
      AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
      CountDownLatch scheduled = new CountDownLatch(1);
      CompletableFuture<Boolean> cancelResult = new CompletableFuture<>();
      self.set(
          watcher.scheduleAtFixedRate(
              () -> {
                TestSupport.awaitQuietly(scheduled);
                if (runs.incrementAndGet() == 3) cancelResult.complete(self.get().cancel(false));
              },
              1,
              1,
              TimeUnit.MILLISECONDS));
      scheduled.countDown();
      assertTrue(await(cancelResult, "the third run"));
      // A timer due after several more periods ran: the cancelled one had its chances.
      watcher.schedule(() -> {}, 10, TimeUnit.MILLISECONDS).get(PATIENCE_MS, TimeUnit.MILLISECONDS);
      assertEquals(3, runs.get());
      assertTrue(self.get().isCancelled());
    }
  }

  @Test
  void aPeriodicTaskCancelledFromAnotherThreadWhileItRunsRunsNoMore() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      AtomicInteger runs = new AtomicInteger();
      CountDownLatch running = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      ScheduledFuture<?> periodic =
          watcher.scheduleWithFixedDelay(
              () -> {
                runs.incrementAndGet();
                running.countDown();
                TestSupport.awaitQuietly(release);
              },
              0,
              1,
              TimeUnit.MILLISECONDS);
      await(running, "the first run");
      assertTrue(periodic.cancel(true)); // mayInterruptIfRunning is ignored: the loop is not hit
      release.countDown();
      watcher.schedule(() -> {}, 10, TimeUnit.MILLISECONDS).get(PATIENCE_MS, TimeUnit.MILLISECONDS);
      assertEquals(1, runs.get());
      assertFalse(TestSupport.loopThread(watcher).isInterrupted());
    }
  }

  @Test
  void fixedRateRunsAreDueAtMultiplesOfThePeriodAndFixedDelayAfterEachEnd() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      long period = TimeUnit.MILLISECONDS.toNanos(3);
      List<Long> rateStarts = new ArrayList<>();
      CountDownLatch rateDone = new CountDownLatch(1);
      long first = System.nanoTime() + period;
      ScheduledFuture<?> rate =
          watcher.scheduleAtFixedRate(
              () -> {
                rateStarts.add(System.nanoTime());
                if (rateStarts.size() == 10) rateDone.countDown();
              },
              3,
              3,
              TimeUnit.MILLISECONDS);
      await(rateDone, "10 fixed-rate runs");
      rate.cancel(false);
      for (int n = 0; n < 10; n++) {
        assertTrue(rateStarts.get(n) - first >= n * period, "fixed-rate run " + n + " early");
      }
      List<long[]> runs = new ArrayList<>(); // start, end
      CountDownLatch delayDone = new CountDownLatch(1);
      ScheduledFuture<?> delay =
          watcher.scheduleWithFixedDelay(
              () -> {
                long start = System.nanoTime();
                while (System.nanoTime() - start < 500_000) Thread.onSpinWait(); // a 0.5 ms run
                runs.add(new long[] {start, System.nanoTime()});
                if (runs.size() == 10) delayDone.countDown();
              },
              0,
              2,
              TimeUnit.MILLISECONDS);
      await(delayDone, "10 fixed-delay runs");
      delay.cancel(false);
      for (int n = 1; n < 10; n++) {
        assertTrue(
            runs.get(n)[0] - runs.get(n - 1)[1] >= TimeUnit.MILLISECONDS.toNanos(2),
            "fixed-delay run early");
      }
    }
  }

  @Test
  void whatATaskWithAFutureThrowsCompletesItAndAPeriodicTaskStops() throws Exception {
    List<Throwable> reported = new ArrayList<>();
    try (EventWatcher watcher =
        EventWatcher.builder().errorHandler((fd, e) -> reported.add(e)).build()) {
      Error boom = new StackOverflowError("boom");
      ScheduledFuture<?> once =
          watcher.schedule(
              () -> {
                throw boom;
              },
              1,
              TimeUnit.MILLISECONDS);
      ExecutionException failure =
          assertThrows(
              ExecutionException.class, () -> once.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      assertSame(boom, failure.getCause());
      AtomicInteger runs = new AtomicInteger();
      ScheduledFuture<?> periodic =
          watcher.scheduleAtFixedRate(
              () -> {
                if (runs.incrementAndGet() == 2) throw new IllegalStateException("second");
              },
              0,
              1,
              TimeUnit.MILLISECONDS);
      failure =
          assertThrows(
              ExecutionException.class, () -> periodic.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      assertInstanceOf(IllegalStateException.class, failure.getCause());
      Future<Integer> submitted = watcher.submit(() -> 42);
      assertEquals(42, submitted.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      watcher.schedule(() -> {}, 5, TimeUnit.MILLISECONDS).get(PATIENCE_MS, TimeUnit.MILLISECONDS);
      assertEquals(2, runs.get(), "a periodic task ran again after it threw");
      TestSupport.sync(watcher);
      assertTrue(reported.isEmpty(), () -> "reported to the handler: " + reported);
      // execute() has no future: its failures go to the handler.
      RuntimeException plain = new RuntimeException("plain");
      watcher.execute(
          () -> {
            throw plain;
          });
      TestSupport.sync(watcher);
      assertEquals(List.of(plain), reported);
    }
  }

  @Test
  void submitInvokeAllAndInvokeAnyRunOnTheLoopAndRefuseToBlockIt() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      Thread loop = TestSupport.loopThread(watcher);
      assertSame(loop, watcher.submit(Thread::currentThread).get());
      assertEquals("r", watcher.submit(() -> {}, "r").get());
      List<Callable<Integer>> tasks = List.of(() -> 1, () -> 2, () -> 3);
      List<Integer> results = new ArrayList<>();
      for (Future<Integer> f : watcher.invokeAll(tasks)) results.add(f.get());
      assertEquals(List.of(1, 2, 3), results);
      assertTrue(tasks.size() >= watcher.invokeAny(tasks));
      CompletableFuture<List<String>> onLoop = new CompletableFuture<>();
      watcher.execute(
          () -> {
            List<String> refused = new ArrayList<>();
            try {
              watcher.invokeAll(tasks);
            } catch (IllegalStateException | InterruptedException e) {
              refused.add("invokeAll");
            }
            try {
              watcher.invokeAny(tasks);
            } catch (IllegalStateException | InterruptedException | ExecutionException e) {
              refused.add("invokeAny");
            }
            try {
              watcher.schedule(() -> 1, 1, TimeUnit.SECONDS).get();
            } catch (IllegalStateException | InterruptedException | ExecutionException e) {
              refused.add("get");
            }
            try {
              watcher.awaitTermination(1, TimeUnit.SECONDS);
            } catch (IllegalStateException | InterruptedException e) {
              refused.add("awaitTermination");
            }
            onLoop.complete(refused);
          });
      assertEquals(
          List.of("invokeAll", "invokeAny", "get", "awaitTermination"), await(onLoop, "the task"));
    }
  }

  @Test
  void shutdownDoesNotWaitAndPendingTimersNeverRun() throws Exception {
    EventWatcher watcher = new EventWatcher();
    CountDownLatch blocking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger queuedRan = new AtomicInteger();
    watcher.execute(
        () -> {
          blocking.countDown();
          TestSupport.awaitQuietly(release);
        });
    await(blocking, "the blocking task");
    watcher.execute(queuedRan::incrementAndGet);
    AtomicInteger timerRuns = new AtomicInteger();
    ScheduledFuture<?> delayed = watcher.schedule(timerRuns::incrementAndGet, 0, TimeUnit.SECONDS);
    ScheduledFuture<?> periodic =
        watcher.scheduleAtFixedRate(timerRuns::incrementAndGet, 0, 1, TimeUnit.MILLISECONDS);
    watcher.shutdown(); // returns although the loop is stuck in a task
    assertTrue(watcher.isShutdown());
    assertFalse(watcher.isTerminated());
    assertFalse(watcher.awaitTermination(1, TimeUnit.MILLISECONDS));
    release.countDown();
    assertTrue(watcher.awaitTermination(PATIENCE_MS, TimeUnit.MILLISECONDS));
    assertTrue(watcher.isTerminated());
    assertEquals(1, queuedRan.get(), "a task queued before shutdown did not run");
    assertEquals(0, timerRuns.get(), "a timer ran after shutdown");
    assertTrue(delayed.isCancelled());
    assertTrue(periodic.isCancelled());
    assertThrows(CancellationException.class, delayed::get);
    watcher.close(); // still frees the native watcher; idempotent
    watcher.close();
  }

  @Test
  void shutdownNowReturnsTheTasksThatNeverRan() throws Exception {
    EventWatcher watcher = new EventWatcher();
    CountDownLatch blocking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    watcher.execute(
        () -> {
          blocking.countDown();
          TestSupport.awaitQuietly(release);
        });
    await(blocking, "the blocking task");
    AtomicInteger ran = new AtomicInteger();
    List<Runnable> queued = List.of(ran::incrementAndGet, ran::incrementAndGet, () -> {});
    for (Runnable task : queued) watcher.execute(task);
    Future<?> submitted = watcher.submit(ran::incrementAndGet);
    List<Runnable> never = watcher.shutdownNow();
    assertEquals(4, never.size());
    assertEquals(queued, never.subList(0, 3));
    assertSame(submitted, never.get(3));
    release.countDown();
    watcher.close();
    assertTrue(watcher.isTerminated());
    assertEquals(0, ran.get(), "a task returned by shutdownNow ran");
    assertFalse(submitted.isDone());
  }

  @Test
  void aTimerFromAnotherThreadWakesAnIdleLoopWhichThenWaitsWithoutTimeoutAgain() throws Exception {
    String name = uniqueThreadName("timer-wake");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build()) {
      TestSupport.sync(watcher); // the thread runs, under its name
      Path task = taskNamed(name);
      eventually(() -> asleepInEpollWaitWithoutTimeout(task), "an idle loop waiting forever");
      assertEquals("woke", watcher.schedule(() -> "woke", 2, TimeUnit.MILLISECONDS).get());
      // The timer is gone: no timeout remains, so the idle loop makes no wakeups.
      eventually(() -> asleepInEpollWaitWithoutTimeout(task), "no timeout after the last timer");
      // Its timed waits end at their timeout, not up to the default 50 us of timer slack later.
      // (/proc/TID/timerslack_ns: a thread's own entry, not under /proc/self/task.)
      Path slack = Path.of("/proc", task.getFileName().toString(), "timerslack_ns");
      assumeTrue(Files.isReadable(slack), "the kernel does not show " + slack);
      assertEquals("1", Files.readString(slack).strip());
    }
  }

  @Test
  void timersScheduledOnTheLoopCountTheirDelayFromNoEarlierThanTheCall() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      CompletableFuture<long[]> times = new CompletableFuture<>();
      watcher.execute(
          () -> {
            long scheduled = System.nanoTime();
            ScheduledFuture<?> future =
                watcher.schedule(
                    () -> times.complete(new long[] {scheduled, System.nanoTime()}),
                    5,
                    TimeUnit.MILLISECONDS);
            // Until the loop takes it into its heap, the delay is the whole delay.
            assertTrue(future.getDelay(TimeUnit.NANOSECONDS) <= TimeUnit.MILLISECONDS.toNanos(5));
            long busy = System.nanoTime(); // the rest of the turn takes 10 ms
            while (System.nanoTime() - busy < TimeUnit.MILLISECONDS.toNanos(10)) {
              Thread.onSpinWait();
            }
          });
      long[] ran = await(times, "the timer");
      assertTrue(ran[1] - ran[0] >= TimeUnit.MILLISECONDS.toNanos(5), "a timer ran early");
    }
  }
}
