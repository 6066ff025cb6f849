package io.eventwatcher.bench.probes;

import io.eventwatcher.bench.TimerPeers;
import java.util.Locale;

/**
 * Memory per pending timer: what COUNT pending timers add to the Java heap and to the process's
 * anonymous memory (native heap), divided by COUNT.
 *
 * <pre>
 * java -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
 *     -cp benchmarks.jar io.eventwatcher.bench.probes.TimerMemoryProbe IMPL COUNT
 * </pre>
 *
 * <p>IMPL is one of {@link TimerPeers#IMPLS}. The flags and both measurements are those of {@link
 * MemoryProbe} (heap used after full collections; {@code RssAnon} with the heap pre-touched and the
 * JIT off), and the probe checks them the same way. Prints, on stdout:
 *
 * <pre>
 * RESULT	timer-memory	IMPL	COUNT	heap_bytes_per_timer	VALUE
 * RESULT	timer-memory	IMPL	COUNT	native_bytes_per_timer	VALUE
 * </pre>
 *
 * <p>Method: start the implementation and schedule {@value #WARM_UP} timers (so that every class
 * involved is loaded; they stay pending, in both measurements); measure; schedule COUNT timers, all
 * due 1 to 2 hours ahead and sharing one task object, where a user would ({@link
 * TimerPeers.Peer#fill}: on the loop thread for the event loops, from the main thread for the
 * others), and wait until all are in the implementation's structure; measure again. The futures the
 * calls return are not kept: the implementation holds them, and what it holds is what is counted.
 * So the figure is the timer object (with its future), its place in the queue (array slot with the
 * array's spare capacity, or list links) and any wrapper; none of the implementations has a native
 * part.
 *
 * <p>Exits 0 on success, 2 on bad arguments or missing flags, 1 on any other failure.
 */
public final class TimerMemoryProbe {
  private static final int WARM_UP = 256;

  private TimerMemoryProbe() {}

  /**
   * Runs the probe; see the class comment.
   *
   * @param args IMPL COUNT
   */
  public static void main(String[] args) {
    ProbeMain.run(args, TimerMemoryProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 2 || !TimerPeers.known(args[0]) || !args[1].matches("[1-9][0-9]*")) {
      System.err.println(
          "usage: TimerMemoryProbe " + String.join("|", TimerPeers.IMPLS) + " COUNT");
      return 2;
    }
    String missing = MemoryProbe.missingFlags();
    if (missing != null) {
      System.err.println(
          "TimerMemoryProbe: "
              + missing
              + "; run with -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC");
      return 2;
    }
    String impl = args[0];
    int count = Integer.parseInt(args[1]);
    TimerPeers.FarDelays delays = new TimerPeers.FarDelays(4);
    MemoryProbe.Snapshot before;
    MemoryProbe.Snapshot after;
    try (TimerPeers.Peer peer = TimerPeers.open(impl, "probe-timer")) {
      peer.fill(WARM_UP, delays);
      before = MemoryProbe.Snapshot.take();
      peer.fill(count, delays);
      after = MemoryProbe.Snapshot.take();
    }
    System.err.printf(
        Locale.ROOT,
        "TimerMemoryProbe %s: heap %d -> %d bytes, RssAnon %d -> %d bytes%n",
        impl,
        before.heapBytes(),
        after.heapBytes(),
        before.rssAnonBytes(),
        after.rssAnonBytes());
    print(impl, count, "heap_bytes_per_timer", after.heapBytes() - before.heapBytes());
    print(impl, count, "native_bytes_per_timer", after.rssAnonBytes() - before.rssAnonBytes());
    return 0;
  }

  private static void print(String impl, int count, String metric, long bytes) {
    System.out.printf(
        Locale.ROOT,
        "RESULT\ttimer-memory\t%s\t%d\t%s\t%.1f%n",
        impl,
        count,
        metric,
        (double) bytes / count);
  }
}
