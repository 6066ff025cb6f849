package io.eventwatcher.bench.probes;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import io.eventwatcher.bench.Loops;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory per watched fd: what watching FDS never-ready fds adds to the Java heap and to the
 * process's anonymous memory (native heap), divided by FDS.
 *
 * <pre>
 * java -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED \
 *     -cp benchmarks.jar io.eventwatcher.bench.probes.MemoryProbe IMPL FDS
 * </pre>
 *
 * <p>IMPL is {@code java-api} (an EventWatcher; the fds are eventfds) or {@code jdk-selector} (a
 * Selector on its own thread; the fds are unbound {@code DatagramChannel}s, as a Selector takes
 * only channels; a {@code Pipe} would cost two fds for one registration). Both are one fd each,
 * never readable, and watched for READ; their numbers are dense, as in a server where nearly every
 * fd is a watched socket. The fd limit must allow FDS more fds: {@code ulimit -n 1048576} first
 * (java raises the soft limit to the hard one). Prints, on stdout:
 *
 * <pre>
 * RESULT	memory	IMPL	FDS	native_bytes_per_fd	VALUE
 * RESULT	memory	IMPL	FDS	heap_bytes_per_fd	VALUE
 * </pre>
 *
 * <p>Method: create the fds and start the loop; warm up (watch and unwatch the first 256 fds 80
 * times, so that every class involved is loaded and every lambda spun before measuring, while the
 * tables grow only to 256 entries: at 100,000 fds that hides under 0.2 bytes per fd); measure;
 * watch all FDS fds from a task on the loop thread (the Selector in chunks of 1,024 with a {@code
 * selectNow()} after each, as a server registering connections over many turns would); one more
 * round trip to the loop, so every registration has reached epoll; measure again. Only what
 * watching adds is counted: the fds and their Java objects exist in both measurements.
 *
 * <ul>
 *   <li>heap: heap used after {@code System.gc()} (repeated until it stops changing; with the
 *       serial collector each is a full, compacting collection), so live objects only.
 *   <li>native: {@code RssAnon} of /proc/self/status, the process's resident anonymous memory,
 *       which is malloc's heap, thread stacks, the JIT's code and arenas, and the Java heap. The
 *       flags take the Java heap out of the delta: {@code -Xms} = {@code -Xmx} with {@code
 *       -XX:+AlwaysPreTouch} makes the whole heap resident before main runs, so objects allocated
 *       later add nothing to RssAnon. {@code -Xint} takes the JIT out: code compiled while the
 *       probe watches (its code cache and its compiler's malloc'd arenas) otherwise adds a few
 *       hundred kB at random, 2 to 5 bytes per fd at 100,000 fds; objects are laid out the same in
 *       the interpreter, and the probe does not time anything. The probe checks these three and
 *       exits 2 without them; {@code -XX:+UseSerialGC} keeps GC threads and their buffers out of
 *       the picture. Kernel memory (epoll's entries, about 130 bytes each in the kernel's slab) is
 *       in no process's RSS and is not counted, for either impl.
 * </ul>
 *
 * <p>Exits 0 on success, 2 on bad arguments or missing flags, 1 on any other failure.
 */
public final class MemoryProbe {
  private static final int WARM_UP_FDS = 256;
  private static final int WARM_UP_ROUNDS = 80;
  private static final int CHUNK = 1024;
  private static final WatchCallback NEVER_CALLED = fd -> {};

  private MemoryProbe() {}

  /**
   * Runs the probe; see the class comment.
   *
   * @param args IMPL FDS
   */
  public static void main(String[] args) {
    ProbeMain.run(args, MemoryProbe::run);
  }

  private static int run(String[] args) throws Exception {
    if (args.length != 2 || !(args[0].equals("java-api") || args[0].equals("jdk-selector"))) {
      System.err.println("usage: MemoryProbe java-api|jdk-selector FDS");
      return 2;
    }
    int fds = Integer.parseInt(args[1]);
    if (fds < WARM_UP_FDS) {
      System.err.println("MemoryProbe: FDS must be at least " + WARM_UP_FDS);
      return 2;
    }
    String missing = missingFlags();
    if (missing != null) {
      System.err.println(
          "MemoryProbe: "
              + missing
              + "; run with -Xint -Xms1g -Xmx1g -XX:+AlwaysPreTouch -XX:+UseSerialGC");
      return 2;
    }
    Snapshot[] snapshots = args[0].equals("java-api") ? javaApi(fds) : jdkSelector(fds);
    double heap = (double) (snapshots[1].heapBytes - snapshots[0].heapBytes) / fds;
    double rss = (double) (snapshots[1].rssAnonBytes - snapshots[0].rssAnonBytes) / fds;
    System.err.printf(
        Locale.ROOT,
        "MemoryProbe %s: heap %d -> %d bytes, RssAnon %d -> %d bytes%n",
        args[0],
        snapshots[0].heapBytes,
        snapshots[1].heapBytes,
        snapshots[0].rssAnonBytes,
        snapshots[1].rssAnonBytes);
    print(args[0], fds, "native_bytes_per_fd", rss);
    print(args[0], fds, "heap_bytes_per_fd", heap);
    return 0;
  }

  /** Null if the heap is fixed and pre-touched and the JIT is off, else what is wrong. */
  static String missingFlags() {
    if (!String.valueOf(System.getProperty("java.vm.info")).contains("interpreted mode")) {
      return "-Xint is not set, so JIT compilation would show in RssAnon";
    }
    HotSpotDiagnosticMXBean hotspot =
        ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    if (!Boolean.parseBoolean(hotspot.getVMOption("AlwaysPreTouch").getValue())) {
      return "-XX:+AlwaysPreTouch is not set, so heap growth would show in RssAnon";
    }
    String initial = hotspot.getVMOption("InitialHeapSize").getValue();
    String max = hotspot.getVMOption("MaxHeapSize").getValue();
    if (!initial.equals(max)) {
      return "-Xms (" + initial + " bytes) differs from -Xmx (" + max + "), so the heap could grow";
    }
    return null;
  }

  /** Before and after watching, for the Java API. */
  private static Snapshot[] javaApi(int count) throws IOException, InterruptedException {
    Loops.checkFdLimit(count, "MemoryProbe java-api " + count);
    int[] fds = new int[count];
    int created = 0;
    EventWatcher watcher = null;
    try {
      for (; created < count; created++) {
        try {
          fds[created] = NativeIO.eventFd(0);
        } catch (IOException e) {
          throw Loops.creationFailed(created, count, e);
        }
      }
      EventWatcher loop = EventWatcher.builder().threadName("probe-loop").daemon(true).build();
      watcher = loop;
      for (int round = 0; round < WARM_UP_ROUNDS; round++) {
        Loops.call(
            loop::runInEventWatcherLoop,
            () -> {
              for (int i = 0; i < WARM_UP_FDS; i++)
                loop.watch(fds[i], WatchFlag.READ, NEVER_CALLED);
              for (int i = 0; i < WARM_UP_FDS; i++) loop.unwatch(fds[i], WatchFlag.READ);
              return null;
            });
      }
      Snapshot before = Snapshot.take();
      Loops.call(
          loop::runInEventWatcherLoop,
          () -> {
            for (int fd : fds) loop.watch(fd, WatchFlag.READ, NEVER_CALLED);
            return null;
          });
      Loops.call(loop::runInEventWatcherLoop, () -> null);
      Snapshot after = Snapshot.take();
      return new Snapshot[] {before, after};
    } finally {
      if (watcher != null) watcher.close();
      for (int i = 0; i < created; i++) NativeIO.close(fds[i]);
    }
  }

  /** Before and after registering, for the JDK Selector. */
  private static Snapshot[] jdkSelector(int count) throws IOException, InterruptedException {
    Loops.checkFdLimit(count, "MemoryProbe jdk-selector " + count);
    DatagramChannel[] channels = new DatagramChannel[count];
    Loops.SelectorLoop loop = null;
    try {
      for (int i = 0; i < count; i++) {
        try {
          channels[i] = DatagramChannel.open();
        } catch (IOException e) {
          throw Loops.creationFailed(i, count, e);
        }
        channels[i].configureBlocking(false);
      }
      loop = new Loops.SelectorLoop("probe-selector");
      Selector selector = loop.selector();
      for (int round = 0; round < WARM_UP_ROUNDS; round++) {
        Loops.call(
            loop,
            () -> {
              register(selector, channels, WARM_UP_FDS);
              for (int i = 0; i < WARM_UP_FDS; i++) channels[i].keyFor(selector).cancel();
              selector.selectNow();
              return null;
            });
      }
      Snapshot before = Snapshot.take();
      Loops.call(loop, () -> register(selector, channels, count));
      Loops.call(loop, () -> null);
      Snapshot after = Snapshot.take();
      return new Snapshot[] {before, after};
    } finally {
      if (loop != null) loop.close();
      for (DatagramChannel channel : channels) {
        if (channel != null) channel.close();
      }
    }
  }

  /** Selector thread: registers the first {@code count} channels, flushing every CHUNK. */
  private static Void register(Selector selector, DatagramChannel[] channels, int count)
      throws IOException {
    for (int i = 0; i < count; i++) {
      channels[i].register(selector, SelectionKey.OP_READ);
      if (i % CHUNK == CHUNK - 1) selector.selectNow();
    }
    selector.selectNow();
    return null;
  }

  private static void print(String impl, int fds, String metric, double value) {
    System.out.printf(Locale.ROOT, "RESULT\tmemory\t%s\t%d\t%s\t%.1f%n", impl, fds, metric, value);
  }

  /** Live heap and resident anonymous memory at one moment. */
  record Snapshot(long heapBytes, long rssAnonBytes) {
    /** Collects until the live heap stops changing, then reads both. */
    static Snapshot take() throws IOException, InterruptedException {
      MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
      long used = Long.MAX_VALUE;
      for (int i = 0; i < 10; i++) {
        System.gc();
        long now = memory.getHeapMemoryUsage().getUsed();
        if (now == used) break;
        used = now;
        Thread.sleep(20);
      }
      long rss = Loops.procStatus(Path.of("/proc/self/status"), "RssAnon") * 1024;
      return new Snapshot(used, rss);
    }
  }
}
