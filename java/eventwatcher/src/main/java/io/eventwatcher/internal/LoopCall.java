package io.eventwatcher.internal;

import java.io.IOException;
import java.util.concurrent.locks.LockSupport;

/**
 * An operation another thread hands to the loop thread and waits for, with its result or what it
 * threw. The waiter spins briefly before it parks: the loop usually answers within microseconds,
 * and a park/unpark pair costs about as much as the whole round trip.
 */
final class LoopCall<T> implements InternalTask {
  /** An operation that runs on the loop thread. */
  @FunctionalInterface
  interface Operation<T> {
    T run() throws IOException;
  }

  private static final int SPINS = 1 << 10;

  private final Operation<T> operation;
  private final Reactor reactor;
  private final Thread waiter = Thread.currentThread();
  private T result;
  private Throwable failure;
  private volatile boolean done;

  LoopCall(Operation<T> operation, Reactor reactor) {
    this.operation = operation;
    this.reactor = reactor;
  }

  /** Loop thread: runs the operation, unless the watcher closed meanwhile. */
  @Override
  public void run() {
    try {
      reactor.ensureOpen();
      result = operation.run();
    } catch (Throwable e) {
      failure = e;
    }
    done = true;
    LockSupport.unpark(waiter);
  }

  /**
   * The waiting thread: returns the result once the loop ran the operation, or rethrows what it
   * threw. Interrupts do not end the wait (the operation may be running); the interrupt status is
   * restored before returning.
   */
  T await() throws IOException {
    for (int i = 0; i < SPINS && !done; i++) Thread.onSpinWait();
    boolean interrupted = false;
    while (!done) {
      LockSupport.park(this);
      interrupted |= Thread.interrupted();
    }
    if (interrupted) Thread.currentThread().interrupt();
    if (failure == null) return result;
    if (failure instanceof IOException io) throw io;
    if (failure instanceof RuntimeException runtime) throw runtime;
    if (failure instanceof Error error) throw error;
    throw new IllegalStateException(failure);
  }
}
