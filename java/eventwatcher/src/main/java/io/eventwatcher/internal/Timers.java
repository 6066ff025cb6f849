package io.eventwatcher.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * A watcher's delayed and periodic tasks: the loop thread's {@link TimerQueue}, fed from other
 * threads through two lock-free stacks, and the rule that decides when a submission must wake the
 * loop.
 *
 * <p>Why Java keeps the queue (Netty's design) rather than the core's timer heap: a fired timer is
 * a Java object with a Future; firing it from a Java heap costs no JNI crossing and no allocation,
 * and only the next deadline crosses to the native wait, as its timeout (nanoseconds,
 * epoll_pwait2). The native core keeps its own heap for C++ users only: one ordering structure per
 * path.
 *
 * <p>Submissions from another thread push onto {@code submitted} (one compare-and-set, linked
 * through the task itself, so no node is allocated); the loop moves them into the heap before each
 * wait, oldest first. Cancels from another thread push onto {@code cancelledStack}, which the loop
 * drains the same way, removing each task from the heap: a cancelled timer leaves the queue at the
 * next turn. Every {@value #CANCEL_BATCH}th such cancel (counted by the depth of the stack, kept in
 * its nodes) wakes the loop, so an idle loop holds at most that many dead entries.
 *
 * <p>Cost from another thread: a schedule is one clock read, one allocation and one
 * compare-and-set, plus a read of {@code wakeAt}; it touches the native handle (and its guard) only
 * when it must wake the loop. What keeps a task from landing after close is {@link #closed}: the
 * loop swaps it into {@code submitted} as it abandons the pending tasks, and a submitter that meets
 * it is refused. So a push either lands before the swap (and the task is abandoned, its Future
 * cancelled) or is refused: none is lost. The contended fields sit on cache lines of their own (see
 * {@link TimersLayout}), so that the loop's writes to {@code wakeAt} and its reads of its own
 * fields do not bounce the line that submitters compare-and-set.
 *
 * <p>Waking. Before it waits, the loop publishes {@code wakeAt}: the deadline it will wake at
 * ({@link #FOREVER} for none), then checks {@code submitted} again; while it is not waiting, {@code
 * wakeAt} is {@link #AWAKE}. A submitter pushes, then reads {@code wakeAt}; it wakes the loop only
 * if its deadline comes first, and only the submitter whose compare-and-set moves {@code wakeAt} to
 * AWAKE writes the eventfd. Both sides use volatile accesses, which Java orders sequentially:
 * either the loop sees the push, or the submitter sees the deadline the loop waits for. So
 * scheduling far ahead of the next deadline costs no syscall.
 */
final class Timers extends TimersLayout.WakeAt {
  private static final long AWAKE = Long.MIN_VALUE;
  private static final long FOREVER = Long.MAX_VALUE;
  private static final int CANCEL_BATCH = 4096;

  /** Longer delays are clamped, so that deadline subtraction never overflows (146 years). */
  private static final long MAX_DELAY_NANOS = Long.MAX_VALUE >> 1;

  private static final VarHandle SUBMITTED;
  private static final VarHandle CANCELLED_STACK;
  private static final VarHandle WAKE_AT;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      SUBMITTED =
          lookup.findVarHandle(TimersLayout.Submitted.class, "submitted", ScheduledTask.class);
      CANCELLED_STACK =
          lookup.findVarHandle(TimersLayout.Cancelled.class, "cancelledStack", ScheduledTask.class);
      WAKE_AT = lookup.findVarHandle(TimersLayout.WakeAt.class, "wakeAt", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  Timers(Reactor reactor) {
    super(reactor);
  }

  /**
   * A task due after {@code delay}, not yet scheduled. Any thread. On the loop thread its deadline
   * is deferred: see {@link #schedule}.
   */
  <V> ScheduledTask<V> task(Object task, long delay, TimeUnit unit, long period) {
    long nanos = Math.min(Math.max(unit.toNanos(delay), 0), MAX_DELAY_NANOS);
    boolean onLoop = reactor.inLoop();
    long deadline = onLoop ? nanos : System.nanoTime() + nanos;
    return new ScheduledTask<>(this, task, deadline, period, onLoop);
  }

  /** A task that {@code submit} runs through the task queue, with no deadline. Any thread. */
  <V> ScheduledTask<V> immediate(Object task) {
    return new ScheduledTask<>(this, task, 0, 0, false);
  }

  boolean onLoopThread() {
    return reactor.inLoop();
  }

  /**
   * Hands {@code task} to the loop. Any thread.
   *
   * @return false if the watcher is closing (the task will never run)
   */
  boolean schedule(ScheduledTask<?> task) {
    if (reactor.inLoop()) {
      // Deferred: the task waits on a list, its deadline relative, until the loop prepares its
      // next wait, which reads the clock anyway and then fixes every deadline from that one read.
      // A timer armed and cancelled within a turn (a request's timeout) so costs no clock read and
      // no heap operation. It is never early (the deadline counts from a later clock read) and
      // late by at most the rest of the turn, which it could not have used: timers run between
      // turns.
      if (reactor.isClosed()) return false;
      task.nextSubmitted = deferredList;
      deferredList = task;
      return true;
    }
    if (reactor.isClosed()) return false;
    for (ScheduledTask<?> head; ; ) {
      head = submitted;
      if (head == closed) return false; // the loop has abandoned its tasks: this one would leak
      task.nextSubmitted = head;
      if (SUBMITTED.compareAndSet(this, head, task)) break;
    }
    long target = wakeAt;
    if (target != AWAKE
        && (target == FOREVER || task.deadline - target < 0)
        && WAKE_AT.compareAndSet(this, target, AWAKE)) {
      reactor.wakeIfOpen(); // closing wakes the loop anyway, and abandons this task
    }
    return true;
  }

  /** Takes a cancelled pending task out of the heap: at once on the loop, else next turn. */
  void cancelled(ScheduledTask<?> task) {
    if (reactor.inLoop()) {
      queue.remove(task); // not in it yet if still on the submission stack: skipped there
      return;
    }
    int depth;
    for (ScheduledTask<?> head; ; ) {
      task.nextCancelled = head = cancelledStack;
      task.cancelDepth = depth = head == null ? 1 : head.cancelDepth + 1;
      if (CANCELLED_STACK.compareAndSet(this, head, task)) break;
    }
    if (depth % CANCEL_BATCH == 0) reactor.wakeIfOpen();
  }

  /**
   * Loop thread, before a wait: takes in what other threads submitted and cancelled, and returns
   * the wait's timeout in nanoseconds: 0 if a timer is due (or {@code mustNotBlock}), -1 if none is
   * pending.
   */
  long prepareWait(boolean mustNotBlock) {
    takeSubmissions();
    if (mustNotBlock) return 0;
    ScheduledTask<?> first = queue.peek();
    long target = first == null ? FOREVER : first.deadline;
    if (target == AWAKE) target++; // a real deadline equal to a marker only wakes a little early
    wakeAt = target;
    if (submitted != null) {
      wakeAt = AWAKE; // a submission raced with the publication: take it next turn
      return 0;
    }
    if (first == null) return -1;
    return Math.max(first.deadline - System.nanoTime(), 0);
  }

  /** Loop thread, after a wait returns: no submitter needs to wake it until the next wait. */
  void awake() {
    if (wakeAt != AWAKE) wakeAt = AWAKE; // a submitter that woke the loop wrote it already
  }

  /** Loop thread: runs up to {@code budget} timers due by now, earliest first. */
  void runDue(int budget) {
    if (queue.isEmpty()) return;
    long now = System.nanoTime();
    for (int fired = 0; fired < budget; ) {
      ScheduledTask<?> first = queue.peek();
      if (first == null || first.deadline - now > 0) return;
      queue.poll();
      if (first.isCancelled()) continue; // cancelled elsewhere; its removal is still queued
      fired++;
      first.run(); // never throws; reports through its Future
      if (first.rearm()) queue.add(first, now);
    }
  }

  /**
   * Loop thread, at close: every pending task is cancelled and never runs, and from here on other
   * threads' submissions are refused ({@link #closed}).
   */
  void abandonAll() {
    takeSubmissions();
    ScheduledTask<?> last = (ScheduledTask<?>) SUBMITTED.getAndSet(this, closed);
    for (ScheduledTask<?> task = last; task != null; task = task.nextSubmitted) task.abandon();
    for (ScheduledTask<?> task : queue.clear()) task.abandon();
  }

  /** Loop thread: the number of pending timers, after taking in submissions and cancels. */
  int pending() {
    takeSubmissions();
    return queue.size();
  }

  private void takeSubmissions() {
    if (deferredList == null && submitted == null && cancelledStack == null) return;
    long now = System.nanoTime();
    if (deferredList != null) {
      // Oldest first, so that equal deadlines keep their scheduling order in the due FIFO.
      for (ScheduledTask<?> task = reverse(deferredList), next; task != null; task = next) {
        next = task.nextSubmitted;
        task.nextSubmitted = null;
        task.fixDeadline(now);
        if (!task.isCancelled()) queue.add(task, now);
      }
      deferredList = null;
    }
    if (submitted != null) {
      assert submitted != closed : "timers taken in after close";
      ScheduledTask<?> task = reverse((ScheduledTask<?>) SUBMITTED.getAndSet(this, null));
      while (task != null) {
        ScheduledTask<?> next = task.nextSubmitted;
        task.nextSubmitted = null;
        if (!task.isCancelled()) queue.add(task, now);
        task = next;
      }
    }
    if (cancelledStack != null) {
      ScheduledTask<?> task = (ScheduledTask<?>) CANCELLED_STACK.getAndSet(this, null);
      while (task != null) {
        ScheduledTask<?> next = task.nextCancelled;
        task.nextCancelled = null;
        queue.remove(task);
        task = next;
      }
    }
  }

  /** Reverses a stack linked through {@code nextSubmitted}; returns its new head. */
  private static ScheduledTask<?> reverse(ScheduledTask<?> head) {
    ScheduledTask<?> reversed = null;
    while (head != null) {
      ScheduledTask<?> next = head.nextSubmitted;
      head.nextSubmitted = reversed;
      reversed = head;
      head = next;
    }
    return reversed;
  }
}
