package io.eventwatcher.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps a native handle alive while other threads use it. A thread brackets its native call with
 * {@link #acquire()} / {@link #release()}; the owner calls {@link #close()} before freeing the
 * handle, which refuses new users and waits for current ones. Users hold it for one short native
 * call (a wakeup), so close spins briefly rather than parking.
 *
 * <p>Invariant: the sign bit means closed; the low bits count current users.
 */
final class HandleGuard {
  private static final int CLOSED = Integer.MIN_VALUE;

  private final AtomicInteger state = new AtomicInteger();

  /**
   * Registers a user. Any thread.
   *
   * @return false if closed (the handle must not be used)
   */
  boolean acquire() {
    for (; ; ) {
      int current = state.get();
      if (current < 0) return false;
      if (state.compareAndSet(current, current + 1)) return true;
    }
  }

  /** Ends a use begun by a successful {@link #acquire()}. Any thread. */
  void release() {
    state.decrementAndGet();
  }

  /** Refuses new users and waits until current ones have released. Idempotent; any thread. */
  void close() {
    int current;
    do {
      current = state.get();
    } while (current >= 0 && !state.compareAndSet(current, current | CLOSED));
    while (state.get() != CLOSED) {
      Thread.onSpinWait();
      Thread.yield();
    }
  }
}
