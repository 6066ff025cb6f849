package io.eventwatcher.examples;

import java.util.concurrent.atomic.LongAdder;

/**
 * A statistics counter that several loop threads add to on every request without sharing a cache
 * line: a {@link LongAdder}, whose cells spread the threads that contend, read as a sum. Counters
 * that change once per connection stay {@link java.util.concurrent.atomic.AtomicLong}s.
 */
public final class Counter {
  private final LongAdder adder = new LongAdder();

  Counter() {}

  /** Adds one. Any thread. */
  void increment() {
    adder.increment();
  }

  /**
   * Adds {@code n}. Any thread.
   *
   * @param n the amount
   */
  void add(long n) {
    adder.add(n);
  }

  /**
   * The sum of everything added so far, as {@link LongAdder#sum()}: exact once the adding threads
   * are quiet, a moment's total while they add. Any thread.
   *
   * @return the count
   */
  public long get() {
    return adder.sum();
  }
}
