package io.eventwatcher.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Task throughput with many submitters: 4 benchmark threads submit tasks to one loop, each keeping
 * up to {@link Window#SIZE} of its tasks in flight. One op is one task submitted; as no thread gets
 * more than SIZE ahead of the loop, over an iteration the tasks submitted equal the tasks run give
 * or take 4 × SIZE (a few ms of work), so the score is tasks run per second.
 *
 * <p>Flow control: each thread's task ({@link Window}, one object submitted over and over) counts
 * its completions. When a thread has SIZE tasks in flight it parks until the loop has brought its
 * window down to half; the task that does so unparks it. The loop's per-task cost of this is one
 * volatile store and one volatile load. At the end of each iteration every thread waits until its
 * tasks have all run, so iterations start with empty queues; a timed park guards every wait, so a
 * dead loop fails the run instead of hanging it.
 *
 * <p>Submission is as in {@link TaskLatencyBenchmark}: {@code runInEventWatcherLoop}, JDK Selector
 * {@code offer} + {@code wakeup()} (the JDK's wakeup takes a lock that the 4 submitters contend
 * for), Netty {@code execute}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(4)
public class TaskThroughputBenchmark {
  /**
   * One submitter's window of tasks in flight, and the task it submits. {@code submitted} is
   * written by the submitter only, {@code completed} by the loop thread only.
   */
  @State(Scope.Thread)
  public static class Window implements Runnable {
    /** Most tasks one submitter has in flight. */
    static final int SIZE = 1024;

    /** How long a wait for the loop may last before the run is declared failed. */
    private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(30);

    private static final VarHandle WAKE_AT;

    static {
      try {
        WAKE_AT = MethodHandles.lookup().findVarHandle(Window.class, "wakeAt", long.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private long submitted;
    private volatile long completed;

    /** The completion count at which to unpark the submitter; MAX_VALUE when it is not waiting. */
    private volatile long wakeAt = Long.MAX_VALUE;

    private volatile Thread submitter;

    /**
     * Loop thread: one task done. The volatile store of {@code completed} before the load of {@code
     * wakeAt}, against the submitter's store of wakeAt before its load of completed, is what makes
     * a lost wake-up impossible.
     */
    @Override
    public void run() {
      long done = completed + 1;
      completed = done;
      long target = wakeAt;
      if (done >= target && WAKE_AT.compareAndSet(this, target, Long.MAX_VALUE)) {
        LockSupport.unpark(submitter);
      }
    }

    /** Benchmark thread: makes room for one more task in the window, then counts it in. */
    void reserve() {
      long count = submitted;
      if (count - completed >= SIZE) awaitCompleted(count - SIZE / 2);
      submitted = count + 1;
    }

    /** Benchmark thread: parks until the loop has completed {@code target} of its tasks. */
    private void awaitCompleted(long target) {
      Thread current = Thread.currentThread();
      if (submitter != current) submitter = current;
      wakeAt = target;
      long start = System.nanoTime();
      while (completed < target) {
        LockSupport.parkNanos(this, 100_000_000L); // the timeout only guards against a dead loop
        if (completed < target && System.nanoTime() - start > STUCK_NANOS) {
          throw new IllegalStateException("the loop ran no task of this thread for 30 s");
        }
      }
      wakeAt = Long.MAX_VALUE;
    }

    /** Waits until every task this thread submitted has run, so the next iteration starts clean. */
    @TearDown(Level.Iteration)
    public void drain() {
      awaitCompleted(submitted);
    }
  }

  /** Submits one task to the Java API's loop. */
  @Benchmark
  public void javaApi(Loops.JavaApi loop, Window window) {
    window.reserve();
    loop.watcher.runInEventWatcherLoop(window);
  }

  /** Submits one task to the JDK Selector loop. */
  @Benchmark
  public void jdkSelector(Loops.JdkSelector loop, Window window) {
    window.reserve();
    loop.loop.execute(window);
  }

  /** Submits one task to Netty's epoll event loop. */
  @Benchmark
  public void netty(Loops.Netty loop, Window window) {
    window.reserve();
    loop.loop.execute(window);
  }
}
