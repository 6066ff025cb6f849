package io.eventwatcher.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A delayed or periodic task and its future, in one object: the only allocation a schedule makes,
 * and none per run. Deadlines are {@link System#nanoTime()} values, compared by subtraction.
 *
 * <p>States: PENDING (queued, or between two runs of a periodic task) → RUNNING → DONE / FAILED, or
 * back to PENDING for a periodic task; PENDING or RUNNING → CANCELLED by {@link #cancel} from any
 * thread, with one compare-and-set: lock-free, and it never waits for the loop. A cancelled pending
 * task is then taken out of the loop's heap ({@link Timers#cancelled}). A run that ends after a
 * cancel keeps CANCELLED; what the task returned or threw is dropped.
 *
 * <p>Threads. {@link #deadline} and {@link #heapIndex} belong to the loop thread once the task is
 * published to it; the links are written before the publishing compare-and-set. Waiters in {@link
 * #get} use the monitor only if someone waits: a run that completes reads {@link #awaited} (after
 * its volatile state write) and notifies only then.
 */
final class ScheduledTask<V> implements RunnableScheduledFuture<V> {
  private static final int PENDING = 0;
  private static final int RUNNING = 1;
  private static final int DONE = 2;
  private static final int FAILED = 3;
  private static final int CANCELLED = 4;

  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(ScheduledTask.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Timers timers;
  private final Object task; // a Runnable or a Callable

  /** 0: one run; > 0: fixed rate, this many ns apart; < 0: fixed delay of -period ns. */
  final long period;

  /**
   * The tie-break among equal deadlines: assigned by {@link TimerQueue#add} as the loop takes the
   * task in, so that no submitter pays an atomic counter. Loop thread.
   */
  long sequence;

  /**
   * When the next run is due, as a System.nanoTime() value; while {@link #deferred}, the delay
   * instead, counted from when the loop takes the task into its heap.
   */
  long deadline;

  /** Scheduled on the loop thread and not yet in its heap: {@link #deadline} is relative. */
  private volatile boolean deferred;

  /** Position in the loop's {@link TimerHeap}, -1 when not in it. Loop thread. */
  int heapIndex = -1;

  /** Links of the submission and cancellation stacks of {@link Timers}. */
  ScheduledTask<?> nextSubmitted;

  ScheduledTask<?> nextCancelled;

  /** This task's depth in the cancellation stack (1 at the bottom): counts cancels to a wake. */
  int cancelDepth;

  private volatile int state;
  private volatile boolean awaited;
  private Object outcome; // the value or the Throwable; published by the state write

  ScheduledTask(Timers timers, Object task, long deadline, long period, boolean deferred) {
    this.timers = timers;
    this.task = task;
    this.deadline = deadline;
    this.period = period;
    this.deferred = deferred;
  }

  /** Loop thread: fixes a deferred task's deadline, {@code now} plus its delay. */
  void fixDeadline(long now) {
    deadline += now;
    deferred = false;
  }

  /** Whether this runs before {@code other}: earlier deadline, or equal and scheduled first. */
  boolean isBefore(ScheduledTask<?> other) {
    long difference = deadline - other.deadline;
    return difference < 0 || (difference == 0 && sequence < other.sequence);
  }

  /**
   * Runs the task once if it is pending (its Future gets what it returns or throws; a periodic task
   * that throws is not run again, as ScheduledExecutorService specifies). Never throws. The loop
   * thread calls it; a direct call from another thread runs it there once.
   */
  @Override
  @SuppressWarnings("unchecked")
  public void run() {
    if (!STATE.compareAndSet(this, PENDING, RUNNING)) return;
    Object value;
    try {
      value = task instanceof Runnable runnable ? runNull(runnable) : ((Callable<V>) task).call();
    } catch (Throwable e) {
      complete(FAILED, e);
      return;
    }
    if (period == 0) {
      complete(DONE, value);
    } else {
      STATE.compareAndSet(this, RUNNING, PENDING); // a cancel during the run keeps CANCELLED
    }
  }

  private static Object runNull(Runnable runnable) {
    runnable.run();
    return null;
  }

  /** Loop thread, after {@link #run}: moves a periodic task to its next deadline if it stays. */
  boolean rearm() {
    if (period == 0 || state != PENDING) return false;
    deadline = period > 0 ? deadline + period : System.nanoTime() - period;
    return true;
  }

  private void complete(int finalState, Object result) {
    outcome = result;
    if (STATE.compareAndSet(this, RUNNING, finalState)) wakeWaiters();
  }

  /**
   * Cancels the task unless it completed: it never runs (again). Lock-free from any thread; never
   * waits for the loop, and never interrupts it ({@code mayInterruptIfRunning} is ignored: the task
   * runs on the loop thread, which must not be interrupted).
   */
  @Override
  public boolean cancel(boolean mayInterruptIfRunning) {
    for (; ; ) {
      int current = state;
      if (current >= DONE) return false;
      if (STATE.compareAndSet(this, current, CANCELLED)) {
        wakeWaiters();
        if (current == PENDING) timers.cancelled(this);
        return true;
      }
    }
  }

  private void wakeWaiters() {
    if (awaited) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  /** Loop thread, at close: cancels a task that will never run. */
  void abandon() {
    if (STATE.compareAndSet(this, PENDING, CANCELLED)) wakeWaiters();
  }

  @Override
  public boolean isPeriodic() {
    return period != 0;
  }

  @Override
  public boolean isCancelled() {
    return state == CANCELLED;
  }

  @Override
  public boolean isDone() {
    return state >= DONE;
  }

  /**
   * Waits for the result. Throws {@link IllegalStateException} on the loop thread of the watcher
   * that runs this task while it is not done: the wait could never end.
   */
  @Override
  public V get() throws InterruptedException, ExecutionException {
    if (!isDone()) {
      checkNotLoop();
      synchronized (this) {
        awaited = true;
        while (!isDone()) wait();
      }
    }
    return report();
  }

  @Override
  public V get(long timeout, TimeUnit unit)
      throws InterruptedException, ExecutionException, TimeoutException {
    if (!isDone()) {
      checkNotLoop();
      long end = System.nanoTime() + unit.toNanos(timeout);
      synchronized (this) {
        awaited = true;
        for (long left; !isDone(); ) {
          if ((left = end - System.nanoTime()) <= 0) throw new TimeoutException();
          TimeUnit.NANOSECONDS.timedWait(this, left);
        }
      }
    }
    return report();
  }

  private void checkNotLoop() {
    if (timers.onLoopThread()) {
      throw new IllegalStateException(
          "Future.get on the loop thread that runs the task would wait forever");
    }
  }

  @SuppressWarnings("unchecked")
  private V report() throws ExecutionException {
    int current = state;
    if (current == CANCELLED) throw new CancellationException();
    if (current == FAILED) throw new ExecutionException((Throwable) outcome);
    return (V) outcome;
  }

  @Override
  public long getDelay(TimeUnit unit) {
    for (; ; ) {
      boolean relative = deferred;
      long value = deadline; // a plain read racing with the loop: checked by re-reading deferred
      if (relative == deferred) {
        return unit.convert(relative ? value : value - System.nanoTime(), TimeUnit.NANOSECONDS);
      }
    }
  }

  @Override
  public int compareTo(Delayed other) {
    if (other == this) return 0;
    if (other instanceof ScheduledTask<?> task) return isBefore(task) ? -1 : 1;
    return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
  }

  @Override
  public String toString() {
    String status =
        switch (state) {
          case DONE -> "Completed normally";
          case FAILED -> "Completed exceptionally: " + outcome;
          case CANCELLED -> "Cancelled";
          default -> "Not completed, due in " + getDelay(TimeUnit.NANOSECONDS) + " ns";
        };
    return super.toString() + "[" + status + ", task = " + task + "]";
  }
}
