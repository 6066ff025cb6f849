package io.eventwatcher;

import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.awaitQuietly;
import static io.eventwatcher.TestSupport.loopThread;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** EventWatcherGroup: settings, the round-robin chooser, tasks and timers, the lifecycle. */
class EventWatcherGroupTest {

  @Test
  void everyWatcherHasTheBuildersSettingsAndANumberedThread() {
    List<Throwable> reported = new CopyOnWriteArrayList<>();
    CountDownLatch reports = new CountDownLatch(3);
    try (EventWatcherGroup group =
        EventWatcher.builder()
            .threadName("grp")
            .daemon(true)
            .errorHandler(
                (fd, error) -> {
                  reported.add(error);
                  reports.countDown();
                })
            .buildGroup(3)) {
      assertEquals(3, group.watchers().size());
      for (int i = 0; i < 3; i++) {
        EventWatcher watcher = group.watchers().get(i);
        Thread loop = loopThread(watcher);
        assertEquals("grp-" + i, loop.getName());
        assertTrue(loop.isDaemon(), "daemon setting");
        int index = i;
        watcher.execute(
            () -> {
              throw new IllegalStateException("from loop " + index);
            });
      }
      await(reports, "each loop's failure at the shared error handler");
      Set<String> messages = new HashSet<>();
      for (Throwable error : reported) messages.add(error.getMessage());
      assertEquals(Set.of("from loop 0", "from loop 1", "from loop 2"), messages);
    }
  }

  @Test
  void theDefaultGroupHasOneWatcherPerProcessorAndDistinctThreadNames() {
    try (EventWatcherGroup group = new EventWatcherGroup()) {
      assertEquals(Runtime.getRuntime().availableProcessors(), group.watchers().size());
      Set<String> names = new HashSet<>();
      for (EventWatcher watcher : group.watchers()) names.add(loopThread(watcher).getName());
      assertEquals(group.watchers().size(), names.size(), "thread names " + names);
      for (String name : names) assertTrue(name.matches("eventwatcher-\\d+-\\d+"), name);
    }
  }

  @Test
  void refusesFewerThanOneThread() {
    assertThrows(IllegalArgumentException.class, () -> new EventWatcherGroup(0));
    assertThrows(IllegalArgumentException.class, () -> EventWatcher.builder().buildGroup(-1));
  }

  @Test
  void nextVisitsTheWatchersInTurnWithAndWithoutAPowerOfTwo() {
    for (int threads : new int[] {1, 2, 3, 4}) {
      try (EventWatcherGroup group = new EventWatcherGroup(threads)) {
        List<EventWatcher> watchers = group.watchers();
        for (int i = 0; i < 3 * threads; i++) {
          assertSame(watchers.get(i % threads), group.next(), "call " + i + " of " + threads);
        }
      }
    }
  }

  @Test
  void nextSpreadsConcurrentCallersEvenly() throws Exception {
    int callers = 4;
    int callsEach = 30_000;
    try (EventWatcherGroup group = new EventWatcherGroup(3)) {
      Map<EventWatcher, AtomicInteger> picks = new ConcurrentHashMap<>();
      for (EventWatcher watcher : group.watchers()) picks.put(watcher, new AtomicInteger());
      List<Thread> threads = new ArrayList<>();
      CountDownLatch start = new CountDownLatch(1);
      for (int t = 0; t < callers; t++) {
        Thread thread =
            new Thread(
                () -> {
                  awaitQuietly(start);
                  for (int i = 0; i < callsEach; i++) picks.get(group.next()).incrementAndGet();
                });
        thread.start();
        threads.add(thread);
      }
      start.countDown();
      for (Thread thread : threads) thread.join(PATIENCE_MS);
      for (AtomicInteger count : picks.values()) {
        assertEquals(callers * callsEach / 3, count.get(), "picks per watcher " + picks.values());
      }
    }
  }

  @Test
  void tasksGoRoundRobinToTheLoopThreads() throws Exception {
    try (EventWatcherGroup group = new EventWatcherGroup(2)) {
      Set<Thread> loops = Collections.newSetFromMap(new IdentityHashMap<>());
      for (EventWatcher watcher : group.watchers()) loops.add(loopThread(watcher));
      Map<Thread, AtomicInteger> ranOn = new ConcurrentHashMap<>();
      CountDownLatch ran = new CountDownLatch(10);
      for (int i = 0; i < 10; i++) {
        group.execute(
            () -> {
              ranOn
                  .computeIfAbsent(Thread.currentThread(), t -> new AtomicInteger())
                  .incrementAndGet();
              ran.countDown();
            });
      }
      await(ran, "the tasks");
      assertEquals(loops, ranOn.keySet(), "the tasks ran on both loops and nowhere else");
      for (AtomicInteger count : ranOn.values()) assertEquals(5, count.get());

      Future<Thread> submitted = group.submit(Thread::currentThread);
      assertTrue(loops.contains(submitted.get(PATIENCE_MS, TimeUnit.MILLISECONDS)));
      List<Callable<Boolean>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) calls.add(group::inEventWatcherLoop);
      for (Future<Boolean> result : group.invokeAll(calls)) assertTrue(result.get());
      assertTrue(group.invokeAny(calls));
      assertFalse(group.inEventWatcherLoop(), "the test thread is no loop of the group");
    }
  }

  @Test
  void delayedAndPeriodicTasksRunOnOneLoopOfTheGroup() throws Exception {
    try (EventWatcherGroup group = new EventWatcherGroup(2)) {
      Set<Thread> loops = Collections.newSetFromMap(new IdentityHashMap<>());
      for (EventWatcher watcher : group.watchers()) loops.add(loopThread(watcher));
      ScheduledFuture<Thread> once =
          group.schedule(Thread::currentThread, 1, TimeUnit.MILLISECONDS);
      assertTrue(loops.contains(once.get(PATIENCE_MS, TimeUnit.MILLISECONDS)));

      Set<Thread> periodicOn = ConcurrentHashMap.newKeySet();
      CountDownLatch fiveRuns = new CountDownLatch(5);
      ScheduledFuture<?> periodic =
          group.scheduleAtFixedRate(
              () -> {
                periodicOn.add(Thread.currentThread());
                fiveRuns.countDown();
              },
              0,
              1,
              TimeUnit.MILLISECONDS);
      await(fiveRuns, "five runs at a fixed rate");
      periodic.cancel(false);
      assertEquals(1, periodicOn.size(), "every run of one periodic task on one loop");
      assertTrue(loops.containsAll(periodicOn));

      CountDownLatch threeRuns = new CountDownLatch(3);
      ScheduledFuture<?> delayed =
          group.scheduleWithFixedDelay(threeRuns::countDown, 0, 1, TimeUnit.MILLISECONDS);
      await(threeRuns, "three runs with a fixed delay");
      delayed.cancel(false);
    }
  }

  @Test
  void callsThatWouldWaitForALoopAreRefusedOnTheGroupsLoops() {
    try (EventWatcherGroup group = new EventWatcherGroup(2)) {
      CompletableFuture<List<Class<?>>> refused = new CompletableFuture<>();
      group
          .watchers()
          .get(1)
          .execute(
              () -> {
                List<Class<?>> thrown = new ArrayList<>();
                List<Callable<Integer>> one = List.of(() -> 1);
                try {
                  group.invokeAll(one);
                } catch (Exception e) {
                  thrown.add(e.getClass());
                }
                try {
                  group.invokeAny(one);
                } catch (Exception e) {
                  thrown.add(e.getClass());
                }
                try {
                  group.awaitTermination(1, TimeUnit.MILLISECONDS);
                } catch (Exception e) {
                  thrown.add(e.getClass());
                }
                refused.complete(thrown);
              });
      assertEquals(
          List.of(
              IllegalStateException.class,
              IllegalStateException.class,
              IllegalStateException.class),
          await(refused, "the calls on a loop thread"));
    }
  }

  @Test
  void closeShutsEveryLoopDownAtOnceAndWaitsForAll() throws Exception {
    int live = EventWatcher.liveNativeWatchers();
    EventWatcherGroup group = new EventWatcherGroup(3);
    List<EventWatcher> watchers = group.watchers();
    // Loop 0 holds until the last loop is shut down: a close that waited for loop 0 before
    // shutting the others down would never get there.
    CountDownLatch holding = new CountDownLatch(1);
    CompletableFuture<Boolean> sawLastShutDown = new CompletableFuture<>();
    watchers
        .get(0)
        .execute(
            () -> {
              holding.countDown();
              long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
              while (!watchers.get(2).isShutdown() && System.nanoTime() - deadline < 0) {
                Thread.onSpinWait();
              }
              sawLastShutDown.complete(watchers.get(2).isShutdown());
            });
    await(holding, "loop 0 to hold");
    group.close();
    assertTrue(await(sawLastShutDown, "loop 0's task"), "the last loop was shut down while 0 ran");
    assertTrue(group.isShutdown());
    assertTrue(group.isTerminated());
    for (EventWatcher watcher : watchers) assertTrue(watcher.isTerminated());
    assertEquals(live, EventWatcher.liveNativeWatchers(), "close freed every native watcher");
    assertThrows(RejectedExecutionException.class, () -> group.execute(() -> {}));
    assertThrows(
        RejectedExecutionException.class, () -> group.schedule(() -> {}, 1, TimeUnit.SECONDS));
    group.close(); // idempotent
  }

  @Test
  void closeFromALoopOfTheGroupEndsEveryLoopWithoutWaiting() throws Exception {
    int live = EventWatcher.liveNativeWatchers();
    EventWatcherGroup group = new EventWatcherGroup(2);
    CompletableFuture<Boolean> returned = new CompletableFuture<>();
    group
        .watchers()
        .get(0)
        .execute(
            () -> {
              group.close();
              returned.complete(group.isShutdown());
            });
    assertTrue(await(returned, "close on loop 0 to return"));
    assertTrue(group.awaitTermination(PATIENCE_MS, TimeUnit.MILLISECONDS), "every loop ended");
    TestSupport.eventually(
        () -> EventWatcher.liveNativeWatchers() == live, "the loops to free their watchers");
  }

  @Test
  void executorCallbacksOfTwoLoopsClosingTheGroupAtOnceDoNotWaitForEachOther() throws Exception {
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(2);
    int[] fds = {NativeIO.eventFd(1), NativeIO.eventFd(1)}; // readable from the start
    try {
      EventWatcherGroup group = EventWatcher.builder().executor(pool).buildGroup(2);
      CountDownLatch bothIn = new CountDownLatch(2);
      List<CompletableFuture<Void>> closed =
          List.of(new CompletableFuture<>(), new CompletableFuture<>());
      for (int i = 0; i < 2; i++) {
        int index = i;
        group
            .watchers()
            .get(i)
            .watch(
                fds[i],
                WatchFlag.READ,
                fd -> {
                  if (closed.get(index).isDone()) return;
                  bothIn.countDown();
                  awaitQuietly(bothIn); // each in its callback while the other closes
                  group.close(); // each would wait for the other's callback
                  closed.get(index).complete(null);
                });
      }
      for (CompletableFuture<Void> done : closed) await(done, "close in an executor callback");
      assertTrue(group.awaitTermination(PATIENCE_MS, TimeUnit.MILLISECONDS), "both loops ended");
    } finally {
      pool.shutdown();
      NativeIO.close(fds[0]);
      NativeIO.close(fds[1]);
    }
  }

  @Test
  void shutdownNowReturnsTheTasksOfEveryLoopThatNeverRan() throws Exception {
    try (EventWatcherGroup group = new EventWatcherGroup(2)) {
      CountDownLatch release = new CountDownLatch(1);
      CountDownLatch held = new CountDownLatch(2);
      for (EventWatcher watcher : group.watchers()) {
        watcher.execute(
            () -> {
              held.countDown();
              awaitQuietly(release);
            });
      }
      await(held, "both loops to hold");
      List<Runnable> queued = new ArrayList<>();
      AtomicInteger ran = new AtomicInteger();
      for (int i = 0; i < 4; i++) {
        Runnable task = ran::incrementAndGet;
        queued.add(task);
        group.execute(task);
      }
      List<Runnable> never = group.shutdownNow();
      release.countDown();
      assertTrue(group.awaitTermination(PATIENCE_MS, TimeUnit.MILLISECONDS));
      assertEquals(new HashSet<>(queued), new HashSet<>(never));
      assertEquals(0, ran.get(), "a task returned by shutdownNow ran");
    }
  }
}
