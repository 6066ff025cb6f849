package io.eventwatcher.bench;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.nio.channels.Pipe;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Watch/unwatch churn: one op is one watch of an fd for READ followed by its unwatch. The fd is the
 * read end of a pipe nothing is written to, so it is never ready and no event interferes. Each
 * benchmark thread has its own pipe; the loop is shared.
 *
 * <p>From the loop thread ({@code ...Loop}): one task per invocation runs {@link #BATCH} pairs on
 * the loop thread, and the benchmark thread waits for it (one round trip per 1,000 ops). From
 * another thread ({@code ...CrossThread}): the benchmark thread makes the calls itself.
 *
 * <p><b>Java API.</b> On the loop thread, {@code watch} and {@code unwatch} are direct calls, each
 * one {@code epoll_ctl} (ADD, DEL). From another thread each is a synchronous hand-off: a task to
 * the loop and a wait for its result, so a pair is two round trips plus the two epoll_ctl.
 *
 * <p><b>JDK Selector.</b> Registration is lazy: {@code register} queues the key and the selector
 * calls epoll_ctl(ADD) at the start of its next select; {@code cancel} queues the key for
 * deregistration, done (with epoll_ctl(DEL) if it was added) by the next select. Until then the
 * channel counts as registered, and registering it again throws {@link
 * java.nio.channels.CancelledKeyException}. So a pair must end with a select to be repeatable:
 *
 * <ul>
 *   <li>{@code jdkSelectorLoop}: on the selector thread, {@code register} then {@code selectNow()}
 *       (which adds the fd to epoll), {@code cancel} then {@code selectNow()} (which removes it and
 *       flushes the key, so that the channel can register again): two epoll_ctl per pair, as for
 *       the Java API, plus two epoll_wait(0).
 *   <li>{@code jdkSelectorCrossThread}: the benchmark thread calls {@code register} (since JDK 11
 *       it does not wait for a selector blocked in select), wakes the selector with a task (queue +
 *       {@code wakeup()}) and waits for it; then {@code cancel}, and wake-up round trips until the
 *       channel is deregistered (usually one; two when the task ran before the select that flushes
 *       the key). Whether the fd reached epoll in between depends on timing (the selector adds it
 *       at the start of its next select, which may come after the cancel): the JDK's lazy
 *       registration means a registration made from another thread takes effect only when the
 *       selector next wakes, where the Java API's watch is in effect when it returns.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ChurnBenchmark {
  /** Pairs per task in the loop-thread variants. */
  static final int BATCH = 1000;

  private static final WatchCallback NEVER_CALLED = fd -> {};

  /**
   * A benchmark thread's pipe for the Java API, and its batch task for the loop thread. The batch
   * records what it threw and raises {@link #done}.
   */
  @State(Scope.Thread)
  public static class JavaApiFd implements Runnable {
    final Loops.Signal done = new Loops.Signal();
    int[] pipe;
    EventWatcher watcher;
    Throwable failure;

    /** Creates the pipe (non-blocking, nothing ever written). */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      pipe = NativeIO.pipe();
    }

    /** Closes the pipe (the trial's watchers have unwatched it). */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (pipe != null) {
        NativeIO.close(pipe[0]);
        NativeIO.close(pipe[1]);
      }
    }

    /** Loop thread: BATCH watch + unwatch pairs, then wakes the benchmark thread. */
    @Override
    public void run() {
      try {
        int fd = pipe[0];
        for (int i = 0; i < BATCH; i++) {
          watcher.watch(fd, WatchFlag.READ, NEVER_CALLED);
          watcher.unwatch(fd, WatchFlag.READ);
        }
      } catch (Throwable e) {
        failure = e;
      }
      done.run();
    }

    void rethrow() throws IOException {
      Throwable e = failure;
      if (e == null) return;
      failure = null;
      throw new IOException("watch/unwatch failed on the loop thread", e);
    }
  }

  /** A benchmark thread's pipe for the JDK Selector, and its batch task for the selector thread. */
  @State(Scope.Thread)
  public static class JdkSelectorFd implements Runnable {
    final Loops.Signal done = new Loops.Signal();
    Pipe pipe;
    Selector selector;
    Throwable failure;

    /** Creates the pipe; its source end non-blocking, as a Selector requires. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      pipe = Pipe.open();
      pipe.source().configureBlocking(false);
    }

    /** Closes the pipe. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (pipe != null) {
        pipe.source().close();
        pipe.sink().close();
      }
    }

    /** Selector thread: BATCH register + cancel + selectNow, then wakes the benchmark thread. */
    @Override
    public void run() {
      try {
        Pipe.SourceChannel source = pipe.source();
        for (int i = 0; i < BATCH; i++) {
          SelectionKey key = source.register(selector, SelectionKey.OP_READ);
          selector.selectNow(); // processes the registration: epoll_ctl(ADD)
          key.cancel();
          selector
              .selectNow(); // deregisters the cancelled key (epoll_ctl(DEL)), so it can register
          // again
        }
      } catch (Throwable e) {
        failure = e;
      }
      done.run();
    }

    void rethrow() throws IOException {
      Throwable e = failure;
      if (e == null) return;
      failure = null;
      throw new IOException("register/cancel failed on the selector thread", e);
    }
  }

  /** BATCH pairs in one task on the Java API's loop thread. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void javaApiLoop(Loops.JavaApi loop, JavaApiFd fd) throws IOException {
    fd.watcher = loop.watcher;
    fd.done.arm();
    loop.watcher.runInEventWatcherLoop(fd);
    fd.done.await();
    fd.rethrow();
  }

  /** One pair from the benchmark thread: two synchronous hand-offs to the loop thread. */
  @Benchmark
  public void javaApiCrossThread(Loops.JavaApi loop, JavaApiFd fd) throws IOException {
    EventWatcher watcher = loop.watcher;
    watcher.watch(fd.pipe[0], WatchFlag.READ, NEVER_CALLED);
    watcher.unwatch(fd.pipe[0], WatchFlag.READ);
  }

  /** BATCH register + cancel + selectNow in one task on the selector thread. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void jdkSelectorLoop(Loops.JdkSelector loop, JdkSelectorFd fd) throws IOException {
    fd.selector = loop.loop.selector();
    fd.done.arm();
    loop.loop.execute(fd);
    fd.done.await();
    fd.rethrow();
  }

  /**
   * From the benchmark thread while the selector thread sits in select: a register, then a wake-up
   * round trip so that the selector picks the registration up; a cancel, then wake-up round trips
   * until the selector has deregistered the key.
   */
  @Benchmark
  public void jdkSelectorCrossThread(Loops.JdkSelector loop, JdkSelectorFd fd) throws IOException {
    Pipe.SourceChannel source = fd.pipe.source();
    SelectionKey key = source.register(loop.loop.selector(), SelectionKey.OP_READ);
    roundTrip(loop, fd.done);
    key.cancel();
    do {
      roundTrip(loop, fd.done);
    } while (source.isRegistered());
  }

  private static void roundTrip(Loops.JdkSelector loop, Loops.Signal signal) {
    signal.arm();
    loop.loop.execute(signal);
    signal.await();
  }
}
