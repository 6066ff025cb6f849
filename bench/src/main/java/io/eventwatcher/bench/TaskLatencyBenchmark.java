package io.eventwatcher.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Task round trip: the benchmark thread submits a task to an idle loop on another thread and waits
 * until the task has run and woken it. One op is one round trip; JMH samples their times
 * (SampleTime), so the JSON result has percentiles ({@code scorePercentiles} "50.0", "99.0").
 *
 * <p>The waiter parks ({@link java.util.concurrent.locks.LockSupport#park}) until the task raises a
 * volatile flag and unparks it, with no spinning: a round trip is two cross-thread wake-ups, the
 * loop's (its wakeup fd, written by the submit) and the waiter's (a futex). Each thread reuses one
 * task object ({@link Loops.Signal}), so what allocates per op is the loop's own queue: a
 * ConcurrentLinkedQueue node for the Java API and the JDK peer, amortised array chunks for Netty.
 *
 * <ul>
 *   <li>{@code javaApi}: {@link io.eventwatcher.EventWatcher#runInEventWatcherLoop}.
 *   <li>{@code jdkSelector}: a thread looping on {@code select(Consumer)} then draining a
 *       ConcurrentLinkedQueue; submit is {@code offer} plus {@code selector.wakeup()} ({@link
 *       Loops.SelectorLoop}).
 *   <li>{@code netty}: {@code EpollEventLoopGroup(1).next().execute(task)}.
 * </ul>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class TaskLatencyBenchmark {
  /** The waiting thread's reusable task: one per benchmark thread. */
  @State(Scope.Thread)
  public static class Waiter {
    final Loops.Signal signal = new Loops.Signal();
  }

  /** One round trip through the Java API's loop. */
  @Benchmark
  public void javaApi(Loops.JavaApi loop, Waiter waiter) {
    Loops.Signal signal = waiter.signal;
    signal.arm();
    loop.watcher.runInEventWatcherLoop(signal);
    signal.await();
  }

  /** One round trip through the JDK Selector loop. */
  @Benchmark
  public void jdkSelector(Loops.JdkSelector loop, Waiter waiter) {
    Loops.Signal signal = waiter.signal;
    signal.arm();
    loop.loop.execute(signal);
    signal.await();
  }

  /** One round trip through Netty's epoll event loop. */
  @Benchmark
  public void netty(Loops.Netty loop, Waiter waiter) {
    Loops.Signal signal = waiter.signal;
    signal.arm();
    loop.loop.execute(signal);
    signal.await();
  }
}
