package io.eventwatcher.bench;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
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
 * <p>Workload: {@code fds} pipes, each holding one byte that is never read, watched for READ.
 * Level-triggered readiness makes every pipe ready on every turn forever, so the loop never
 * blocks and never does I/O: what is timed is purely epoll_wait plus the library's per-turn and
 * per-event work. fds=1 shows the per-turn cost (one event per epoll_wait); fds=1000 shows the
 * per-event cost (batches of 256 for EventWatcher, up to 1024 for the JDK Selector).
 *
 * <p>One op is one event delivered to the callback ({@link OperationsPerInvocation}), so the score
 * is events/s and {@code -prof gc}'s gc.alloc.rate.norm is bytes allocated per event, by all
 * threads of the JVM (JMH reads getTotalThreadAllocatedBytes), so the loop thread is included.
 *
 * <p>Both Java variants do the same per-event work, {@link Counter#onEvent()}. The EventWatcher
 * loop runs on its own thread and never stops; the benchmark thread parks until the counter
 * reaches the next target. Targets are chained (each is the previous one plus {@link #BATCH}, not
 * "now plus BATCH"), so events dispatched while the benchmark thread is waking up count towards
 * the next invocation instead of being lost: over an iteration the ops counted equal the events
 * dispatched, give or take one batch. The JDK Selector has no thread of its own, so the benchmark
 * thread runs {@code select(Consumer)} itself.
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

  /** N pipes with one unread byte each; the write ends stay open so no hang-up is reported. */
  static Pipe[] readyPipes(int n) throws IOException {
    Pipe[] pipes = new Pipe[n];
    for (int i = 0; i < n; i++) {
      pipes[i] = Pipe.open();
      pipes[i].source().configureBlocking(false);
      if (pipes[i].sink().write(ByteBuffer.wrap(new byte[] {1})) != 1) throw new IOException("short write");
    }
    return pipes;
  }

  static void close(Pipe[] pipes) throws IOException {
    if (pipes == null) return;
    for (Pipe pipe : pipes) {
      if (pipe == null) continue;
      pipe.source().close();
      pipe.sink().close();
    }
  }

  @State(Scope.Benchmark)
  public static class EventWatcherLoop {
    @Param({"1", "1000"})
    int fds;

    final Counter counter = new Counter();
    EventWatcher watcher;
    Pipe[] pipes;
    long next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      pipes = readyPipes(fds);
      // Default settings: 256 events per epoll_wait, callbacks inline on the loop thread.
      watcher = EventWatcher.builder().threadName("bench-loop").daemon(true).build();
      for (Pipe pipe : pipes) watcher.watch(pipe.source(), WatchFlag.READ, counter);
    }

    /** The loop ran untimed since the last iteration: start counting from now. */
    @Setup(Level.Iteration)
    public void resync() {
      next = counter.count();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (watcher != null) watcher.close(); // stops the loop before the fds go away
      close(pipes);
    }
  }

  @State(Scope.Benchmark)
  public static class JdkSelectorLoop {
    @Param({"1", "1000"})
    int fds;

    final Counter counter = new Counter();
    Selector selector;
    Pipe[] pipes;
    long next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      pipes = readyPipes(fds);
      selector = Selector.open();
      for (Pipe pipe : pipes) pipe.source().register(selector, SelectionKey.OP_READ);
    }

    @Setup(Level.Iteration)
    public void resync() {
      next = counter.count();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (selector != null) selector.close();
      close(pipes);
    }
  }

  /** Waits until the EventWatcher loop thread has dispatched BATCH more events. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void eventWatcher(EventWatcherLoop loop) {
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
