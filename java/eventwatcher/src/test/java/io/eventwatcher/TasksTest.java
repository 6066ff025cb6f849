package io.eventwatcher;

import static io.eventwatcher.TestSupport.asleepInEpollWaitWithoutTimeout;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.sync;
import static io.eventwatcher.TestSupport.taskNamed;
import static io.eventwatcher.TestSupport.uniqueThreadName;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Pipe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * runInEventWatcherLoop: tasks run on the loop thread, in submission order per submitting thread,
 * after the callback or task that submitted them (never re-entrantly) and without starving I/O; a
 * submission from another thread wakes a loop asleep in epoll_wait.
 */
class TasksTest {
  @Test
  void runOnTheLoopThread() {
    try (EventWatcher watcher = new EventWatcher()) {
      assertFalse(watcher.inEventWatcherLoop());
      CompletableFuture<Boolean> inLoop = new CompletableFuture<>();
      CompletableFuture<Thread> thread = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(
          () -> {
            inLoop.complete(watcher.inEventWatcherLoop());
            thread.complete(Thread.currentThread());
          });
      assertTrue(await(inLoop, "the task"), "inEventWatcherLoop() false inside a task");
      assertNotSame(Thread.currentThread(), await(thread, "the task"));
      // Every task runs on that same thread.
      assertSame(await(thread, "the task"), TestSupport.loopThread(watcher));
    }
  }

  @Test
  void fifoPerSubmittingThread() throws Exception {
    int threads = 4;
    int tasksPerThread = 2000;
    try (EventWatcher watcher = new EventWatcher()) {
      int[] last = new int[threads]; // loop thread only
      java.util.Arrays.fill(last, -1);
      AtomicInteger outOfOrder = new AtomicInteger();
      AtomicInteger ran = new AtomicInteger();
      CountDownLatch start = new CountDownLatch(1);
      List<Thread> submitters = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int submitter = t;
        Thread thread =
            new Thread(
                () -> {
                  TestSupport.awaitQuietly(start);
                  for (int i = 0; i < tasksPerThread; i++) {
                    int sequence = i;
                    watcher.runInEventWatcherLoop(
                        () -> {
                          if (last[submitter] != sequence - 1) outOfOrder.incrementAndGet();
                          last[submitter] = sequence;
                          ran.incrementAndGet();
                        });
                  }
                },
                "submitter-" + t);
        submitters.add(thread);
        thread.start();
      }
      start.countDown();
      for (Thread thread : submitters) thread.join(TestSupport.PATIENCE_MS);
      eventually(() -> ran.get() == threads * tasksPerThread, "every task");
      assertEquals(0, outOfOrder.get(), "tasks of one thread ran out of submission order");
    }
  }

  @Test
  void taskFromAnotherThreadWakesALoopAsleepWithoutTimeout() {
    String name = uniqueThreadName("ew-tasks");
    try (EventWatcher watcher = EventWatcher.builder().threadName(name).build()) {
      sync(watcher);
      Path loop = taskNamed(name);
      for (int i = 0; i < 20; i++) {
        // The loop sleeps in epoll_wait with no timeout: only the submission can wake it.
        eventually(
            () -> asleepInEpollWaitWithoutTimeout(loop),
            "the loop to sleep in epoll_wait with no timeout");
        sync(watcher);
      }
    }
  }

  @Test
  void taskFromACallbackRunsAfterTheCallbackReturns() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      boolean[] inCallback = {false}; // loop thread only
      CompletableFuture<Boolean> ranInside = new CompletableFuture<>();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            inCallback[0] = true;
            watcher.runInEventWatcherLoop(() -> ranInside.complete(inCallback[0]));
            inCallback[0] = false;
          });
      pipe.fill();
      assertFalse(
          await(ranInside, "the task"), "the task ran inside the callback that submitted it");
    }
  }

  @Test
  void taskFromATaskRunsAfterIt() {
    try (EventWatcher watcher = new EventWatcher()) {
      List<Integer> order = new ArrayList<>(); // loop thread only
      CompletableFuture<List<Integer>> done = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(
          () -> {
            watcher.runInEventWatcherLoop(
                () -> {
                  order.add(2);
                  done.complete(order);
                });
            order.add(1);
          });
      assertEquals(List.of(1, 2), await(done, "the nested task"));
    }
  }

  @Test
  void taskKeepingItselfQueuedDoesNotStarveIo() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      CompletableFuture<Void> ioServed = new CompletableFuture<>();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> ioServed.complete(null));
      Runnable[] resubmit = new Runnable[1];
      resubmit[0] =
          () -> {
            if (!ioServed.isDone()) watcher.runInEventWatcherLoop(resubmit[0]);
          };
      watcher.runInEventWatcherLoop(resubmit[0]);
      pipe.fill();
      await(ioServed, "the read callback while a task keeps resubmitting itself");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void nullTaskIsRejected() {
    try (EventWatcher watcher = new EventWatcher()) {
      assertThrows(NullPointerException.class, () -> watcher.runInEventWatcherLoop(null));
    }
  }
}
