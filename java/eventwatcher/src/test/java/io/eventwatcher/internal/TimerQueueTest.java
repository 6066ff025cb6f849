package io.eventwatcher.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The timer queue (heap plus due FIFO) against a model: whichever structure a timer lands in, they
 * come out in (deadline, sequence) order, due timers arriving in any order included.
 */
class TimerQueueTest {
  private static final Comparator<ScheduledTask<?>> ORDER =
      (a, b) -> a == b ? 0 : a.isBefore(b) ? -1 : 1;

  @Test
  void dueAndLaterTimersComeOutInOrder() {
    SplittableRandom random = new SplittableRandom(11);
    TimerQueue queue = new TimerQueue();
    PriorityQueue<ScheduledTask<?>> model = new PriorityQueue<>(ORDER);
    long now = 0;
    for (int step = 0; step < 200_000; step++) {
      if (random.nextInt(3) > 0 || model.isEmpty()) {
        // Deadlines around now: about half are due on arrival, some out of order.
        ScheduledTask<?> task =
            new ScheduledTask<>(
                null, (Runnable) () -> {}, now + random.nextLong(-20, 20), 0, false);
        queue.add(task, now);
        model.add(task);
      } else {
        assertSame(model.poll(), queue.poll(), "poll at step " + step);
      }
      assertSame(model.peek(), queue.peek(), "peek at step " + step);
      assertEquals(model.size(), queue.size());
      now += random.nextInt(3);
    }
  }
}
