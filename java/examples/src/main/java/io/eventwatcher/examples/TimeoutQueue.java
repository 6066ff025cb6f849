package io.eventwatcher.examples;

import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The connections waiting under one timeout (a request head due, an idle keep-alive, output not
 * draining), oldest first. Loop thread only.
 *
 * <p>Why a list and not a timer per connection: a connection that is busy would reschedule its
 * timer on every request, and a timer queue costs a log-time insertion and removal each time. Here
 * a connection carries its own links (an intrusive doubly linked list, no allocation) and the time
 * it entered; entering again moves it to the tail in constant time. Every entry has the same
 * timeout, so the list is ordered by deadline too, and {@link #expire(long)}, called by a coarse
 * periodic tick, stops at the first entry that is not due: a tick costs one comparison plus one per
 * expired entry, whatever the number of connections. The price is precision: an entry expires
 * between its timeout and its timeout plus the tick period.
 *
 * <p>A connection is in at most one queue at a time: entering one leaves the other. A queue with a
 * zero timeout is off: entering it only leaves the previous queue, and reads no clock.
 *
 * @param <E> the connection type, which extends {@link Entry}
 */
final class TimeoutQueue<E extends TimeoutQueue.Entry<E>> {
  /** The links a connection carries; the fields belong to the queue it is in, no one else. */
  abstract static class Entry<E extends Entry<E>> {
    TimeoutQueue<E> queue;
    E previous;
    E next;
    long since; // when it entered, in the queue's clock

    /** Leaves whatever queue this is in; a no-op when in none. */
    final void leaveQueue() {
      if (queue != null) queue.remove(self());
    }

    @SuppressWarnings("unchecked")
    private E self() {
      return (E) this;
    }
  }

  private final long timeoutNanos;
  private final Consumer<E> onTimeout;
  private final LongSupplier clock;
  private E head; // entered longest ago
  private E tail;

  /**
   * @param timeout how long an entry may stay; zero for a queue that is off
   * @param onTimeout called with each expired entry, already removed from the queue; it may enter
   *     this or another queue or close the connection
   */
  TimeoutQueue(Duration timeout, Consumer<E> onTimeout) {
    this(timeout, onTimeout, System::nanoTime);
  }

  /** As {@link #TimeoutQueue(Duration, Consumer)}, with the clock in nanoseconds given (tests). */
  TimeoutQueue(Duration timeout, Consumer<E> onTimeout, LongSupplier clock) {
    if (timeout.isNegative()) throw new IllegalArgumentException("negative timeout " + timeout);
    this.timeoutNanos = timeout.toNanos();
    this.onTimeout = onTimeout;
    this.clock = clock;
  }

  /** Whether this queue has a timeout. */
  boolean isOn() {
    return timeoutNanos > 0;
  }

  /**
   * Puts {@code entry} at the tail with the time now, leaving the queue it was in (this one too):
   * its timeout starts again. At the tail already, only the time is renewed.
   */
  void enter(E entry) {
    if (!isOn()) {
      entry.leaveQueue();
      return;
    }
    long now = clock.getAsLong();
    if (entry.queue == this && entry == tail) {
      entry.since = now;
      return;
    }
    entry.leaveQueue();
    entry.queue = this;
    entry.since = now;
    entry.previous = tail;
    if (tail == null) {
      head = entry;
    } else {
      tail.next = entry;
    }
    tail = entry;
  }

  /**
   * Puts {@code entry} in this queue unless it is in it already; unlike {@link #enter}, an entry
   * already here keeps its time.
   */
  void join(E entry) {
    if (entry.queue != this) enter(entry);
  }

  /** Whether {@code entry} is in this queue. */
  boolean contains(E entry) {
    return entry.queue == this;
  }

  /**
   * Removes every entry whose timeout has run out at {@code now} and hands it to the timeout
   * action, oldest first; stops at the first that has time left.
   */
  void expire(long now) {
    while (head != null && now - head.since >= timeoutNanos) {
      E due = head;
      remove(due);
      onTimeout.accept(due);
    }
  }

  private void remove(E entry) {
    if (entry.previous == null) {
      head = entry.next;
    } else {
      entry.previous.next = entry.next;
    }
    if (entry.next == null) {
      tail = entry.previous;
    } else {
      entry.next.previous = entry.previous;
    }
    entry.previous = null;
    entry.next = null;
    entry.queue = null;
  }
}
