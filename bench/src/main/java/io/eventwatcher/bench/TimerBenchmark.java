package io.eventwatcher.bench;

import io.netty.util.Timer;
import java.io.IOException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
 * Timer throughput with {@code pending} timers already pending, all due 1 to 2 hours ahead (see
 * {@link TimerPeers} for the four implementations). Every invocation is {@link #BATCH} ops and the
 * score is ops per second:
 *
 * <ul>
 *   <li>{@code ...Cancel...}: one op is a schedule of a far timer (its delay drawn from the same
 *       range as the pending ones, so it lands at a random place among them) followed by its
 *       cancel.
 *   <li>{@code ...Fire...}: one op is a schedule of a timer due at once (delay 0) and its run; the
 *       invocation ends when the last of its BATCH timers has run, so the score is timers scheduled
 *       and run per second. Each due timer passes the pending ones, so it travels the whole height
 *       of a heap twice (in at the root, out at the root).
 * </ul>
 *
 * <p>From the loop thread ({@code ...Loop}): one task per invocation, handed to the
 * implementation's thread ({@code execute}), does the BATCH schedules (and cancels) there, and the
 * benchmark thread waits for it (and, for fire, for the last run). From another thread ({@code
 * ...CrossThread}): the benchmark thread schedules and cancels itself. A cross-thread cancel batch
 * ends with a round trip to the loop (a task the benchmark thread waits for), so the loop has taken
 * in the batch's work before the next one starts: Netty's loop is woken by neither a far schedule
 * nor a cancel from another thread (both are queued for it lazily), so without the round trip its
 * task queue would grow for the whole iteration. At 10,000 ops per round trip it costs a few ns per
 * op. The wheel has no loop to run code on: its {@code Loop} variants do not exist, its
 * cross-thread cancel batch has no round trip (its worker takes in new and cancelled timers on
 * every 1 ms tick, so its queues hold at most a tick's worth).
 *
 * <p>Method names are {@code <cancel|fire><Loop|CrossThread>}, with the implementation in the
 * {@code impl} param, and {@code wheel<Cancel|Fire>CrossThread}; bench/report.py reads them so.
 *
 * <p>The heap is fixed and touched in advance ({@code -XX:+AlwaysPreTouch}): every op allocates
 * (each implementation's future), and a JVM that first fills eden regions it has never touched pays
 * a page fault per 4 KiB of them, which made whole iterations 5× slower (4 against 20-30 M ops/s
 * for EventWatcher at 100,000 pending) until the first collections had recycled them. The heap is
 * large (8 GiB) because a small young generation collects often enough to cost as much (2 GiB:
 * 12-17 M ops/s in the same cell); the same flags apply to every implementation.
 */
@BenchmarkMode(Mode.Throughput)
@Fork(jvmArgs = {"-Xms8g", "-Xmx8g", "-XX:+AlwaysPreTouch"})
@OutputTimeUnit(TimeUnit.SECONDS)
public class TimerBenchmark {
  /** Ops per invocation. */
  static final int BATCH = 10_000;

  /** How long the benchmark thread waits for the loop before declaring the run failed. */
  private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(30);

  /** One implementation with {@code pending} far timers, set up once per trial. */
  @State(Scope.Benchmark)
  public abstract static class Timers {
    /** How many timers are pending (far ahead) while the benchmark runs. */
    @Param({"1000", "100000", "1000000"})
    public int pending;

    TimerPeers.Peer peer;

    abstract String impl();

    /** Starts the implementation and fills it with the pending timers. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      peer = TimerPeers.open(impl(), "bench-timer");
      peer.fill(pending, new TimerPeers.FarDelays(1));
    }

    /** Stops it, dropping the pending timers. */
    @TearDown(Level.Trial)
    public void tearDown() {
      if (peer != null) peer.close();
    }
  }

  /** An implementation that is a ScheduledExecutorService. */
  public static class ExecutorTimers extends Timers {
    /** Which: EventWatcher, ScheduledThreadPoolExecutor(1), Netty's epoll event loop. */
    @Param({"java-api", "jdk-stpe", "netty-epoll"})
    public String impl;

    @Override
    String impl() {
      return impl;
    }
  }

  /** Netty's HashedWheelTimer. */
  public static class WheelTimers extends Timers {
    @Override
    String impl() {
      return "netty-wheel";
    }
  }

  /**
   * A benchmark thread's batch: its delays, the task that counts fired timers down, and the task it
   * runs on a loop thread. What a batch on the loop throws is kept and rethrown by the benchmark
   * thread.
   */
  @State(Scope.Thread)
  public static class Batch {
    final Loops.Signal done = new Loops.Signal();
    final TimerPeers.FarDelays delays = new TimerPeers.FarDelays(2);

    /** Runs once per fired timer; the BATCH-th run raises {@link #done}. Loop thread. */
    final TimerPeers.Task countdown =
        new TimerPeers.Task() {
          @Override
          public void run() {
            if (--left == 0) done.run();
          }
        };

    final Runnable cancelOnLoop = () -> onLoop(true);
    final Runnable fireOnLoop = () -> onLoop(false);

    /** Timers of this batch still to fire; written before the batch is handed over. */
    int left;

    ScheduledExecutorService target;
    Throwable failure;

    private void onLoop(boolean cancel) {
      try {
        if (cancel) {
          cancelPairs(target);
        } else {
          scheduleDue(target);
        }
      } catch (Throwable e) {
        failure = e;
        done.run();
        return;
      }
      if (cancel) done.run(); // fire: the last countdown raises it
    }

    void cancelPairs(ScheduledExecutorService timers) {
      TimerPeers.FarDelays far = delays;
      for (int i = 0; i < BATCH; i++) {
        timers.schedule(TimerPeers.NEVER_RUN, far.next(), TimeUnit.NANOSECONDS).cancel(false);
      }
    }

    void scheduleDue(ScheduledExecutorService timers) {
      for (int i = 0; i < BATCH; i++) timers.schedule(countdown, 0, TimeUnit.NANOSECONDS);
    }

    /** Hands {@code batch} to the loop thread and waits for it (and the timers it fires). */
    void runOnLoop(ScheduledExecutorService timers, Runnable batch, boolean fire) {
      target = timers;
      left = fire ? BATCH : -1;
      done.arm();
      timers.execute(batch);
      await();
    }

    /** One task on the loop and a wait for it. */
    void roundTrip(ScheduledExecutorService timers) {
      done.arm();
      timers.execute(done);
      await();
    }

    void armFire() {
      left = BATCH;
      done.arm();
    }

    void await() {
      if (!done.await(STUCK_NANOS)) {
        throw new IllegalStateException("the timer thread did not finish a batch in 30 s");
      }
      Throwable e = failure;
      if (e != null) {
        failure = null;
        throw new IllegalStateException("the batch failed on the timer thread", e);
      }
    }
  }

  // ---- the ScheduledExecutorServices: EventWatcher, ScheduledThreadPoolExecutor, Netty ----

  /** BATCH schedule+cancel pairs in one task on the loop thread. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void cancelLoop(ExecutorTimers timers, Batch batch) {
    batch.runOnLoop(timers.peer.executor(), batch.cancelOnLoop, false);
  }

  /** BATCH schedule+cancel pairs from the benchmark thread, then a round trip. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void cancelCrossThread(ExecutorTimers timers, Batch batch) {
    ScheduledExecutorService executor = timers.peer.executor();
    batch.cancelPairs(executor);
    batch.roundTrip(executor);
  }

  /** BATCH due timers scheduled in one task on the loop thread; waits until all have run. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void fireLoop(ExecutorTimers timers, Batch batch) {
    batch.runOnLoop(timers.peer.executor(), batch.fireOnLoop, true);
  }

  /** BATCH due timers scheduled from the benchmark thread; waits until all have run. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void fireCrossThread(ExecutorTimers timers, Batch batch) {
    batch.armFire();
    batch.scheduleDue(timers.peer.executor());
    batch.await();
  }

  // ---- Netty HashedWheelTimer (no loop variants: nothing else runs on its thread) ----

  /** BATCH newTimeout+cancel pairs from the benchmark thread. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void wheelCancelCrossThread(WheelTimers timers, Batch batch) {
    Timer wheel = timers.peer.timer();
    TimerPeers.FarDelays far = batch.delays;
    for (int i = 0; i < BATCH; i++) {
      wheel.newTimeout(TimerPeers.NEVER_RUN, far.next(), TimeUnit.NANOSECONDS).cancel();
    }
  }

  /** BATCH due timeouts from the benchmark thread; waits until all have run (on a tick). */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void wheelFireCrossThread(WheelTimers timers, Batch batch) {
    Timer wheel = timers.peer.timer();
    batch.armFire();
    for (int i = 0; i < BATCH; i++) wheel.newTimeout(batch.countdown, 0, TimeUnit.NANOSECONDS);
    batch.await();
  }
}
