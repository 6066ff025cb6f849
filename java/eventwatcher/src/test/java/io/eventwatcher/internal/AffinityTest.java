package io.eventwatcher.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Thread-affinity rules are assertions, not prose: with {@code -ea} (the test JVM's setting), a
 * loop-thread-only call from another thread fails at once instead of racing.
 */
class AffinityTest {
  @Test
  void loopThreadOnlyCallsFromAnotherThreadFailAnAssertion() throws Exception {
    assertTrue(NativeWatcher.class.desiredAssertionStatus(), "the test JVM runs without -ea");
    NativeLibrary.ensureAvailable();
    NativeWatcher watcher = NativeWatcher.create(4, false);
    try {
      Thread owner = new Thread(watcher::begin, "affinity-owner");
      owner.start();
      owner.join();
      assertThrows(AssertionError.class, () -> watcher.turn(0));
      assertThrows(AssertionError.class, () -> watcher.watch(0, Native.READ, false));
      assertThrows(AssertionError.class, () -> watcher.unwatch(0, Native.READ));
      assertThrows(AssertionError.class, () -> watcher.resume(0, Native.READ));
      assertThrows(AssertionError.class, watcher::unwatchAll);
      assertThrows(AssertionError.class, watcher::closeGuard);
    } finally {
      watcher.destroyUnstarted();
    }
  }
}
