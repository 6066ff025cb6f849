package io.eventwatcher;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What {@link EventWatcher} and {@link EventWatcherGroup} share as executors: their tasks run on
 * loop threads, so the calls that wait for tasks refuse those threads, where the task waited for
 * could be queued behind the waiting caller and never run.
 */
abstract class LoopExecutorService extends AbstractExecutorService
    implements ScheduledExecutorService, AutoCloseable {

  LoopExecutorService() {}

  /** Closes without throwing a checked exception (AutoCloseable's close would). */
  @Override
  public abstract void close();

  /** Whether the calling thread is a loop thread that runs this executor's tasks. */
  abstract boolean callerIsLoop();

  /**
   * Runs the tasks on the loop thread (a group's: spread over its loops) and waits for all of them.
   * Not on a loop thread of this executor.
   *
   * @throws IllegalStateException on a loop thread of this executor, which could wait for itself
   * @throws RejectedExecutionException if it is shut down
   */
  @Override
  public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks)
      throws InterruptedException {
    checkMayWait("invokeAll");
    return super.invokeAll(tasks);
  }

  /**
   * As {@link #invokeAll(Collection)}, cancelling the tasks not done by the timeout.
   *
   * @throws IllegalStateException on a loop thread of this executor, which could wait for itself
   * @throws RejectedExecutionException if it is shut down
   */
  @Override
  public <T> List<Future<T>> invokeAll(
      Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
      throws InterruptedException {
    checkMayWait("invokeAll");
    return super.invokeAll(tasks, timeout, unit);
  }

  /**
   * Runs the tasks on the loop thread (a group's: spread over its loops) and returns the result of
   * one that succeeded. Not on a loop thread of this executor.
   *
   * @throws IllegalStateException on a loop thread of this executor, which could wait for itself
   * @throws RejectedExecutionException if it is shut down
   */
  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks)
      throws InterruptedException, ExecutionException {
    checkMayWait("invokeAny");
    return super.invokeAny(tasks);
  }

  /**
   * As {@link #invokeAny(Collection)}, within a timeout.
   *
   * @throws IllegalStateException on a loop thread of this executor, which could wait for itself
   * @throws RejectedExecutionException if it is shut down
   */
  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
      throws InterruptedException, ExecutionException, TimeoutException {
    checkMayWait("invokeAny");
    return super.invokeAny(tasks, timeout, unit);
  }

  /** Throws IllegalStateException naming {@code method} if called on a loop thread. */
  final void checkMayWait(String method) {
    if (callerIsLoop()) {
      throw new IllegalStateException(method + " on a loop thread would wait for its own loop");
    }
  }
}
