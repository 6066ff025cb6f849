package io.eventwatcher.bench;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.FileDescriptors;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.Pipe;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Dispatch throughput: how many readiness events per second a loop delivers to a callback.
 *
 * <p>Workload: {@code fds} pipes, each holding one byte that is never read and whose write end is
 * closed, watched for READ. Level-triggered readiness makes every pipe ready on every turn forever
 * (the byte, then end-of-file), so the loop never blocks and never does I/O: what is timed is
 * purely epoll_wait plus the library's per-turn and per-event work. fds=1 shows the per-turn cost
 * (one event per epoll_wait); fds=1000 and up show the per-event cost (batches of 256 for
 * EventWatcher, up to 1024 for the JDK Selector). fds="W/R" watches W fds of which only R (spread
 * evenly) are such pipes and the rest unbound UDP sockets, never readable: the cost should follow
 * the ready fds, not the watched ones. Each watched fd is one descriptor, so the largest shape is
 * bounded by RLIMIT_NOFILE (bench/run.sh picks W from the hard limit); set-up fails at once with a
 * message if it does not fit. Set-up watches from a task on the loop thread, so no watch is a
 * cross-thread hand-off; it prints how long it took on stderr.
 *
 * <p>One op is one event delivered to the callback ({@link OperationsPerInvocation}), so the score
 * is events/s and {@code -prof gc}'s gc.alloc.rate.norm is bytes allocated per event, by all
 * threads of the JVM (JMH reads getTotalThreadAllocatedBytes), so the loop thread is included. The
 * JDK Selector allocates about 16 bytes per event once fd numbers pass 127: it finds the key of a
 * ready fd in a {@code HashMap<Integer, SelectionKeyImpl>}, boxing fds beyond the Integer cache.
 *
 * <p>Both Java variants do the same per-event work, {@link Counter#onEvent()}. The EventWatcher
 * loop runs on its own thread and never stops; the benchmark thread parks until the counter reaches
 * the next target. Targets are chained (each is the previous one plus {@link #BATCH}, not "now plus
 * BATCH"), so events dispatched while the benchmark thread is waking up count towards the next
 * invocation instead of being lost: over an iteration the ops counted equal the events dispatched,
 * give or take one batch. The JDK Selector has no thread of its own, so the benchmark thread runs
 * {@code select(Consumer)} itself.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class DispatchBenchmark {
  /** Events per invocation: large enough that one park/unpark per batch is noise. */
  static final int BATCH = 100_000;

  /**
   * Counts events. The count is written by one thread only, with a release store (a plain mov on
   * x86), and the target is read with a plain volatile load: no fence, no lock, no allocation per
   * event. When the count reaches the target the counter clears the target (CAS, once per batch)
   * and unparks the waiter.
   */
  static final class Counter implements WatchCallback, Consumer<SelectionKey> {
    private static final VarHandle COUNT;
    private static final VarHandle TARGET;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        COUNT = lookup.findVarHandle(Counter.class, "count", long.class);
        TARGET = lookup.findVarHandle(Counter.class, "target", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private long count;
    private volatile long target = Long.MAX_VALUE;
    private volatile Thread waiter;

    void onEvent() {
      long n = count + 1;
      COUNT.setRelease(this, n);
      long t = target;
      if (n >= t && TARGET.compareAndSet(this, t, Long.MAX_VALUE)) LockSupport.unpark(waiter);
    }

    /** EventWatcher callback, on the loop thread. */
    @Override
    public void run(int fd) {
      onEvent();
    }

    /** Selector consumer, on the benchmark thread. */
    @Override
    public void accept(SelectionKey key) {
      onEvent();
    }

    long count() {
      return (long) COUNT.getAcquire(this);
    }

    /** Benchmark thread: waits until the loop thread has counted {@code until} events. */
    void awaitCount(long until) {
      waiter = Thread.currentThread();
      target = until;
      // Re-checks the count after setting the target, so a wakeup cannot be lost; the timeout
      // only guards against a loop thread that died.
      while (count() < until) LockSupport.parkNanos(this, 100_000_000L);
    }
  }

  /**
   * The {@code fds} parameter: "N" for N watched fds, all ready, or "WATCHED/READY" for WATCHED
   * watched fds of which READY (spread evenly) are ready and the rest never are.
   */
  record Shape(int watched, int ready) {
    /** Parses "N" or "WATCHED/READY". */
    static Shape parse(String fds) {
      int slash = fds.indexOf('/');
      int watched = Integer.parseInt(slash < 0 ? fds : fds.substring(0, slash));
      int ready = slash < 0 ? watched : Integer.parseInt(fds.substring(slash + 1));
      if (watched < 1 || ready < 1 || ready > watched) {
        throw new IllegalArgumentException("bad fds: " + fds);
      }
      return new Shape(watched, ready);
    }

    /** The parameter's spelling, for messages. */
    @Override
    public String toString() {
      return watched == ready ? Integer.toString(watched) : watched + "/" + ready;
    }

    /** Whether pipe {@code i} gets a byte: every (watched / ready)-th, READY of them in all. */
    boolean isReady(int i) {
      int stride = watched / ready;
      return i % stride == 0 && i / stride < ready;
    }
  }

  /**
   * One fd per watched fd, so that the largest shapes fit the fd limit (a sandbox may not raise its
   * hard limit): a ready fd is the read end of a pipe holding one unread byte whose write end is
   * closed (readable forever: the byte, then end-of-file), an idle one an unbound UDP socket (never
   * readable). Every peer uses the same two kinds. Returns the channels; for the Java API their fds
   * are watched as plain ints through {@link FileDescriptors#fd(SelectableChannel)}.
   */
  static SelectableChannel[] channels(Shape shape) throws IOException {
    Loops.checkFdLimit(shape.watched() + 1L, "fds=" + shape);
    SelectableChannel[] channels = new SelectableChannel[shape.watched()];
    ByteBuffer one = ByteBuffer.allocateDirect(1);
    try {
      for (int i = 0; i < channels.length; i++) {
        try {
          if (shape.isReady(i)) {
            Pipe pipe = Pipe.open();
            channels[i] = pipe.source();
            if (pipe.sink().write(one.clear()) != 1) throw new IOException("short write");
            pipe.sink().close();
          } else {
            channels[i] = DatagramChannel.open(StandardProtocolFamily.INET);
          }
        } catch (IOException e) {
          throw Loops.creationFailed(i, channels.length, e);
        }
        channels[i].configureBlocking(false);
      }
    } catch (IOException | RuntimeException e) {
      close(channels);
      throw e;
    }
    return channels;
  }

  static void close(SelectableChannel[] channels) throws IOException {
    if (channels == null) return;
    for (SelectableChannel channel : channels) {
      if (channel != null) channel.close();
    }
  }

  /** The Java API's loop on its own thread, with the fds watched. */
  @State(Scope.Benchmark)
  public static class EventWatcherLoop {
    @Param({"1", "100", "1000", "10000", "100000/100"})
    String fds;

    final Counter counter = new Counter();
    EventWatcher watcher;
    SelectableChannel[] channels;
    long next;

    /** Creates the fds and watches them from a task on the loop thread. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      long start = System.nanoTime();
      channels = channels(Shape.parse(fds));
      // Default settings: 256 events per epoll_wait, callbacks inline on the loop thread.
      watcher = EventWatcher.builder().threadName("bench-loop").daemon(true).build();
      // On the loop thread each watch is a direct call, not a hand-off: 100,000 take well under 1
      // s.
      Loops.call(
          watcher::runInEventWatcherLoop,
          () -> {
            for (SelectableChannel channel : channels) {
              watcher.watch(FileDescriptors.fd(channel), WatchFlag.READ, counter);
            }
            return null;
          });
      reportSetUp(fds, start);
    }

    /** The loop ran untimed since the last iteration: start counting from now. */
    @Setup(Level.Iteration)
    public void resync() {
      next = counter.count();
    }

    /** Stops the loop, then closes the fds. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (watcher != null) watcher.close(); // stops the loop before the fds go away
      close(channels);
    }
  }

  /** A JDK Selector with the fds registered; the benchmark thread selects. */
  @State(Scope.Benchmark)
  public static class JdkSelectorLoop {
    @Param({"1", "100", "1000", "10000", "100000/100"})
    String fds;

    final Counter counter = new Counter();
    Selector selector;
    SelectableChannel[] channels;
    long next;

    /** Creates the fds and registers them (added to epoll by the first select). */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      long start = System.nanoTime();
      channels = channels(Shape.parse(fds));
      selector = Selector.open();
      for (SelectableChannel channel : channels) channel.register(selector, SelectionKey.OP_READ);
      selector.selectNow(key -> {}); // the epoll_ctl(ADD)s, so the first iteration does not pay
      reportSetUp(fds, start);
    }

    /** Starts counting from the count of the previous iteration. */
    @Setup(Level.Iteration)
    public void resync() {
      next = counter.count();
    }

    /** Closes the selector, then the fds. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (selector != null) selector.close();
      close(channels);
    }
  }

  /** Set-up of the large shapes takes a while: says how long, on stderr. */
  static void reportSetUp(String fds, long startNanos) {
    long millis = (System.nanoTime() - startNanos) / 1_000_000;
    System.err.printf("(set-up of fds=%s took %d ms)%n", fds, millis);
  }

  /** Waits until the EventWatcher loop thread has dispatched BATCH more events. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void javaApi(EventWatcherLoop loop) {
    loop.next += BATCH;
    loop.counter.awaitCount(loop.next);
  }

  /** Runs the JDK Selector on this thread until it has delivered BATCH more events. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void jdkSelector(JdkSelectorLoop loop) throws IOException {
    loop.next += BATCH;
    Counter counter = loop.counter;
    while (counter.count() < loop.next) loop.selector.select(counter);
  }
}
