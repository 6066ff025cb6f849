package io.eventwatcher;

import static io.eventwatcher.TestSupport.onLoop;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Pipe;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Inline mode pays for nothing it does not use: a watch on the loop thread allocates its
 * registration object and nothing else (no lock, no condition, no lambda), measured with the JVM's
 * per-thread allocation counter, which counts bytes exactly.
 */
class AllocationTest {
  /** Pairs per measurement; the first round warms the code up (JIT, the fd's slot). */
  private static final int PAIRS = 20_000;

  @Test
  void inlineWatchAndUnwatchOnTheLoopThreadAllocateOnlyTheRegistration() throws Exception {
    Assumptions.assumeTrue(
        ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean,
        "this JVM counts no per-thread allocation");
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      WatchCallback callback = fd -> {};
      long[] perPair = new long[1];
      for (int round = 0; round < 3; round++) {
        onLoop(
            watcher,
            () -> {
              long thread = Thread.currentThread().getId();
              long before = threads.getThreadAllocatedBytes(thread);
              for (int i = 0; i < PAIRS; i++) {
                watcher.watch(pipe.r, WatchFlag.READ, callback);
                watcher.unwatch(pipe.r, WatchFlag.READ);
              }
              perPair[0] = (threads.getThreadAllocatedBytes(thread) - before) / PAIRS;
            });
      }
      // A registration is 32 bytes (header, fd, flag, callback, turn) with compressed oops and 40
      // without; a lock and condition per watch, as executor mode once made inline mode pay, is
      // 80 more.
      assertTrue(perPair[0] <= 48, perPair[0] + " bytes allocated per watch + unwatch pair");
    }
  }
}
