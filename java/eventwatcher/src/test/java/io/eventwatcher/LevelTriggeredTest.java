package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.SocketPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Level-triggered readiness: while an fd stays ready its callback is called again on every turn;
 * once it is not ready (drained, or full), it is not called until it is ready again.
 */
class LevelTriggeredTest {
  @Test
  void callbackRepeatsWhileFdStaysReadable() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill(); // never drained
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Void> fifth = new CompletableFuture<>();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            if (calls.incrementAndGet() == 5) fifth.complete(null);
          });
      await(fifth, "the fifth call of a never-drained pipe's callback");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void callbackRepeatsWhileFdStaysWritable() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        SocketPair sockets = new SocketPair()) {
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Void> fifth = new CompletableFuture<>();
      watcher.watch(
          sockets.a,
          WatchFlag.WRITE,
          fd -> {
            if (calls.incrementAndGet() == 5) fifth.complete(null);
          });
      await(fifth, "the fifth call of an always-writable socket's callback");
      watcher.unwatch(sockets.a, WatchFlag.WRITE);
    }
  }

  @Test
  void drainedFdIsNotReportedUntilReadyAgain() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      AtomicInteger calls = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            calls.incrementAndGet();
            pipe.drain();
          });
      pipe.fill();
      eventually(() -> calls.get() == 1, "the first call");
      flushTurns(watcher, 5);
      assertEquals(1, calls.get(), "a drained pipe was reported again");
      pipe.fill();
      eventually(() -> calls.get() == 2, "the call after the pipe became readable again");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void fullPipeIsNotWritableUntilDrained() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fillUp();
      Counter writable = new Counter();
      watcher.watch(pipe.w, WatchFlag.WRITE, writable);
      flushTurns(watcher);
      assertEquals(0, writable.calls(), "a full pipe was reported writable");
      pipe.drain();
      eventually(() -> writable.calls() > 0, "the write callback once the pipe has room");
      watcher.unwatch(pipe.w, WatchFlag.WRITE);
    }
  }

  @Test
  void oneEventPerWaitStillServesEveryReadyFd() throws Exception {
    List<Pipe> pipes = new ArrayList<>();
    try (EventWatcher watcher = EventWatcher.builder().maxEventsPerWait(1).build()) {
      List<Counter> counters = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Pipe pipe = new Pipe();
        pipes.add(pipe);
        pipe.fill();
        Counter counter = new Counter();
        counters.add(counter);
        watcher.watch(pipe.r, WatchFlag.READ, counter);
      }
      eventually(
          () -> counters.stream().allMatch(counter -> counter.calls() >= 3),
          "every ready fd served over several turns");
      watcher.unwatchAll();
    } finally {
      for (Pipe pipe : pipes) pipe.close();
    }
  }
}
