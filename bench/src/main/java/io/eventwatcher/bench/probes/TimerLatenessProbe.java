package io.eventwatcher.bench.probes;

import io.eventwatcher.bench.Loops;
import io.eventwatcher.bench.TimerPeers;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * How late timers run: SAMPLES timers with random delays of 1 to 20 ms, scheduled one after another
 * from the main thread on an otherwise idle implementation.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar \
 *     io.eventwatcher.bench.probes.TimerLatenessProbe IMPL SAMPLES
 * </pre>
 *
 * <p>IMPL is one of {@link TimerPeers#IMPLS}. Each sample: take {@code System.nanoTime()}, add the
 * delay (uniform over [1 ms, 20 ms), nanosecond resolution, a fixed seed) to get the deadline,
 * schedule a timer with that delay, and wait until it has run; the timer's first act is to read
 * {@code System.nanoTime()} again, and its lateness is that minus the deadline. So a lateness
 * includes whatever the implementation adds between the caller's clock read and its own (a few ns),
 * its wait's precision (whole milliseconds rounded up for a loop that waits in milliseconds, the
 * kernel's timer slack, the wheel's 1 ms tick) and the thread's wake-up. A warm-up of 500 timers of
 * 0 to 1 ms runs first and is not counted. Prints, on stdout:
 *
 * <pre>
 * RESULT	timer-lateness	IMPL	SAMPLES	p50_us	VALUE
 * RESULT	timer-lateness	IMPL	SAMPLES	p99_us	VALUE
 * RESULT	timer-lateness	IMPL	SAMPLES	max_us	VALUE
 * </pre>
 *
 * <p>Percentiles are nearest-rank. A timer that runs early (never expected) shows as a negative
 * lateness and the count of such is printed on stderr. Exits 0 on success, 2 on bad arguments, 1 on
 * any other failure (a timer not run within 5 s of its deadline is one).
 */
public final class TimerLatenessProbe {
  private static final int WARM_UP = 500;
  private static final long MIN_DELAY = TimeUnit.MILLISECONDS.toNanos(1);
  private static final long MAX_DELAY = TimeUnit.MILLISECONDS.toNanos(20);
  private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(5);

  private TimerLatenessProbe() {}

  /**
   * Runs the probe; see the class comment.
   *
   * @param args IMPL SAMPLES
   */
  public static void main(String[] args) {
    ProbeMain.run(args, TimerLatenessProbe::run);
  }

  /** A timer's task: reads the clock, then wakes the main thread. */
  private static final class Sample extends TimerPeers.Task {
    final Loops.Signal ran = new Loops.Signal();
    volatile long ranAt;

    @Override
    public void run() {
      ranAt = System.nanoTime();
      ran.run();
    }
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 2 || !TimerPeers.known(args[0]) || !args[1].matches("[1-9][0-9]*")) {
      System.err.println(
          "usage: TimerLatenessProbe " + String.join("|", TimerPeers.IMPLS) + " SAMPLES");
      return 2;
    }
    String impl = args[0];
    int samples = Integer.parseInt(args[1]);
    SplittableRandom random = new SplittableRandom(3);
    long[] lateness = new long[samples];
    try (TimerPeers.Peer peer = TimerPeers.open(impl, "probe-timer")) {
      Sample sample = new Sample();
      for (int i = 0; i < WARM_UP; i++) measure(peer, sample, random.nextLong(MIN_DELAY));
      for (int i = 0; i < samples; i++) {
        lateness[i] = measure(peer, sample, MIN_DELAY + random.nextLong(MAX_DELAY - MIN_DELAY));
      }
    }
    Arrays.sort(lateness);
    long early = Arrays.stream(lateness).filter(l -> l < 0).count();
    System.err.printf(
        Locale.ROOT,
        "TimerLatenessProbe %s: %d samples, min %.1f us, %d early%n",
        impl,
        samples,
        lateness[0] / 1e3,
        early);
    print(impl, samples, "p50_us", percentile(lateness, 50));
    print(impl, samples, "p99_us", percentile(lateness, 99));
    print(impl, samples, "max_us", lateness[samples - 1]);
    return 0;
  }

  /** One timer: schedules it, waits for it, returns how late it ran (ns). */
  private static long measure(TimerPeers.Peer peer, Sample sample, long delay) {
    sample.ran.arm();
    long deadline = System.nanoTime() + delay;
    peer.schedule(sample, delay);
    if (!sample.ran.await(delay + STUCK_NANOS)) {
      throw new IllegalStateException(
          peer.impl + ": a timer did not run within 5 s of its deadline");
    }
    return sample.ranAt - deadline;
  }

  /** Nearest rank: the smallest value with at least {@code p}% of the values at or below it. */
  private static long percentile(long[] sorted, int p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  private static void print(String impl, int samples, String metric, long nanos) {
    System.out.printf(
        Locale.ROOT,
        "RESULT\ttimer-lateness\t%s\t%d\t%s\t%.1f%n",
        impl,
        samples,
        metric,
        nanos / 1e3);
  }
}
