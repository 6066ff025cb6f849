package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.bytes;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static io.eventwatcher.TestSupport.onLoop;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.SocketPair;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One callback per (fd, flag): a watch replaces the registered callback, which is never called
 * again once watch returns; READ and WRITE of one fd are registered, called and unwatched
 * independently. Inline callbacks run on the loop thread.
 */
class RegistrationTest {
  @Test
  void rewatchReplacesAndTheOldCallbackIsNeverCalledAfterWatchReturns() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      AtomicBoolean replaced = new AtomicBoolean();
      AtomicInteger firstCalls = new AtomicInteger();
      AtomicInteger lateFirstCalls = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            if (replaced.get()) lateFirstCalls.incrementAndGet();
            firstCalls.incrementAndGet();
          });
      eventually(() -> firstCalls.get() > 0, "the first callback");
      Counter second = new Counter();
      watcher.watch(pipe.r, WatchFlag.READ, second);
      replaced.set(true);
      eventually(() -> second.calls() >= 3, "the replacing callback");
      flushTurns(watcher);
      assertEquals(0, lateFirstCalls.get(), "the replaced callback ran after watch returned");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void callbackCanReplaceItself() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      Counter second = new Counter();
      AtomicInteger firstCalls = new AtomicInteger();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            firstCalls.incrementAndGet();
            watcher.watch(fd, WatchFlag.READ, second);
          });
      eventually(() -> second.calls() >= 3, "the replacing callback");
      assertEquals(1, firstCalls.get());
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void readAndWriteShareAnFdButNotARegistration() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        SocketPair sockets = new SocketPair()) {
      int fd = sockets.a;
      Counter reads = new Counter();
      Counter writes = new Counter();
      watcher.watch(fd, WatchFlag.READ, reads);
      watcher.watch(fd, WatchFlag.WRITE, writes);
      eventually(() -> writes.calls() >= 3, "the write callback of a writable socket");
      assertEquals(0, reads.calls(), "READ called on a socket with nothing to read");

      assertEquals(1, NativeIO.write(sockets.b, bytes(1))); // a: readable and writable
      eventually(() -> reads.calls() > 0, "the read callback");

      watcher.unwatch(fd, WatchFlag.WRITE);
      int writeCalls = writes.calls();
      int readCalls = reads.calls();
      flushTurns(watcher);
      assertEquals(writeCalls, writes.calls(), "WRITE called after its unwatch");
      assertTrue(reads.calls() > readCalls, "unwatching WRITE must keep READ");

      watcher.watch(fd, WatchFlag.WRITE, writes);
      watcher.unwatch(fd, WatchFlag.READ);
      int readsAfter = reads.calls();
      int writesBefore = writes.calls();
      flushTurns(watcher);
      assertEquals(readsAfter, reads.calls(), "READ called after its unwatch");
      assertTrue(writes.calls() > writesBefore, "unwatching READ must keep WRITE");
      watcher.unwatch(fd, WatchFlag.WRITE);
    }
  }

  @Test
  void writeOnlyRegistrationIgnoresReadability() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        SocketPair sockets = new SocketPair()) {
      Counter reads = new Counter();
      watcher.watch(sockets.a, WatchFlag.READ, reads);
      watcher.unwatch(sockets.a, WatchFlag.READ);
      Counter writes = new Counter();
      watcher.watch(sockets.a, WatchFlag.WRITE, writes);
      assertEquals(1, NativeIO.write(sockets.b, bytes(1)));
      eventually(() -> writes.calls() > 2, "the write callback");
      flushTurns(watcher);
      assertEquals(0, reads.calls(), "the unwatched READ callback was called");
      watcher.unwatch(sockets.a, WatchFlag.WRITE);
    }
  }

  @Test
  void callbackReceivesItsFdOnTheLoopThread() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      CompletableFuture<Integer> seenFd = new CompletableFuture<>();
      CompletableFuture<Boolean> inLoop = new CompletableFuture<>();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            inLoop.complete(watcher.inEventWatcherLoop());
            seenFd.complete(fd);
          });
      assertEquals(pipe.r, await(seenFd, "the callback"));
      assertTrue(await(inLoop, "the callback"), "inline callback not on the loop thread");
    }
  }

  @Test
  void watchMadeOnTheLoopThreadApplies() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      Counter counter = new Counter();
      onLoop(watcher, () -> watcher.watch(pipe.r, WatchFlag.READ, counter));
      pipe.fill();
      eventually(() -> counter.calls() > 0, "the callback registered from a task");
      onLoop(watcher, () -> watcher.unwatch(pipe.r, WatchFlag.READ));
      int calls = counter.calls();
      flushTurns(watcher);
      assertEquals(calls, counter.calls(), "called after an unwatch made on the loop thread");
    }
  }
}
