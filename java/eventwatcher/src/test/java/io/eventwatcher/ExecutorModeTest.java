package io.eventwatcher;

import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.asleepInEpollWaitWithoutTimeout;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.awaitQuietly;
import static io.eventwatcher.TestSupport.callWaitingPastTheLoop;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static io.eventwatcher.TestSupport.loopThread;
import static io.eventwatcher.TestSupport.onLoop;
import static io.eventwatcher.TestSupport.sync;
import static io.eventwatcher.TestSupport.taskNamed;
import static io.eventwatcher.TestSupport.uniqueThreadName;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.BlockingCall;
import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Fds;
import io.eventwatcher.TestSupport.LoopHold;
import io.eventwatcher.TestSupport.Reported;
import io.eventwatcher.TestSupport.Reported.Report;
import io.eventwatcher.internal.Errno;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Executor mode: callbacks run on the builder's executor, one call per (fd, flag) at a time, the
 * fd's interest suspended meanwhile; unwatch and close wait for calls in flight.
 *
 * <p>A check that a call is not made (a second call, a replaced or dropped registration's) holds
 * one call or none, lets the loop run turns on a still-ready fd ({@link TestSupport#flushTurns}),
 * and then waits until every call handed to the executor meanwhile has run ({@link
 * CountingExecutor}): a call the loop should not have handed off would have run by then.
 */
class ExecutorModeTest {
  private static final AtomicInteger POOL_THREAD = new AtomicInteger();

  private ExecutorService pool;
  private CountingExecutor counted;
  private final Fds fds = new Fds();

  @BeforeEach
  void startPool() {
    // Daemon threads: a broken test that leaves a callback blocked cannot keep the JVM alive.
    pool =
        Executors.newFixedThreadPool(
            4,
            runnable -> {
              Thread thread = new Thread(runnable, "ew-pool-" + POOL_THREAD.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    counted = new CountingExecutor(pool);
  }

  @AfterEach
  void stopPool() throws Exception {
    pool.shutdownNow();
    assertTrue(
        pool.awaitTermination(PATIENCE_MS, TimeUnit.MILLISECONDS), "pool threads still busy");
    fds.close();
  }

  private EventWatcher watcherOn(Executor executor) {
    return EventWatcher.builder().executor(executor).build();
  }

  /** An eventfd that is always readable (its counter is never read). */
  private int alwaysReadable() throws IOException {
    return fds.add(NativeIO.eventFd(1));
  }

  /**
   * An executor handing its commands to {@code delegate}, counting those handed over that have not
   * returned yet, so that a test can wait until every call handed off so far has run.
   */
  private static final class CountingExecutor implements Executor {
    private final Executor delegate;
    private final AtomicInteger unfinished = new AtomicInteger();

    CountingExecutor(Executor delegate) {
      this.delegate = delegate;
    }

    @Override
    public void execute(Runnable command) {
      unfinished.incrementAndGet();
      try {
        delegate.execute(
            () -> {
              try {
                command.run();
              } finally {
                unfinished.decrementAndGet();
              }
            });
      } catch (RuntimeException rejected) {
        unfinished.decrementAndGet();
        throw rejected;
      }
    }

    /** Waits until every command handed over so far has returned but {@code held} ones. */
    void awaitAllReturnedBut(int held) {
      eventually(
          () -> unfinished.get() == held,
          "every call handed to the executor to return but " + held + " held by the test");
    }
  }

  @Test
  void callbackRunsOnAnExecutorThreadAndTasksOnTheLoopThread() throws Exception {
    try (EventWatcher watcher = watcherOn(pool)) {
      int fd = alwaysReadable();
      CompletableFuture<Thread> callbackThread = new CompletableFuture<>();
      CompletableFuture<Boolean> inLoop = new CompletableFuture<>();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            watcher.unwatch(fd, WatchFlag.READ);
            inLoop.complete(watcher.inEventWatcherLoop());
            callbackThread.complete(Thread.currentThread());
          });
      Thread thread = await(callbackThread, "the callback");
      assertTrue(thread.getName().startsWith("ew-pool-"), "callback ran on " + thread.getName());
      assertFalse(await(inLoop, "the callback"), "inEventWatcherLoop() true on an executor thread");
      Thread loop = loopThread(watcher);
      assertNotSame(loop, thread);
      assertFalse(loop.getName().startsWith("ew-pool-"), "tasks ran on the executor");
    }
  }

  @Test
  void callbackForOneFdAndFlagNeverRunsTwiceAtOnce() throws Exception {
    assertCallsOfOneRegistrationNeverOverlap(pool);
  }

  /**
   * Watches an always-ready fd with callbacks on {@code executor} and holds the first call: the
   * loop runs turns in which the fd stays ready, and every call handed off meanwhile runs, so a
   * second call would have started; then lets the calls go on, and checks that none overlapped and
   * that none ran on the loop thread.
   */
  private void assertCallsOfOneRegistrationNeverOverlap(Executor executor) throws Exception {
    CountingExecutor counting = new CountingExecutor(executor);
    try (EventWatcher watcher = watcherOn(counting)) {
      int fd = alwaysReadable();
      AtomicInteger running = new AtomicInteger();
      AtomicInteger maxRunning = new AtomicInteger();
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger onTheLoopThread = new AtomicInteger();
      CountDownLatch firstEntered = new CountDownLatch(1);
      CountDownLatch releaseFirst = new CountDownLatch(1);
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            if (watcher.inEventWatcherLoop()) onTheLoopThread.incrementAndGet();
            maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
            if (calls.incrementAndGet() == 1) {
              firstEntered.countDown();
              awaitQuietly(releaseFirst);
            }
            running.decrementAndGet();
          });
      await(firstEntered, "the first call");
      flushTurns(watcher, 5); // the fd stays ready on each of these turns
      counting.awaitAllReturnedBut(1);
      assertEquals(1, calls.get(), "a second call started while the first was running");
      releaseFirst.countDown();
      eventually(() -> calls.get() >= 10, "ten calls of an always-ready fd");
      watcher.unwatch(fd, WatchFlag.READ);
      assertEquals(1, maxRunning.get(), "two calls of one registration overlapped");
      assertEquals(0, running.get(), "a call was running when unwatch returned");
      assertEquals(0, onTheLoopThread.get(), "a callback ran on the loop thread");
    }
  }

  @Test
  void callbacksOfDifferentRegistrationsRunInParallel() throws Exception {
    try (EventWatcher watcher = watcherOn(pool)) {
      int first = alwaysReadable();
      int second = alwaysReadable();
      // Each callback waits for the other: only parallel calls get through the barrier.
      CyclicBarrier bothInside = new CyclicBarrier(2);
      CountDownLatch met = new CountDownLatch(2);
      WatchCallback meet =
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            bothInside.await(PATIENCE_MS, TimeUnit.MILLISECONDS);
            met.countDown();
          };
      watcher.watch(first, WatchFlag.READ, meet);
      watcher.watch(second, WatchFlag.READ, meet);
      await(met, "two callbacks running at once");
    }
  }

  @Test
  void loopDoesNotSpinWhileACallbackIsInFlight() throws Exception {
    String name = uniqueThreadName("ew-nospin");
    try (EventWatcher watcher = EventWatcher.builder().executor(counted).threadName(name).build()) {
      int fd = alwaysReadable();
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicInteger calls = new AtomicInteger();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            if (calls.incrementAndGet() == 1) {
              entered.countDown();
              awaitQuietly(release);
            }
          });
      await(entered, "the first call");
      sync(watcher); // the loop is alive and serves tasks meanwhile

      // The fd is still ready, yet the loop sleeps in epoll_wait with no timeout: no spin.
      Path loop = taskNamed(name);
      eventually(
          () -> asleepInEpollWaitWithoutTimeout(loop),
          "the loop to sleep in epoll_wait with no timeout while the call is in flight");

      flushTurns(watcher, 5);
      counted.awaitAllReturnedBut(1);
      assertEquals(1, calls.get(), "a second call started while the first was in flight");
      release.countDown();
      eventually(() -> calls.get() >= 3, "the fd to be re-armed after the call");
      watcher.unwatch(fd, WatchFlag.READ);
    }
  }

  @Test
  void unwatchFromAnotherThreadWaitsForTheCallInFlight() throws Exception {
    try (EventWatcher watcher = watcherOn(counted)) {
      int fd = alwaysReadable();
      BlockingFirstCall callback = new BlockingFirstCall();
      watcher.watch(fd, WatchFlag.READ, callback);
      await(callback.entered, "the first call");
      BlockingCall unwatch =
          callWaitingPastTheLoop(
              watcher,
              () ->
                  new BlockingCall(
                      "unwatcher", "unwatch", () -> watcher.unwatch(fd, WatchFlag.READ)));
      assertFalse(unwatch.hasReturned(), "unwatch returned while its callback was in flight");
      callback.release.countDown();
      unwatch.awaitReturn();
      assertFalse(callback.inside.get(), "the callback was running when unwatch returned");
      flushTurns(watcher);
      counted.awaitAllReturnedBut(0);
      assertEquals(1, callback.calls.get(), "called after unwatch returned");
    }
  }

  @Test
  void rewatchFromAnotherThreadWaitsForTheReplacedCallInFlight() throws Exception {
    try (EventWatcher watcher = watcherOn(counted)) {
      int fd = alwaysReadable();
      BlockingFirstCall old = new BlockingFirstCall();
      watcher.watch(fd, WatchFlag.READ, old);
      await(old.entered, "the first call");
      Counter replacement = new Counter();
      BlockingCall rewatch =
          callWaitingPastTheLoop(
              watcher,
              () ->
                  new BlockingCall(
                      "rewatcher", "watch", () -> watcher.watch(fd, WatchFlag.READ, replacement)));
      assertFalse(
          rewatch.hasReturned(), "watch returned while the replaced callback was in flight");
      old.release.countDown();
      rewatch.awaitReturn();
      assertFalse(old.inside.get(), "the replaced callback was running when watch returned");
      eventually(() -> replacement.calls() >= 3, "the replacing callback");
      watcher.unwatch(fd, WatchFlag.READ);
      flushTurns(watcher);
      counted.awaitAllReturnedBut(0);
      assertEquals(1, old.calls.get(), "the replaced callback was called again");
    }
  }

  @Test
  void unwatchAndRewatchFromInsideTheCallbackDoNotDeadlock() throws Exception {
    try (EventWatcher watcher = watcherOn(counted)) {
      int first = alwaysReadable();
      int second = alwaysReadable();
      CompletableFuture<Void> unwatched = new CompletableFuture<>();
      AtomicInteger firstCalls = new AtomicInteger();
      watcher.watch(
          first,
          WatchFlag.READ,
          fd -> {
            firstCalls.incrementAndGet();
            watcher.unwatch(fd, WatchFlag.READ);
            unwatched.complete(null);
          });
      Counter replacement = new Counter();
      AtomicInteger secondCalls = new AtomicInteger();
      watcher.watch(
          second,
          WatchFlag.READ,
          fd -> {
            secondCalls.incrementAndGet();
            watcher.watch(fd, WatchFlag.READ, replacement);
          });
      await(unwatched, "unwatch from inside the callback");
      eventually(() -> replacement.calls() >= 3, "the callback that replaced itself");
      watcher.unwatch(second, WatchFlag.READ); // waits for a replacement call in flight
      flushTurns(watcher);
      counted.awaitAllReturnedBut(0);
      assertEquals(1, firstCalls.get(), "called after unwatching itself");
      assertEquals(1, secondCalls.get(), "called after replacing itself");
    }
  }

  @Test
  void unwatchOnTheLoopThreadCancelsACallHandedOffButNotStarted() throws Exception {
    BlockingQueue<Runnable> handedOff = new LinkedBlockingQueue<>();
    String name = uniqueThreadName("ew-cancel");
    try (EventWatcher watcher =
        EventWatcher.builder().executor(handedOff::add).threadName(name).build()) {
      int fd = alwaysReadable();
      Counter counter = new Counter();
      watcher.watch(fd, WatchFlag.READ, counter);
      Runnable call = handedOff.poll(PATIENCE_MS, TimeUnit.MILLISECONDS);
      assertNotNull(call, "nothing was handed to the executor");
      // From the loop thread unwatch cannot wait for the executor; no new call may start.
      onLoop(watcher, () -> watcher.unwatch(fd, WatchFlag.READ));
      call.run(); // the executor gets round to it only now
      assertEquals(0, counter.calls(), "a call started after unwatch returned");
      // The skipped call's end reached the loop before this sync. Were the fd armed again, the
      // next epoll_wait would return it at once and the loop would hand it off before it could
      // sleep: seen asleep, it has had that chance.
      sync(watcher);
      Path loop = taskNamed(name);
      eventually(
          () -> asleepInEpollWaitWithoutTimeout(loop),
          "the loop to sleep in epoll_wait with no timeout");
      assertTrue(handedOff.isEmpty(), "an unwatched registration was handed off again");
    }
  }

  @Test
  void rejectedCallGoesToTheHandlerAndDropsTheRegistration() throws Exception {
    AtomicBoolean reject = new AtomicBoolean(true);
    RejectedExecutionException rejection = new RejectedExecutionException("full");
    Executor switchable =
        command -> {
          if (reject.get()) throw rejection;
          counted.execute(command);
        };
    Reported reported = new Reported();
    try (EventWatcher watcher =
        EventWatcher.builder().executor(switchable).errorHandler(reported).build()) {
      int fd = alwaysReadable();
      Counter counter = new Counter();
      watcher.watch(fd, WatchFlag.READ, counter);
      eventually(() -> reported.count() > 0, "the rejection report");
      reject.set(false);
      flushTurns(watcher, 5); // the fd stays ready: a kept registration would now be called
      counted.awaitAllReturnedBut(0);
      assertEquals(0, counter.calls(), "a rejected registration was kept");
      List<Report> reports = reported.reports();
      assertEquals(1, reports.size(), "reports: " + reports);
      assertEquals(fd, reports.get(0).fd());
      assertSame(rejection, reports.get(0).error());
      assertDoesNotThrow(() -> watcher.unwatch(fd, WatchFlag.READ)); // already gone: a no-op
      watcher.watch(fd, WatchFlag.READ, counter); // and it can be watched again
      eventually(() -> counter.calls() > 0, "the callback after a new watch");
      watcher.unwatch(fd, WatchFlag.READ);
    }
  }

  @Test
  void callbackExceptionsGoToTheHandlerOnTheExecutorThreadAndTheRegistrationStays()
      throws Exception {
    Reported reported = new Reported();
    CompletableFuture<Thread> handlerThread = new CompletableFuture<>();
    ErrorHandler handler =
        (fd, error) -> {
          handlerThread.complete(Thread.currentThread());
          reported.onError(fd, error);
        };
    try (EventWatcher watcher =
        EventWatcher.builder().executor(pool).errorHandler(handler).build()) {
      int fd = alwaysReadable();
      IOException boom = new IOException("boom");
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            throw boom;
          });
      eventually(() -> reported.count() >= 3, "three reports: the fd is re-armed after a throw");
      watcher.unwatch(fd, WatchFlag.READ);
      assertTrue(await(handlerThread, "the handler").getName().startsWith("ew-pool-"));
      for (Report report : reported.reports()) {
        assertEquals(fd, report.fd());
        assertSame(boom, report.error());
      }
    }
  }

  @Test
  void closeWaitsForCallbacksInFlight() throws Exception {
    EventWatcher watcher = watcherOn(pool);
    try {
      int fd = alwaysReadable();
      CountDownLatch entered = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicBoolean returned = new AtomicBoolean();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            entered.countDown();
            awaitQuietly(release);
            returned.set(true);
          });
      await(entered, "the call");
      Thread loop = loopThread(watcher);
      // close() first waits for the loop thread, held in a task until close is seen waiting;
      // once that thread has ended, close is seen waiting again, on something else: a close that
      // did not wait for the callback would have returned by then.
      BlockingCall close;
      Object waitingForTheLoop;
      LoopHold hold = new LoopHold(watcher);
      try {
        close = new BlockingCall("closer", "close", watcher::close);
        waitingForTheLoop = close.awaitParked();
      } finally {
        hold.release();
      }
      loop.join(PATIENCE_MS);
      assertFalse(loop.isAlive(), "the loop thread did not end after close");
      close.awaitParkedOnOtherThan(waitingForTheLoop);
      assertFalse(close.hasReturned(), "close returned while a callback was in flight");
      release.countDown();
      close.awaitReturn();
      assertTrue(returned.get(), "close returned before the callback did");
    } finally {
      watcher.close();
    }
  }

  @Test
  void closeFromInsideACallbackEndsTheLoopWithoutWaitingForItself() throws Exception {
    EventWatcher watcher = watcherOn(pool);
    try {
      int fd = alwaysReadable();
      Thread loop = loopThread(watcher);
      CompletableFuture<Boolean> loopAliveAfterClose = new CompletableFuture<>();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            watcher.close();
            loopAliveAfterClose.complete(loop.isAlive());
          });
      assertFalse(
          await(loopAliveAfterClose, "close inside the callback"), "the loop outlived close");
    } finally {
      watcher.close();
    }
  }

  @Test
  void twoCallbacksClosingAtOnceDoNotWaitForEachOther() throws Exception {
    EventWatcher watcher = watcherOn(pool);
    try {
      CyclicBarrier bothInside = new CyclicBarrier(2);
      CountDownLatch closed = new CountDownLatch(2);
      WatchCallback closeTheWatcher =
          fd -> {
            bothInside.await(PATIENCE_MS, TimeUnit.MILLISECONDS);
            watcher.close();
            closed.countDown();
          };
      watcher.watch(alwaysReadable(), WatchFlag.READ, closeTheWatcher);
      watcher.watch(alwaysReadable(), WatchFlag.READ, closeTheWatcher);
      await(closed, "both closes to return");
    } finally {
      closeWithin(watcher); // a deadlocked watcher must not hang the suite too
    }
  }

  /** Closes {@code watcher} on a daemon thread, failing if that takes longer than the patience. */
  private static void closeWithin(EventWatcher watcher) throws InterruptedException {
    Thread closer = new Thread(watcher::close, "bounded-closer");
    closer.setDaemon(true);
    closer.start();
    closer.join(PATIENCE_MS);
    assertFalse(closer.isAlive(), "close hung");
  }

  @Test
  void virtualThreadExecutorRunsCallsOfOneRegistrationOneAtATimeOffTheLoop() throws Exception {
    ExecutorService virtual = virtualThreadsOrSkip();
    try {
      assertCallsOfOneRegistrationNeverOverlap(virtual);
    } finally {
      virtual.shutdownNow();
    }
  }

  /** A virtual-thread-per-task executor (JDK 21+), or skips the test. */
  private static ExecutorService virtualThreadsOrSkip() throws ReflectiveOperationException {
    try {
      return (ExecutorService)
          Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    } catch (NoSuchMethodException e) {
      return Assumptions.abort("virtual threads need JDK 21+, this is " + Runtime.version());
    }
  }

  /** A single-thread executor: a hand-off queued behind a running callback cannot start. */
  private static ExecutorService singleThread() {
    return Executors.newSingleThreadExecutor(
        runnable -> {
          Thread thread = new Thread(runnable, "ew-single-" + POOL_THREAD.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
  }

  @Test // a deadlock fails the test, it does not hang it:
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void callbackUnwatchingACallQueuedBehindItDoesNotDeadlock() throws Exception {
    ExecutorService single = singleThread();
    try (EventWatcher watcher = watcherOn(single)) {
      int first = alwaysReadable();
      int second = alwaysReadable();
      AtomicInteger secondCalls = new AtomicInteger();
      CompletableFuture<Void> unwatched = new CompletableFuture<>();
      WatchCallback unwatchTheOther =
          fd -> {
            int other = fd == first ? second : first;
            // The other fd's call is queued behind this one on the single thread: waiting for
            // it would deadlock; it must be dropped instead.
            watcher.unwatch(other, WatchFlag.READ);
            watcher.unwatch(fd, WatchFlag.READ);
            unwatched.complete(null);
          };
      onLoop(
          watcher,
          () -> {
            watcher.watch(first, WatchFlag.READ, unwatchTheOther);
            watcher.watch(
                second,
                WatchFlag.READ,
                fd -> {
                  secondCalls.incrementAndGet();
                  unwatchTheOther.run(fd);
                });
          });
      await(unwatched, "the first callback's unwatch of a queued call");
      flushTurns(watcher);
      sync(watcher);
      assertTrue(secondCalls.get() <= 1, "a retired call ran");
    } finally {
      single.shutdownNow();
    }
  }

  @Test // a deadlock fails the test, it does not hang it:
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void closeFromACallbackWithACallQueuedBehindItDoesNotDeadlock() throws Exception {
    ExecutorService single = singleThread();
    try {
      EventWatcher watcher = watcherOn(single);
      int first = alwaysReadable();
      int second = alwaysReadable();
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Void> closed = new CompletableFuture<>();
      WatchCallback closeIt =
          fd -> {
            if (calls.incrementAndGet() == 1) {
              watcher.close(); // the other call is queued behind this one
              closed.complete(null);
            }
          };
      onLoop(
          watcher,
          () -> {
            watcher.watch(first, WatchFlag.READ, closeIt);
            watcher.watch(second, WatchFlag.READ, closeIt);
          });
      await(closed, "close() from a callback with a call queued behind it");
      CompletableFuture<Void> drained = new CompletableFuture<>();
      single.execute(() -> drained.complete(null));
      await(drained, "the executor to drain");
      assertEquals(1, calls.get(), "a call queued before close ran after it");
    } finally {
      single.shutdownNow();
    }
  }

  @Test // a deadlock fails the test, it does not hang it:
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void replacementDoesNotRunWhileTheReplacedCallIsRunning() throws Exception {
    try (EventWatcher watcher = watcherOn(counted)) {
      int fd = alwaysReadable();
      AtomicInteger running = new AtomicInteger();
      AtomicInteger overlaps = new AtomicInteger();
      AtomicInteger replacementCalls = new AtomicInteger();
      CountDownLatch replaced = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      WatchCallback replacement =
          ignored -> {
            if (running.incrementAndGet() > 1) overlaps.incrementAndGet();
            replacementCalls.incrementAndGet();
            running.decrementAndGet();
          };
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            if (running.incrementAndGet() > 1) overlaps.incrementAndGet();
            try {
              // Hand the fd to the next handler, then keep running until released: the
              // replacement must wait for this call to return.
              watcher.watch(fd, WatchFlag.READ, replacement);
              replaced.countDown();
              awaitQuietly(release);
            } finally {
              running.decrementAndGet();
            }
          });
      await(replaced, "the callback to replace itself");
      flushTurns(watcher, 5); // the fd stays ready: a replacement armed now would be handed off
      counted.awaitAllReturnedBut(1);
      assertEquals(0, replacementCalls.get(), "the replacement ran while the replaced call ran");
      release.countDown();
      eventually(() -> replacementCalls.get() >= 3, "the replacement to be called");
      watcher.unwatch(fd, WatchFlag.READ);
      assertEquals(0, overlaps.get(), "the replacement ran while the replaced call was running");
    }
  }

  @Test
  void callbackClosingItsFdWithoutUnwatchIsDroppedNotRearmedOnTheReusedNumber() throws Exception {
    Reported reported = new Reported();
    try (EventWatcher watcher =
        EventWatcher.builder().executor(counted).errorHandler(reported).build()) {
      int fd = NativeIO.eventFd(1); // always readable
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Integer> reusedAs = new CompletableFuture<>();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            calls.incrementAndGet();
            // Caller bug on purpose: close without unwatch, and a new (readable) file takes the
            // number before the call returns and the loop re-arms.
            NativeIO.close(fd);
            reusedAs.complete(fds.add(TestSupport.reuseNumber(fd)));
          });
      int reused = await(reusedAs, "the callback");
      Assumptions.assumeTrue(reused == fd, "the number was taken by another thread");
      eventually(() -> reported.count() > 0, "the dropped registration's report");
      flushTurns(watcher);
      counted.awaitAllReturnedBut(0);
      assertEquals(1, calls.get(), "the old callback was re-armed on the new file");
      Report report = reported.reports().get(0);
      assertEquals(fd, report.fd());
      assertTrue(report.error() instanceof ErrnoException, report.error().toString());
      assertEquals(Errno.ENOENT, ((ErrnoException) report.error()).errno(), "ENOENT");
    }
  }

  @Test // a deadlock fails the test, it does not hang it:
  @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void callbackClosingWhileAnotherWaitsToUnwatchItDoesNotDeadlock() throws Exception {
    EventWatcher watcher = watcherOn(pool);
    int a = alwaysReadable();
    int b = alwaysReadable();
    CountDownLatch aStarted = new CountDownLatch(1);
    CountDownLatch closeNow = new CountDownLatch(1);
    CountDownLatch unwatchNow = new CountDownLatch(1);
    CompletableFuture<Thread> bThread = new CompletableFuture<>();
    CompletableFuture<Void> aDone = new CompletableFuture<>();
    CompletableFuture<Void> bDone = new CompletableFuture<>();
    AtomicBoolean aOnce = new AtomicBoolean();
    AtomicBoolean bOnce = new AtomicBoolean();
    try {
      onLoop(
          watcher,
          () -> {
            watcher.watch(
                a,
                WatchFlag.READ,
                fd -> {
                  if (!aOnce.compareAndSet(false, true)) return;
                  aStarted.countDown();
                  awaitQuietly(closeNow); // until b waits in unwatch(a) for this very call
                  watcher.close();
                  aDone.complete(null);
                });
            watcher.watch(
                b,
                WatchFlag.READ,
                fd -> {
                  if (!bOnce.compareAndSet(false, true)) return;
                  bThread.complete(Thread.currentThread());
                  awaitQuietly(unwatchNow);
                  try {
                    // Waits for a's call, which closes the watcher.
                    watcher.unwatch(a, WatchFlag.READ);
                    bDone.complete(null);
                  } catch (Throwable e) {
                    bDone.completeExceptionally(e);
                  }
                });
          });
      await(aStarted, "the first callback");
      Thread unwatcher = await(bThread, "the second callback");
      // b's unwatch(a) starts while the loop is held, and is then seen waiting past the loop, for
      // a's call: only then does a close the watcher.
      BlockingCall unwatchOfA =
          callWaitingPastTheLoop(
              watcher,
              () -> {
                unwatchNow.countDown();
                return new BlockingCall(unwatcher, "unwatch", bDone);
              });
      assertFalse(unwatchOfA.hasReturned(), "unwatch(a) returned while a's call was running");
      closeNow.countDown();
      await(aDone, "close() from the first callback");
      await(bDone, "unwatch() in the second callback");
    } finally {
      closeNow.countDown();
      unwatchNow.countDown();
      closeWithin(watcher); // a deadlocked watcher must not hang the suite too
    }
  }

  @Test
  void rejectedHandOffLeavesNoNativeRegistration() throws Exception {
    Reported reported = new Reported();
    Executor rejecting =
        runnable -> {
          throw new RejectedExecutionException("full");
        };
    List<Integer> before = epollFds();
    try (EventWatcher watcher =
        EventWatcher.builder().executor(rejecting).errorHandler(reported).build()) {
      List<Integer> created = new java.util.ArrayList<>(epollFds());
      created.removeAll(before);
      assertEquals(1, created.size(), "the watcher's epoll fd");
      int fd = alwaysReadable();
      watcher.watch(fd, WatchFlag.READ, ignored -> {});
      eventually(() -> reported.count() > 0, "the rejection report");
      sync(watcher);
      String info = java.nio.file.Files.readString(Path.of("/proc/self/fdinfo/" + created.get(0)));
      assertFalse(
          info.contains("tfd: " + fd + " "),
          "the rejected registration is still in epoll:\n" + info);
    }
  }

  /** The fds of this process that are epoll instances. */
  private static List<Integer> epollFds() throws IOException {
    List<Integer> fds = new java.util.ArrayList<>();
    try (var entries = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        try {
          if (java.nio.file.Files.readSymbolicLink(entry)
              .toString()
              .equals("anon_inode:[eventpoll]")) {
            fds.add(Integer.parseInt(entry.getFileName().toString()));
          }
        } catch (IOException gone) {
          // closed meanwhile
        }
      }
    }
    return fds;
  }

  @Test
  void callbackClosingItsFdWithoutUnwatchIsReportedAsEnoent() throws Exception {
    Reported reported = new Reported();
    try (EventWatcher watcher =
        EventWatcher.builder().executor(counted).errorHandler(reported).build()) {
      int fd = NativeIO.eventFd(1);
      AtomicInteger calls = new AtomicInteger();
      watcher.watch(
          fd,
          WatchFlag.READ,
          ignored -> {
            calls.incrementAndGet();
            NativeIO.close(fd); // caller bug on purpose: closed without unwatch (not reused)
          });
      eventually(() -> reported.count() > 0, "the dropped registration's report");
      flushTurns(watcher);
      counted.awaitAllReturnedBut(0);
      assertEquals(1, calls.get());
      Report report = reported.reports().get(0);
      assertTrue(report.error() instanceof ErrnoException, report.error().toString());
      assertEquals(
          Errno.ENOENT, ((ErrnoException) report.error()).errno(), "ENOENT, as documented");
    }
  }

  /** A callback whose first call blocks until released; tracks calls and whether one is running. */
  private static final class BlockingFirstCall implements WatchCallback {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicBoolean inside = new AtomicBoolean();
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public void run(int fd) {
      inside.set(true);
      if (calls.incrementAndGet() == 1) {
        entered.countDown();
        awaitQuietly(release);
      }
      inside.set(false);
    }
  }
}
