package io.eventwatcher;

import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.assertFdCountReturns;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.awaitQuietly;
import static io.eventwatcher.TestSupport.countFdsLinkingTo;
import static io.eventwatcher.TestSupport.countThreadsButJvmWorkers;
import static io.eventwatcher.TestSupport.countThreadsNamed;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.loopThread;
import static io.eventwatcher.TestSupport.onLoop;
import static io.eventwatcher.TestSupport.openFds;
import static io.eventwatcher.TestSupport.sync;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Pipe;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * close() stops the loop and waits for its thread, tasks submitted before it still run, no callback
 * runs after it returns, and every method but close() then throws IllegalStateException (task
 * submissions RejectedExecutionException); close races with other calls, the loop thread's name and
 * daemon flag, and leak checks (each watcher holds an epoll fd, an eventfd, a thread and a native
 * watcher until closed).
 */
class LifecycleTest {
  private static final String EPOLL = "anon_inode:[eventpoll]";
  private static final String EVENTFD = "anon_inode:[eventfd]";

  @Test
  void nativeLibraryIsAvailableOnThisMachine() {
    assertTrue(
        EventWatcher.isAvailable(), () -> "unavailable: " + EventWatcher.unavailabilityCause());
    assertNull(EventWatcher.unavailabilityCause());
  }

  @Test
  void closeIsIdempotentAndEndsTheLoopThread() throws Exception {
    EventWatcher watcher = new EventWatcher();
    Thread loop = loopThread(watcher);
    watcher.close();
    assertFalse(loop.isAlive(), "close returned before the loop thread ended");
    assertDoesNotThrow(watcher::close);
    Thread other = new Thread(watcher::close, "second-closer");
    other.start();
    other.join(PATIENCE_MS);
    assertFalse(other.isAlive(), "a second close from another thread hung");
  }

  @Test
  void everyMethodButCloseThrowsIllegalStateAfterClose() throws Exception {
    EventWatcher watcher = new EventWatcher();
    watcher.close();
    try (Pipe pipe = new Pipe();
        SocketChannel channel = SocketChannel.open();
        FileInputStream stream = new FileInputStream("/dev/null")) {
      channel.configureBlocking(false);
      FileDescriptor descriptor = stream.getFD();
      List<Executable> calls =
          List.of(
              () -> watcher.watch(pipe.r, WatchFlag.READ, fd -> {}),
              () -> watcher.watch(descriptor, WatchFlag.READ, fd -> {}),
              () -> watcher.watch(channel, WatchFlag.READ, fd -> {}),
              () -> watcher.unwatch(pipe.r, WatchFlag.READ),
              () -> watcher.unwatch(descriptor, WatchFlag.READ),
              () -> watcher.unwatch(channel, WatchFlag.READ),
              watcher::unwatchAll,
              watcher::inEventWatcherLoop);
      for (Executable call : calls) assertThrows(IllegalStateException.class, call);
      List<Executable> submissions =
          List.of(
              () -> watcher.runInEventWatcherLoop(() -> {}),
              () -> watcher.execute(() -> {}),
              () -> watcher.submit(() -> 1),
              () -> watcher.schedule(() -> {}, 1, TimeUnit.MILLISECONDS),
              () -> watcher.scheduleAtFixedRate(() -> {}, 1, 1, TimeUnit.MILLISECONDS));
      for (Executable call : submissions) assertThrows(RejectedExecutionException.class, call);
    }
  }

  @Test
  void closeFromInsideACallbackEndsTheLoopOnceTheCallbackReturns() throws Exception {
    try (Pipe first = new Pipe();
        Pipe second = new Pipe()) {
      EventWatcher watcher = new EventWatcher();
      Thread loop = loopThread(watcher);
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Boolean> usableAfterClose = new CompletableFuture<>();
      WatchCallback closeTheWatcher =
          fd -> {
            calls.incrementAndGet();
            watcher.close(); // cannot wait for itself: returns at once
            try {
              watcher.runInEventWatcherLoop(() -> {});
              usableAfterClose.complete(true);
            } catch (RejectedExecutionException expected) {
              usableAfterClose.complete(false);
            }
          };
      // Both pipes are ready in one batch: the second event must not be delivered after close.
      onLoop(
          watcher,
          () -> {
            watcher.watch(first.r, WatchFlag.READ, closeTheWatcher);
            watcher.watch(second.r, WatchFlag.READ, closeTheWatcher);
            first.fill();
            second.fill();
          });
      assertFalse(await(usableAfterClose, "close inside the callback"), "usable after close");
      loop.join(PATIENCE_MS);
      assertFalse(loop.isAlive(), "the loop thread did not end after close in a callback");
      watcher.close();
      assertEquals(1, calls.get(), "a callback ran after close");
    }
  }

  @Test
  void closeFromInsideATaskEndsTheLoopAndLaterTasksStillRun() throws Exception {
    EventWatcher watcher = new EventWatcher();
    Thread loop = loopThread(watcher);
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger ran = new AtomicInteger();
    watcher.runInEventWatcherLoop(
        () -> {
          awaitQuietly(gate);
          watcher.close();
        });
    for (int i = 0; i < 100; i++) watcher.runInEventWatcherLoop(ran::incrementAndGet);
    gate.countDown();
    loop.join(PATIENCE_MS);
    assertFalse(loop.isAlive(), "the loop thread did not end after close in a task");
    assertEquals(100, ran.get(), "tasks submitted before close did not all run");
    watcher.close();
  }

  @Test
  void tasksSubmittedBeforeCloseAllRun() {
    AtomicInteger ran = new AtomicInteger();
    try (EventWatcher watcher = new EventWatcher()) {
      for (int i = 0; i < 10_000; i++) watcher.runInEventWatcherLoop(ran::incrementAndGet);
    }
    assertEquals(10_000, ran.get());
  }

  @Test
  void noCallbackAfterCloseReturns() throws Exception {
    List<Pipe> pipes = new ArrayList<>();
    try {
      AtomicInteger calls = new AtomicInteger();
      AtomicInteger callsOffTheLoop = new AtomicInteger();
      EventWatcher watcher = new EventWatcher();
      Thread loop = loopThread(watcher);
      for (int i = 0; i < 4; i++) {
        Pipe pipe = new Pipe();
        pipes.add(pipe);
        pipe.fill();
        watcher.watch(
            pipe.r,
            WatchFlag.READ,
            fd -> {
              if (Thread.currentThread() != loop) callsOffTheLoop.incrementAndGet();
              calls.incrementAndGet();
            });
      }
      eventually(() -> calls.get() >= 8, "the callbacks");
      watcher.close();
      int atClose = calls.get();
      // Callbacks run on the loop thread only, and it has ended: none can come any more.
      assertFalse(loop.isAlive(), "close returned before the loop thread ended");
      assertEquals(0, callsOffTheLoop.get(), "a callback ran off the loop thread");
      assertEquals(atClose, calls.get(), "a callback ran after close returned");
    } finally {
      for (Pipe pipe : pipes) pipe.close();
    }
  }

  /**
   * Eight threads race: two close, six watch, unwatch, submit and ask inEventWatcherLoop until the
   * watcher refuses. Only success or IllegalStateException may come out, nothing hangs, and every
   * task accepted before close has run when close returns.
   */
  @Test
  void closeRacesWithCallsFromManyThreads() throws Exception {
    try (Pipe pipe = new Pipe()) {
      pipe.fill();
      int liveBefore = EventWatcher.liveNativeWatchers();
      ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
      for (int round = 0; round < 100; round++) {
        EventWatcher watcher = new EventWatcher();
        CountDownLatch start = new CountDownLatch(1);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger ran = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          int worker = t;
          Runnable body =
              worker < 2
                  ? () -> {
                    awaitQuietly(start);
                    watcher.close();
                  }
                  : () -> {
                    awaitQuietly(start);
                    Counter counter = new Counter();
                    try {
                      for (int i = 0; i < 1000; i++) {
                        switch ((i + worker) % 4) {
                          case 0 -> watcher.watch(pipe.r, WatchFlag.READ, counter);
                          case 1 -> watcher.unwatch(pipe.r, WatchFlag.READ);
                          case 2 -> {
                            watcher.runInEventWatcherLoop(ran::incrementAndGet);
                            accepted.incrementAndGet();
                          }
                          default -> watcher.inEventWatcherLoop();
                        }
                      }
                    } catch (IllegalStateException | RejectedExecutionException closed) {
                      // expected once close has begun
                    } catch (Throwable e) {
                      unexpected.add(e);
                    }
                  };
          Thread thread = new Thread(body, "racer-" + t);
          threads.add(thread);
          thread.start();
        }
        start.countDown();
        for (Thread thread : threads) {
          thread.join(PATIENCE_MS);
          assertFalse(thread.isAlive(), "round " + round + ": " + thread.getName() + " hung");
        }
        watcher.close();
        assertEquals(accepted.get(), ran.get(), "round " + round + ": accepted tasks did not run");
        assertThrows(
            RejectedExecutionException.class, () -> watcher.runInEventWatcherLoop(() -> {}));
      }
      assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected);
      assertEquals(liveBefore, EventWatcher.liveNativeWatchers(), "native watchers leaked");
    }
  }

  /**
   * Timers scheduled from other threads while the watcher closes: each is either refused
   * (RejectedExecutionException) or accepted and then done, by running (due ones) or by being
   * cancelled at close; none stays pending, which a schedule landing after the loop abandoned its
   * timers would. The proof that the race was met: some schedules are refused and some accepted. (A
   * push that passes the closing check just before the loop abandons its timers, the window that
   * the closed marker of Timers covers, is nanoseconds wide: this test rarely meets that one.)
   */
  @Test
  void timersScheduledWhileClosingAreRefusedOrEndCancelled() throws Exception {
    int refused = 0;
    int accepted = 0;
    for (int round = 0; round < 50; round++) {
      EventWatcher watcher = new EventWatcher();
      CountDownLatch start = new CountDownLatch(1);
      List<ConcurrentLinkedQueue<ScheduledFuture<?>>> futures = new ArrayList<>();
      AtomicInteger refusals = new AtomicInteger();
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        ConcurrentLinkedQueue<ScheduledFuture<?>> mine = new ConcurrentLinkedQueue<>();
        futures.add(mine);
        Thread thread =
            new Thread(
                () -> {
                  awaitQuietly(start);
                  for (int i = 0; i < 20_000; i++) {
                    try {
                      mine.add(watcher.schedule(() -> {}, i % 2 == 0 ? 0 : 1, TimeUnit.HOURS));
                    } catch (RejectedExecutionException expected) {
                      refusals.incrementAndGet();
                      return;
                    }
                  }
                },
                "scheduler-" + t);
        threads.add(thread);
        thread.start();
      }
      start.countDown();
      while (futures.get(0).size() < 100 && threads.get(0).isAlive()) Thread.onSpinWait();
      watcher.close();
      for (Thread thread : threads) {
        thread.join(PATIENCE_MS);
        assertFalse(thread.isAlive(), "round " + round + ": " + thread.getName() + " hung");
      }
      refused += refusals.get();
      for (ConcurrentLinkedQueue<ScheduledFuture<?>> mine : futures) {
        for (ScheduledFuture<?> future : mine) {
          assertTrue(future.isDone(), () -> "an accepted timer stayed pending: " + future);
          accepted++;
        }
      }
    }
    assertTrue(refused > 0, "no schedule met the close: the race was not exercised");
    assertTrue(accepted > 0, "no schedule was accepted");
  }

  @Test
  void loopThreadHasTheBuildersNameAndIsDaemonOnlyIfAsked() {
    try (EventWatcher watcher = EventWatcher.builder().threadName("my-loop").build()) {
      Thread loop = loopThread(watcher);
      assertEquals("my-loop", loop.getName());
      assertFalse(loop.isDaemon(), "daemon by default");
    }
    try (EventWatcher watcher = EventWatcher.builder().daemon(true).build()) {
      Thread loop = loopThread(watcher);
      assertTrue(loop.isDaemon());
      assertTrue(loop.getName().matches("eventwatcher-\\d+"), loop.getName());
    }
    try (EventWatcher first = new EventWatcher();
        EventWatcher second = new EventWatcher()) {
      assertFalse(
          loopThread(first).getName().equals(loopThread(second).getName()), "same default name");
    }
  }

  @Test
  void eachWatcherHoldsAnEpollFdAnEventfdAThreadAndANativeWatcherUntilClosed() {
    String name = TestSupport.uniqueThreadName("ew-holds");
    new EventWatcher().close(); // warm-up: classes loaded, lazily opened files open
    int epollFds = countFdsLinkingTo(EPOLL);
    int eventFds = countFdsLinkingTo(EVENTFD);
    int live = EventWatcher.liveNativeWatchers();
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build()) {
      sync(watcher);
      assertEquals(epollFds + 1, countFdsLinkingTo(EPOLL), "one epoll fd");
      assertEquals(eventFds + 1, countFdsLinkingTo(EVENTFD), "one eventfd");
      assertEquals(1, countThreadsNamed(name), "one loop thread");
      assertEquals(live + 1, EventWatcher.liveNativeWatchers(), "one native watcher");
    }
    assertEquals(live, EventWatcher.liveNativeWatchers(), "close did not free the native watcher");
    assertEquals(epollFds, countFdsLinkingTo(EPOLL), "close did not close the epoll fd");
    assertEquals(eventFds, countFdsLinkingTo(EVENTFD), "close did not close the eventfd");
    // Thread.join returns a moment before the OS thread is gone from /proc.
    eventually(() -> countThreadsNamed(name) == 0, "the loop thread to exit");
  }

  /**
   * Leak check over 1,000 watchers. Other threads of the JVM may close fds or end meanwhile (a
   * cleaner, threads of earlier tests), so totals must not grow; the watcher's own kinds of fd and
   * its named threads must return exactly.
   */
  @Test
  void thousandWatchersCreatedAndClosedLeakNoFdThreadOrNativeWatcher() throws Exception {
    String prefix = "ew-cycle";
    try (Pipe pipe = new Pipe()) {
      pipe.fill();
      try (EventWatcher warmUp = EventWatcher.builder().threadName(prefix).build()) {
        warmUp.watch(pipe.r, WatchFlag.READ, fd -> {});
        sync(warmUp);
      }
      eventually(() -> countThreadsNamed(prefix) == 0, "the warm-up loop thread to exit");
      Map<Integer, String> fdsBefore = openFds();
      int epollFdsBefore = countFdsLinkingTo(EPOLL);
      int eventFdsBefore = countFdsLinkingTo(EVENTFD);
      int threadsBefore = countThreadsButJvmWorkers();
      int liveBefore = EventWatcher.liveNativeWatchers();
      for (int i = 0; i < 1000; i++) {
        try (EventWatcher watcher = EventWatcher.builder().threadName(prefix).build()) {
          watcher.watch(pipe.r, WatchFlag.READ, fd -> {});
          if (i % 100 == 0) sync(watcher);
        }
      }
      assertEquals(liveBefore, EventWatcher.liveNativeWatchers(), "native watchers leaked");
      assertEquals(epollFdsBefore, countFdsLinkingTo(EPOLL), "epoll fds leaked");
      assertEquals(eventFdsBefore, countFdsLinkingTo(EVENTFD), "eventfds leaked");
      assertFdCountReturns(fdsBefore, "fds leaked");
      eventually(() -> countThreadsNamed(prefix) == 0, "every loop thread to exit");
      eventually(() -> countThreadsButJvmWorkers() <= threadsBefore, "the thread count to return");
    }
  }
}
