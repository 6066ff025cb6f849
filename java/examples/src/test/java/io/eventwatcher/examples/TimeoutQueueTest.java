package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The intrusive timeout list, on a clock the test moves (nanoseconds). */
class TimeoutQueueTest {
  static final class Item extends TimeoutQueue.Entry<Item> {
    final String name;

    Item(String name) {
      this.name = name;
    }
  }

  private long now = 5_000;
  private final List<String> expired = new ArrayList<>();
  private final TimeoutQueue<Item> queue =
      new TimeoutQueue<>(Duration.ofNanos(100), item -> expired.add(item.name), () -> now);

  @Test
  void entriesExpireOldestFirstOnceTheirTimeoutHasRunOut() {
    Item a = new Item("a");
    Item b = new Item("b");
    Item c = new Item("c");
    queue.enter(a);
    now += 10;
    queue.enter(b);
    now += 10;
    queue.enter(c);
    queue.expire(now + 79);
    assertEquals(List.of(), expired, "a has 1 ns left");
    queue.expire(now + 80);
    assertEquals(List.of("a"), expired);
    queue.expire(now + 100);
    assertEquals(List.of("a", "b", "c"), expired);
    assertFalse(queue.contains(a) || queue.contains(b) || queue.contains(c));
  }

  @Test
  void enteringAgainRestartsTheTimeoutAndMovesToTheTail() {
    Item a = new Item("a");
    Item b = new Item("b");
    queue.enter(a);
    queue.enter(b);
    now += 50;
    queue.enter(a); // a is active again
    queue.expire(now + 50);
    assertEquals(List.of("b"), expired, "the scan stopped at a, not due");
    now += 50;
    queue.enter(a); // at the tail already: only its time is renewed
    queue.expire(now + 99);
    assertEquals(List.of("b"), expired);
    queue.expire(now + 100);
    assertEquals(List.of("b", "a"), expired);
  }

  @Test
  void joinKeepsTheTimeOfAnEntryAlreadyIn() {
    Item a = new Item("a");
    queue.join(a);
    now += 60;
    queue.join(a);
    queue.expire(now + 40);
    assertEquals(List.of("a"), expired);
  }

  @Test
  void anEntryIsInOneQueueAtATime() {
    TimeoutQueue<Item> other =
        new TimeoutQueue<>(
            Duration.ofNanos(1000), item -> expired.add("other " + item.name), () -> now);
    Item a = new Item("a");
    Item b = new Item("b");
    queue.enter(a);
    queue.enter(b);
    other.enter(a);
    assertTrue(other.contains(a));
    assertFalse(queue.contains(a));
    queue.expire(now + 100);
    assertEquals(List.of("b"), expired);
    a.leaveQueue();
    a.leaveQueue(); // twice: a no-op
    other.expire(now + 1000);
    assertEquals(List.of("b"), expired, "a left");
  }

  @Test
  void removalFromTheMiddleKeepsTheOrder() {
    List<Item> items = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Item item = new Item("i" + i);
      items.add(item);
      queue.enter(item);
      now += 1;
    }
    items.get(2).leaveQueue();
    items.get(0).leaveQueue();
    items.get(4).leaveQueue();
    queue.expire(now + 1000);
    assertEquals(List.of("i1", "i3"), expired);
  }

  @Test
  void theTimeoutActionMayEnterAgain() {
    List<Item> seen = new ArrayList<>();
    AtomicReference<TimeoutQueue<Item>> self = new AtomicReference<>();
    self.set(
        new TimeoutQueue<>(
            Duration.ofNanos(100),
            item -> {
              seen.add(item);
              self.get().enter(item); // starts again at the clock's time: not due in this scan
            },
            () -> now));
    Item a = new Item("a");
    self.get().enter(a);
    now += 100;
    self.get().expire(now);
    assertEquals(List.of(a), seen);
    assertTrue(self.get().contains(a));
  }

  @Test
  void aZeroTimeoutIsOffAndOnlyLeavesTheOtherQueue() {
    long[] reads = {0};
    TimeoutQueue<Item> off =
        new TimeoutQueue<>(Duration.ZERO, item -> expired.add("off"), () -> ++reads[0]);
    Item a = new Item("a");
    queue.enter(a);
    off.enter(a);
    assertFalse(off.isOn());
    assertFalse(queue.contains(a) || off.contains(a));
    off.expire(Long.MAX_VALUE);
    queue.expire(now + 1000);
    assertEquals(List.of(), expired);
    assertEquals(0, reads[0], "an off queue reads no clock");
  }
}
