package io.eventwatcher.examples;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A log that prints a repeated message at most once per interval and counts the repeats it holds
 * back: a failure that recurs thousands of times a second (accept at the descriptor limit) costs a
 * line a second, not a flood, and no occurrence goes unreported. The next line of the same message
 * says how many were held back since the last one: {@code "accept failed: Too many open files (1234
 * more suppressed)"}; {@link #flush()} reports the held-back counts without waiting for a next
 * occurrence.
 *
 * <p>Messages are told apart by their exact text, so a message should not carry details that change
 * on every occurrence (a file descriptor number): those would each be printed. At most {@value
 * #MAX_TRACKED} distinct messages are tracked; one more flushes and forgets them all. Thread-safe;
 * the sink is called with the lock held, one line at a time.
 *
 * <p>It is most needed when the process is out of descriptors, and then no class can be loaded from
 * a directory of class files (its file cannot be opened): so it keeps its counts in arrays, with no
 * class of its own to load on first use.
 */
final class RateLimitedLog {
  static final int MAX_TRACKED = 32;

  private final Consumer<String> sink;
  private final long intervalNanos;
  private final LongSupplier clock;
  // Per message: {when it was last printed, how many were held back since}.
  private static final int PRINTED_AT = 0;
  private static final int SUPPRESSED = 1;
  private final Map<String, long[]> tracked = new LinkedHashMap<>();

  /** A log printing each distinct message at most once a second. */
  RateLimitedLog(Consumer<String> sink) {
    this(sink, TimeUnit.SECONDS.toNanos(1), System::nanoTime);
  }

  /**
   * @param sink where lines go
   * @param intervalNanos the least time between two lines of the same message
   * @param clock the time in nanoseconds ({@link System#nanoTime()} but in tests)
   */
  RateLimitedLog(Consumer<String> sink, long intervalNanos, LongSupplier clock) {
    this.sink = sink;
    this.intervalNanos = intervalNanos;
    this.clock = clock;
  }

  /**
   * Prints {@code message}, unless the same text was printed less than the interval ago; then
   * counts it, to be reported with the next line of that text or by {@link #flush()}.
   */
  synchronized void log(String message) {
    long now = clock.getAsLong();
    long[] entry = tracked.get(message);
    if (entry != null && now - entry[PRINTED_AT] < intervalNanos) {
      entry[SUPPRESSED]++;
      return;
    }
    if (entry == null) {
      if (tracked.size() >= MAX_TRACKED) {
        flushLocked(now);
        tracked.clear();
      }
      entry = new long[2];
      tracked.put(message, entry);
    }
    print(message, entry, now);
  }

  /** Prints a line for every message with repeats held back, with their count. */
  synchronized void flush() {
    flushLocked(clock.getAsLong());
  }

  private void flushLocked(long now) {
    for (Map.Entry<String, long[]> entry : tracked.entrySet()) {
      if (entry.getValue()[SUPPRESSED] > 0) print(entry.getKey(), entry.getValue(), now);
    }
  }

  private void print(String message, long[] entry, long now) {
    long suppressed = entry[SUPPRESSED];
    entry[SUPPRESSED] = 0;
    entry[PRINTED_AT] = now;
    sink.accept(suppressed == 0 ? message : message + " (" + suppressed + " more suppressed)");
  }
}
