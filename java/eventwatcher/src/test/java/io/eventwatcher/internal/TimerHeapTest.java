package io.eventwatcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The 4-ary timer heap against a model (the JDK's PriorityQueue with the same order): random adds,
 * polls and removals by index agree step by step, positions stay consistent, and a million timers
 * come out in (deadline, sequence) order.
 */
class TimerHeapTest {
  private static final Comparator<ScheduledTask<?>> ORDER =
      (a, b) -> a == b ? 0 : a.isBefore(b) ? -1 : 1;

  private static ScheduledTask<?> task(long deadline, long sequence) {
    ScheduledTask<?> task = new ScheduledTask<>(null, (Runnable) () -> {}, deadline, 0, false);
    task.sequence = sequence;
    return task;
  }

  @Test
  void agreesWithAModelUnderRandomAddsPollsAndRemovals() {
    SplittableRandom random = new SplittableRandom(42);
    TimerHeap heap = new TimerHeap();
    PriorityQueue<ScheduledTask<?>> model = new PriorityQueue<>(ORDER);
    List<ScheduledTask<?>> live = new ArrayList<>();
    long sequence = 0;
    for (int step = 0; step < 200_000; step++) {
      int op = random.nextInt(10);
      if (op < 5 || live.isEmpty()) {
        // Few distinct deadlines, so equal deadlines (ordered by sequence) are common.
        ScheduledTask<?> task = task(random.nextLong(-50, 50), sequence++);
        heap.add(task);
        model.add(task);
        live.add(task);
      } else if (op < 8) {
        ScheduledTask<?> expected = model.poll();
        assertSame(expected, heap.poll(), "poll at step " + step);
        live.remove(expected);
        assertEquals(-1, expected.heapIndex);
      } else {
        ScheduledTask<?> victim = live.remove(random.nextInt(live.size()));
        assertTrue(heap.remove(victim), "remove at step " + step);
        assertFalse(heap.remove(victim), "second remove at step " + step);
        model.remove(victim);
      }
      assertEquals(model.size(), heap.size());
      assertSame(model.peek(), heap.peek());
    }
  }

  @Test
  void aMillionTimersComeOutInOrderAndRemovalsShrinkTheHeap() {
    TimerHeap heap = new TimerHeap();
    SplittableRandom random = new SplittableRandom(7);
    List<ScheduledTask<?>> all = new ArrayList<>();
    for (int i = 0; i < 1_000_000; i++) {
      ScheduledTask<?> task = task(random.nextLong(1_000_000), i);
      all.add(task);
      heap.add(task);
    }
    for (int i = 0; i < all.size(); i += 2) assertTrue(heap.remove(all.get(i)));
    assertEquals(500_000, heap.size());
    ScheduledTask<?> previous = null;
    while (heap.size() > 0) {
      ScheduledTask<?> next = heap.poll();
      assertEquals(1, next.sequence % 2, "a removed timer came out");
      if (previous != null) assertTrue(previous.isBefore(next), "out of order");
      previous = next;
    }
    assertNull(heap.peek());
  }
}
