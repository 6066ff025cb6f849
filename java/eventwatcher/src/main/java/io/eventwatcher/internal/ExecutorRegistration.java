package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A registration whose calls run on an executor. It is itself the task handed to the executor, and
 * carries its landing task, so a hand-off allocates nothing of ours.
 *
 * <p>State, one int: IDLE (armed, or waiting to be), QUEUED (handed to the executor), RUNNING (the
 * call has started), each with the RETIRED bit once it left the table. The loop moves IDLE to
 * QUEUED; the executor thread moves QUEUED to RUNNING, which fails once RETIRED is set, so a call
 * queued behind a removal never starts and nobody waits for it (a bounded executor cannot
 * deadlock); the call's end moves RUNNING back to IDLE.
 */
final class ExecutorRegistration extends Registration implements Runnable {
  // IDLE is 0, the state of a new registration.
  private static final int QUEUED = 1;
  private static final int RUNNING = 2;
  private static final int RETIRED = 4;
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(ExecutorRegistration.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final ExecutorDispatch dispatch;

  /** Loop thread: the landing task, run on the loop once a call has ended or was skipped. */
  final InternalTask landing;

  /**
   * Loop thread: registered natively without being armed, because a call of an earlier registration
   * of the same (fd, flag) was in flight; armed when that call lands.
   */
  boolean deferred;

  @SuppressWarnings("unused") // accessed through STATE
  private volatile int state;

  private volatile Thread runner;

  ExecutorRegistration(
      ExecutorDispatch dispatch,
      int fd,
      int flag,
      WatchCallback callback,
      long turn,
      boolean deferred) {
    super(fd, flag, callback, turn);
    this.dispatch = dispatch;
    this.deferred = deferred;
    this.landing = () -> dispatch.landed(this);
  }

  /** Executor thread: the hand-off. */
  @Override
  public void run() {
    dispatch.run(this);
  }

  /** Loop thread: marks the hand-off, from IDLE. */
  void queue() {
    STATE.setVolatile(this, QUEUED);
  }

  /** Executor thread: claims the call; false if it was retired first (the call is skipped). */
  boolean start() {
    if (!STATE.compareAndSet(this, QUEUED, RUNNING)) return false;
    runner = Thread.currentThread();
    return true;
  }

  /** Executor thread: the call returned. */
  void finish() {
    runner = null;
    STATE.getAndBitwiseAnd(this, ~RUNNING);
  }

  /** Loop thread: the registration left the table; a call not started yet never starts. */
  void retire() {
    STATE.getAndBitwiseOr(this, RETIRED);
  }

  boolean isRetired() {
    return ((int) STATE.getVolatile(this) & RETIRED) != 0;
  }

  /** Whether a call of this registration is running on a thread other than the caller's. */
  boolean runningElsewhere() {
    return ((int) STATE.getVolatile(this) & RUNNING) != 0 && runner != Thread.currentThread();
  }
}
