package io.eventwatcher.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The loop's task queue, and the one flag that decides whether the wakeup eventfd is written: only
 * a submission that turns {@code pending} from false to true, from a thread other than the loop's,
 * writes it. So any number of submissions before the loop wakes cost one eventfd write, and a
 * submission from the loop thread costs none (the loop polls instead of blocking while {@code
 * pending} is set).
 *
 * <p>Why no submission is lost: a submitter offers its task, then reads {@code pending}; the loop
 * clears {@code pending}, then polls the queue. Both are volatile accesses, which Java orders
 * sequentially, so either the submitter reads false (and wakes the loop) or its read comes before
 * the clear, and then so does its offer, which the loop's poll sees.
 */
final class TaskQueue {
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean pending = new AtomicBoolean();
  private final NativeWatcher watcher;

  TaskQueue(NativeWatcher watcher) {
    this.watcher = watcher;
  }

  /**
   * Queues {@code task}. Any thread.
   *
   * @return false if the watcher is being destroyed (the task was not queued)
   */
  boolean submit(Runnable task, boolean fromLoop) {
    if (fromLoop) {
      tasks.offer(task);
      pending.set(true);
      return true;
    }
    if (!watcher.enter()) return false;
    try {
      tasks.offer(task);
      // Load first: while the loop has not woken yet, later submitters neither write nor take the
      // cache line from the loop.
      if (!pending.get() && !pending.getAndSet(true)) watcher.wakeEntered();
      return true;
    } finally {
      watcher.exit();
    }
  }

  /** Loop thread: whether the next wait must not block. */
  boolean pending() {
    return pending.get();
  }

  /**
   * Loop thread: runs up to {@code budget} queued tasks (what they throw goes to {@code faults});
   * if more remain, leaves {@code pending} set so that the next turn does not block.
   */
  void run(int budget, Faults faults) {
    // Every submission sets pending after its offer, so with pending clear there is nothing to
    // run yet: an idle turn costs a load, not a fence.
    if (!pending.get()) return;
    pending.set(false);
    for (int i = 0; i < budget; i++) {
      Runnable task = tasks.poll();
      if (task == null) return;
      runOne(task, faults);
    }
    if (!tasks.isEmpty()) pending.set(true);
  }

  /**
   * Any thread: removes the queued tasks that users submitted (not the watcher's own {@link
   * InternalTask}s, whose callers wait for them) and returns them in queue order. Each queued task
   * is either removed here or run by the loop, never both.
   */
  List<Runnable> removeUserTasks() {
    List<Runnable> removed = new ArrayList<>();
    for (Runnable task : tasks) {
      // remove() succeeds for exactly one of this thread and the loop's poll.
      if (!(task instanceof InternalTask) && tasks.remove(task)) removed.add(task);
    }
    return removed;
  }

  /** Loop thread, after the watcher stopped accepting: runs every task still queued. */
  void drain(Faults faults) {
    pending.set(false);
    for (Runnable task; (task = tasks.poll()) != null; ) runOne(task, faults);
  }

  private static void runOne(Runnable task, Faults faults) {
    try {
      task.run();
    } catch (Throwable e) {
      faults.report(-1, e);
    }
  }
}
