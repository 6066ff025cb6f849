package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;

/**
 * How a ready registration's callback is called: {@link InlineDispatch} on the loop thread, or
 * {@link ExecutorDispatch} on an executor. The {@link Reactor} keeps the table and the native
 * registrations in step; the strategy adds what its threads need.
 */
interface Dispatch {
  /** Loop thread: calls, or hands off, the callback of {@code registration}, which is current. */
  void dispatch(Registration registration);

  /**
   * Loop thread: makes the registration for a watch of (fd, flag), before it becomes current;
   * {@code slot} is the fd's slot as it is, or null if the fd was never watched.
   */
  Registration create(Slot slot, int fd, int flag, WatchCallback callback, long turn);

  /** Loop thread: whether {@code registration} must be registered natively without arming it. */
  boolean armsLater(Registration registration);

  /** Loop thread: {@code registration} left the table (replaced, unwatched, closing). */
  void retired(Registration registration);

  /**
   * Any thread, after {@link #retired}: waits until no call of {@code registration} is running,
   * unless the caller is that call or the loop thread, which must never block on callbacks.
   */
  void awaitIdle(Registration registration);

  /** Any thread but the loop's, once the loop has ended: waits for calls still running. */
  void awaitCalls();

  /**
   * Whether the calling thread is running a callback of this dispatch off the loop thread (on the
   * executor), which a close waiting for calls would wait for. Any thread.
   */
  boolean callerIsCallback();
}
