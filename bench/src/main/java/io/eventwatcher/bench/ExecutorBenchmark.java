package io.eventwatcher.bench;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
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
 * Executor-mode dispatch: events per second delivered to callbacks that run on an executor ({@code
 * EventWatcher.builder().executor(...)}), the cost of the hand-off and the re-arm around each call.
 * Workload as {@link DispatchBenchmark}'s: {@code fds} pipes that are ready forever (one unread
 * byte, write end closed). Each event is one call on a fixed pool of {@code threads} threads; a
 * (fd, flag) never has two calls at once, so the fd is ready again only once its call has returned
 * and been re-armed. One op is one callback call.
 *
 * <p>The harness runs it against the current library and against the baseline commit named in
 * bench/baseline.txt (before executor mode armed one-shot), so the two columns are the same
 * workload on the same machine in one run.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ExecutorBenchmark {
  /** Calls per invocation. */
  static final int BATCH = 10_000;

  /** Counts calls from any thread; unparks the waiter when the count reaches its target. */
  static final class Counter {
    private final AtomicLong count = new AtomicLong();
    private volatile long target = Long.MAX_VALUE;
    private volatile Thread waiter;

    void onCall() {
      if (count.incrementAndGet() == target) LockSupport.unpark(waiter);
    }

    /** Waits for BATCH more calls than the previous target (chained, so none is lost). */
    void awaitNext() {
      waiter = Thread.currentThread();
      long next = (target == Long.MAX_VALUE ? count.get() : target) + BATCH;
      target = next;
      while (count.get() < next) LockSupport.park(this);
    }
  }

  @State(Scope.Benchmark)
  public static class Loop {
    @Param({"1", "100"})
    public int fds;

    @Param({"2"})
    public int threads;

    final Counter counter = new Counter();
    ExecutorService pool;
    EventWatcher watcher;
    int[] readEnds;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      pool = Executors.newFixedThreadPool(threads);
      watcher = EventWatcher.builder().threadName("bench-loop").executor(pool).build();
      readEnds = new int[fds];
      for (int i = 0; i < fds; i++) {
        int[] pipe = NativeIO.pipe();
        java.nio.ByteBuffer one = java.nio.ByteBuffer.allocateDirect(1);
        NativeIO.write(pipe[1], one);
        NativeIO.close(pipe[1]);
        readEnds[i] = pipe[0];
      }
      CompletableFuture<Void> watched = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(
          () -> {
            try {
              for (int fd : readEnds) watcher.watch(fd, WatchFlag.READ, ready -> counter.onCall());
              watched.complete(null);
            } catch (IOException | RuntimeException e) {
              watched.completeExceptionally(e);
            }
          });
      watched.get(30, TimeUnit.SECONDS);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
      watcher.unwatchAll();
      watcher.close();
      pool.shutdown();
      for (int fd : readEnds) NativeIO.close(fd);
    }
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void javaApi(Loop loop) {
    loop.counter.awaitNext();
  }
}
