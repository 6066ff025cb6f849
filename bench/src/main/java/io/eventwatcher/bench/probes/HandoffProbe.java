package io.eventwatcher.bench.probes;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.EventWatcherGroup;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What handing a connection from one loop to another costs: loop {@code io-0} of a two-loop {@link
 * EventWatcherGroup} gives FDS descriptors (read ends of pipes nothing is written to) to loop
 * {@code io-1}, which watches each for READ, as an acceptor loop hands accepted sockets to a
 * worker.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar \
 *     io.eventwatcher.bench.probes.HandoffProbe FDS ROUNDS
 * </pre>
 *
 * <p>Two ways, each for ROUNDS rounds after as many warm-up rounds, alternating:
 *
 * <ul>
 *   <li>{@code async}: the giving loop calls {@code receiver.execute(task)} per descriptor, and the
 *       task watches it on the receiving loop: what {@code EventWatcherGroup}'s README example
 *       does. The giving loop returns as soon as the tasks are queued.
 *   <li>{@code sync-watch}: the giving loop calls {@code receiver.watch(fd, ...)} itself, which
 *       from another thread waits for the receiving loop to apply it: a round trip per descriptor.
 * </ul>
 *
 * <p>Per round, the giving loop's time is the nanoTime span of its loop over the descriptors, and
 * the round's time runs until the receiving loop has watched the last one (then, untimed, it
 * unwatches them all). Prints the median round, with FDS as the param:
 *
 * <pre>
 * RESULT	handoff	async|sync-watch	FDS	handoffs_per_s	N   (FDS / the round's time)
 * RESULT	handoff	async|sync-watch	FDS	giving_ns_per_handoff	NS
 * </pre>
 *
 * <p>Exits 0 on success, 2 on bad arguments, 1 on any other failure.
 */
public final class HandoffProbe {
  private static final WatchCallback NEVER_CALLED = fd -> {};

  private final EventWatcher giver;
  private final EventWatcher receiver;
  private final int[] fds;
  private final AtomicLong watchedOnReceiver = new AtomicLong(); // written by the receiver only

  private HandoffProbe(EventWatcherGroup group, int[] fds) {
    this.giver = group.watchers().get(0);
    this.receiver = group.watchers().get(1);
    this.fds = fds;
  }

  /**
   * Runs the probe; see the class comment.
   *
   * @param args FDS ROUNDS
   */
  public static void main(String[] args) {
    ProbeMain.run(args, HandoffProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 2 || !args[0].matches("[1-9][0-9]*") || !args[1].matches("[1-9][0-9]*")) {
      System.err.println("usage: HandoffProbe FDS ROUNDS");
      return 2;
    }
    int count = Integer.parseInt(args[0]);
    int rounds = Integer.parseInt(args[1]);
    int[] fds = new int[count];
    int[] writeEnds = new int[count];
    for (int i = 0; i < count; i++) {
      int[] pipe = NativeIO.pipe();
      fds[i] = pipe[0];
      writeEnds[i] = pipe[1];
    }
    try (EventWatcherGroup group = EventWatcher.builder().threadName("io").buildGroup(2)) {
      HandoffProbe probe = new HandoffProbe(group, fds);
      long[][] async = new long[rounds][];
      long[][] sync = new long[rounds][];
      for (int i = 0; i < rounds; i++) { // warm-up: JIT, the receiver's table at its size
        probe.round(true);
        probe.round(false);
      }
      for (int i = 0; i < rounds; i++) {
        async[i] = probe.round(true);
        sync[i] = probe.round(false);
      }
      report("async", count, async);
      report("sync-watch", count, sync);
    } finally {
      for (int i = 0; i < count; i++) {
        NativeIO.close(fds[i]);
        NativeIO.close(writeEnds[i]);
      }
    }
    return 0;
  }

  /** One round; returns {giving loop's nanos, the round's nanos}. */
  private long[] round(boolean async) throws Exception {
    long target = watchedOnReceiver.get() + fds.length;
    CountDownLatch allWatched = new CountDownLatch(1);
    CompletableFuture<long[]> giving = new CompletableFuture<>();
    long start = System.nanoTime();
    giver.execute(
        () -> {
          try {
            long begin = System.nanoTime();
            for (int fd : fds) {
              if (async) {
                receiver.execute(() -> watchOnReceiver(fd, target, allWatched));
              } else {
                receiver.watch(fd, WatchFlag.READ, NEVER_CALLED);
                watched(target, allWatched);
              }
            }
            giving.complete(new long[] {System.nanoTime() - begin});
          } catch (Throwable e) {
            giving.completeExceptionally(e);
          }
        });
    long givingNanos = giving.get(60, TimeUnit.SECONDS)[0];
    if (!allWatched.await(60, TimeUnit.SECONDS)) throw new IOException("hand-offs not all done");
    long roundNanos = System.nanoTime() - start;
    CompletableFuture<Void> cleared = new CompletableFuture<>();
    receiver.execute(
        () -> {
          try {
            for (int fd : fds) receiver.unwatch(fd, WatchFlag.READ);
            cleared.complete(null);
          } catch (Throwable e) {
            cleared.completeExceptionally(e);
          }
        });
    cleared.get(60, TimeUnit.SECONDS);
    return new long[] {givingNanos, roundNanos};
  }

  private void watchOnReceiver(int fd, long target, CountDownLatch allWatched) {
    try {
      receiver.watch(fd, WatchFlag.READ, NEVER_CALLED);
    } catch (IOException e) {
      throw new IllegalStateException("watch of fd " + fd + " on the receiving loop", e);
    }
    watched(target, allWatched);
  }

  private void watched(long target, CountDownLatch allWatched) {
    // One writer at a time: the receiving loop (async) or the giving loop after each watch
    // returned (sync-watch); the latch publishes the count.
    long now = watchedOnReceiver.get() + 1;
    watchedOnReceiver.lazySet(now);
    if (now == target) allWatched.countDown();
  }

  /** Prints the median round of each figure. */
  private static void report(String impl, int count, long[][] rounds) {
    long[] giving = Arrays.stream(rounds).mapToLong(r -> r[0]).sorted().toArray();
    long[] whole = Arrays.stream(rounds).mapToLong(r -> r[1]).sorted().toArray();
    long givingMedian = giving[giving.length / 2];
    long wholeMedian = whole[whole.length / 2];
    System.out.printf(
        Locale.ROOT,
        "RESULT\thandoff\t%s\t%d\thandoffs_per_s\t%.0f%n",
        impl,
        count,
        count * 1e9 / wholeMedian);
    System.out.printf(
        Locale.ROOT,
        "RESULT\thandoff\t%s\t%d\tgiving_ns_per_handoff\t%.1f%n",
        impl,
        count,
        (double) givingMedian / count);
  }
}
