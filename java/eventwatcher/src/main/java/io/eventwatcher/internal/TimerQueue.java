package io.eventwatcher.internal;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The loop's pending timers: the {@link TimerHeap}, with a FIFO in front of it for timers that are
 * already due when they arrive (a zero delay, or a deadline the loop reached before taking the
 * timer in). Such a timer would sift from the bottom of the heap to its root and back, crossing the
 * whole heap twice to be run a moment later; in the FIFO it costs two array writes.
 *
 * <p>Order stays (deadline, sequence): a timer joins the FIFO only if it comes after the FIFO's
 * tail, so the FIFO is sorted, and {@link #poll} takes the earlier of the FIFO's head and the
 * heap's root. A cancelled timer in the FIFO is not removed ({@link #remove} returns false): it is
 * due, so the loop drops it within the turn when it reaches it (callers skip cancelled timers).
 *
 * <p>Threads: the loop thread only; no synchronisation.
 */
final class TimerQueue {
  private final TimerHeap heap = new TimerHeap();
  private final ArrayDeque<ScheduledTask<?>> due = new ArrayDeque<>();
  private long nextSequence;

  /** Whether no timer is queued (cancelled due ones not yet dropped count as queued). */
  boolean isEmpty() {
    return heap.size() == 0 && due.isEmpty();
  }

  /** The timers pending, not counting cancelled ones: O(due timers). */
  int size() {
    int live = heap.size();
    for (ScheduledTask<?> task : due) {
      if (!task.isCancelled()) live++;
    }
    return live;
  }

  /**
   * Adds {@code task} after every timer added before it with the same deadline (its sequence is the
   * order of adds; a periodic task's next run gets a new one); {@code now} is a recent
   * System.nanoTime().
   */
  void add(ScheduledTask<?> task, long now) {
    task.sequence = nextSequence++;
    ScheduledTask<?> tail = due.peekLast();
    if (task.deadline - now <= 0 && (tail == null || tail.isBefore(task))) {
      due.addLast(task);
    } else {
      heap.add(task);
    }
  }

  /** The earliest timer, or null if there is none. */
  ScheduledTask<?> peek() {
    ScheduledTask<?> first = due.peekFirst();
    ScheduledTask<?> root = heap.peek();
    if (first == null) return root;
    return root != null && root.isBefore(first) ? root : first;
  }

  /** Removes and returns the earliest timer; the queue must not be empty. */
  ScheduledTask<?> poll() {
    ScheduledTask<?> first = due.peekFirst();
    ScheduledTask<?> root = heap.peek();
    if (first == null || (root != null && root.isBefore(first))) return heap.poll();
    return due.pollFirst();
  }

  /** Removes {@code task} if it is in the heap; returns whether it was. */
  boolean remove(ScheduledTask<?> task) {
    return heap.remove(task);
  }

  /** Removes every timer and returns them, in no particular order. */
  ScheduledTask<?>[] clear() {
    ScheduledTask<?>[] fromHeap = heap.clear();
    ScheduledTask<?>[] all = Arrays.copyOf(fromHeap, fromHeap.length + due.size());
    for (int i = fromHeap.length; i < all.length; i++) all[i] = due.pollFirst();
    return all;
  }
}
