package io.eventwatcher.internal;

import java.util.Arrays;

/**
 * The loop's pending timers, earliest first: a 4-ary min-heap of {@link ScheduledTask}s ordered by
 * (deadline, sequence number), each task holding its own position so that a cancelled one is
 * removed in O(log n) and never lingers (no growth from cancels).
 *
 * <p>Why this structure. A binary heap (the JDK's {@code DelayedWorkQueue}, Netty's {@code
 * DefaultPriorityQueue}) does the same with twice the depth; four children share a cache line of
 * references, so a sift touches half as many lines. A hierarchical timing wheel (Netty's {@code
 * HashedWheelTimer}) is O(1) but rounds deadlines to its tick and keeps no order within a bucket;
 * here deadlines are exact nanoseconds and equal deadlines run in scheduling order, which only an
 * ordered structure gives. The array only grows (doubling) and is never scanned.
 *
 * <p>Threads: the loop thread only; no synchronisation.
 */
final class TimerHeap {
  private static final int ARITY = 4;

  private ScheduledTask<?>[] tasks = new ScheduledTask<?>[64];
  private int size;

  /** The number of pending timers. */
  int size() {
    return size;
  }

  /** The earliest timer, or null if there is none. */
  ScheduledTask<?> peek() {
    return size == 0 ? null : tasks[0];
  }

  /** Adds {@code task}, which must not be in the heap. */
  void add(ScheduledTask<?> task) {
    assert task.heapIndex < 0 : "task already in the heap";
    if (size == tasks.length) tasks = Arrays.copyOf(tasks, size * 2);
    siftUp(size++, task);
  }

  /** Removes and returns the earliest timer; the heap must not be empty. */
  ScheduledTask<?> poll() {
    ScheduledTask<?> first = tasks[0];
    removeAt(0);
    return first;
  }

  /** Removes {@code task} if it is in the heap; returns whether it was. */
  boolean remove(ScheduledTask<?> task) {
    int index = task.heapIndex;
    if (index < 0 || index >= size || tasks[index] != task) return false;
    removeAt(index);
    return true;
  }

  /** Removes every timer and returns them, in no particular order. */
  ScheduledTask<?>[] clear() {
    ScheduledTask<?>[] all = Arrays.copyOf(tasks, size);
    for (ScheduledTask<?> task : all) task.heapIndex = -1;
    Arrays.fill(tasks, 0, size, null);
    size = 0;
    return all;
  }

  private void removeAt(int index) {
    ScheduledTask<?> removed = tasks[index];
    removed.heapIndex = -1;
    ScheduledTask<?> last = tasks[--size];
    tasks[size] = null;
    if (index == size) return;
    // The last element takes the hole: it may belong above or below it.
    if (index > 0 && last.isBefore(tasks[(index - 1) / ARITY])) {
      siftUp(index, last);
    } else {
      siftDown(index, last);
    }
  }

  private void siftUp(int index, ScheduledTask<?> task) {
    while (index > 0) {
      int parent = (index - 1) / ARITY;
      ScheduledTask<?> above = tasks[parent];
      if (!task.isBefore(above)) break;
      place(index, above);
      index = parent;
    }
    place(index, task);
  }

  private void siftDown(int index, ScheduledTask<?> task) {
    for (; ; ) {
      int first = index * ARITY + 1;
      if (first >= size) break;
      int best = first;
      int end = Math.min(first + ARITY, size);
      for (int child = first + 1; child < end; child++) {
        if (tasks[child].isBefore(tasks[best])) best = child;
      }
      if (!tasks[best].isBefore(task)) break;
      place(index, tasks[best]);
      index = best;
    }
    place(index, task);
  }

  private void place(int index, ScheduledTask<?> task) {
    tasks[index] = task;
    task.heapIndex = index;
  }
}
