package io.eventwatcher.bench;

import io.eventwatcher.EventWatcher;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The four timer implementations that {@link TimerBenchmark} and the timer probes compare, opened
 * the same way everywhere, and what they share: far delays and a task that is both a {@link
 * Runnable} and a Netty {@link TimerTask}.
 *
 * <ul>
 *   <li>{@code java-api}: an {@link EventWatcher} (its own timer heap, on its loop thread).
 *   <li>{@code jdk-stpe}: a {@link ScheduledThreadPoolExecutor} of one thread with {@link
 *       ScheduledThreadPoolExecutor#setRemoveOnCancelPolicy setRemoveOnCancelPolicy(true)}. Without
 *       it a cancelled task stays in the queue until its deadline, so schedule+cancel of far timers
 *       grows the queue without bound; with it, {@code cancel} takes the queue's lock and removes
 *       the task at once.
 *   <li>{@code netty-epoll}: {@code EventLoop.schedule} on Netty's native epoll event loop (one
 *       loop of an {@link EpollEventLoopGroup}), the peer of every other Netty row in the report.
 *   <li>{@code netty-wheel}: Netty's {@link HashedWheelTimer} with a 1 ms tick (its finest; the
 *       default 100 ms would make every timer up to 100 ms late) and the default 512 buckets. Its
 *       worker thread only ticks: it runs no other code, so "on the loop thread" does not apply.
 * </ul>
 *
 * <p>Every implementation's thread is a daemon named {@code PREFIX...}.
 */
public final class TimerPeers {
  /** The implementations, in report order. */
  public static final String[] IMPLS = {"java-api", "jdk-stpe", "netty-epoll", "netty-wheel"};

  /** The shortest far delay: every far timer is due 1 to 2 hours from when it is scheduled. */
  public static final long FAR_NANOS = TimeUnit.HOURS.toNanos(1);

  /** A task that is never meant to run: the pending and the cancelled timers carry it. */
  public static final Task NEVER_RUN = new Task(() -> {});

  private TimerPeers() {}

  /**
   * What a timer runs: a Runnable, and a TimerTask for the wheel (which calls {@link #run()}). One
   * object per purpose, shared by every timer that carries it, so a timer costs only what the
   * implementation allocates.
   */
  public static class Task implements Runnable, TimerTask {
    private final Runnable body;

    /**
     * @param body what each run does
     */
    public Task(Runnable body) {
      this.body = body;
    }

    /** Subclasses override {@link #run()} instead. */
    protected Task() {
      this.body = null;
    }

    @Override
    public void run() {
      body.run();
    }

    @Override
    public final void run(Timeout timeout) {
      run();
    }
  }

  /**
   * A repeatable stream of far delays, uniform over [1 h, 2 h): a new timer lands at a random place
   * among the pending ones, neither always first nor always last. Drawn in advance, so taking one
   * costs an array read. Not thread-safe: one per thread.
   */
  public static final class FarDelays {
    private static final int COUNT = 1 << 16;
    private final long[] delays = new long[COUNT];
    private int next;

    /**
     * @param seed the random seed (the same seed gives the same delays)
     */
    public FarDelays(long seed) {
      SplittableRandom random = new SplittableRandom(seed);
      for (int i = 0; i < COUNT; i++) delays[i] = FAR_NANOS + random.nextLong(FAR_NANOS);
    }

    /**
     * @return the next delay, in nanoseconds
     */
    public long next() {
      return delays[next++ & (COUNT - 1)];
    }
  }

  /**
   * One implementation, started. {@link #executor()} is the ScheduledExecutorService (null for the
   * wheel), {@link #timer()} the wheel (null for the others).
   */
  public static class Peer implements AutoCloseable {
    /** The implementation's id, one of {@link #IMPLS}. */
    public final String impl;

    private final ScheduledExecutorService executor;
    private final boolean fillOnLoop;
    private final Runnable stop;

    Peer(String impl, ScheduledExecutorService executor, boolean fillOnLoop, Runnable stop) {
      this.impl = impl;
      this.executor = executor;
      this.fillOnLoop = fillOnLoop;
      this.stop = stop;
    }

    /**
     * @return the executor whose thread runs the timers, or null for the wheel
     */
    public ScheduledExecutorService executor() {
      return executor;
    }

    /**
     * @return the wheel, or null for the others
     */
    public Timer timer() {
      return null;
    }

    /**
     * Schedules {@code task} to run once after {@code delayNanos}. Any thread.
     *
     * @param task what to run
     * @param delayNanos the delay
     */
    public void schedule(Task task, long delayNanos) {
      executor.schedule((Runnable) task, delayNanos, TimeUnit.NANOSECONDS);
    }

    /**
     * Schedules {@code count} timers carrying {@link #NEVER_RUN} with far delays, where a user
     * would (on the loop thread in one task for an event loop, from this thread for the others),
     * and returns once all are in the implementation's timer structure. Not from its thread.
     *
     * @param count how many
     * @param delays where the delays come from
     * @throws IOException if the implementation's thread failed
     */
    public void fill(int count, FarDelays delays) throws IOException {
      Runnable scheduleAll =
          () -> {
            for (int i = 0; i < count; i++) schedule(NEVER_RUN, delays.next());
          };
      if (!fillOnLoop) scheduleAll.run();
      call(
          () -> {
            if (fillOnLoop) scheduleAll.run();
            return null; // else a round trip: every timer is in the structure
          });
    }

    /**
     * Runs {@code operation} on the implementation's thread and waits for it (allocates: not for
     * timed code). For the wheel, as a timer due now, so it runs after every timer scheduled before
     * it has been taken into the wheel.
     *
     * @param operation what to run
     * @param <T> its result type
     * @return what it returned
     * @throws IOException what it threw, if an IOException
     */
    public <T> T call(Callable<T> operation) throws IOException {
      return Loops.call(executor, operation);
    }

    /** Stops the implementation, dropping its pending timers. Not from its thread. */
    @Override
    public void close() {
      stop.run();
    }
  }

  /** The wheel: no executor; code "on its thread" is a timeout due now. */
  private static final class WheelPeer extends Peer {
    private final HashedWheelTimer wheel;

    WheelPeer(HashedWheelTimer wheel) {
      super("netty-wheel", null, false, wheel::stop);
      this.wheel = wheel;
    }

    @Override
    public Timer timer() {
      return wheel;
    }

    @Override
    public void schedule(Task task, long delayNanos) {
      wheel.newTimeout(task, delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public <T> T call(Callable<T> operation) throws IOException {
      // The wheel takes in at most 100,000 new timeouts per tick, in order: this one comes last.
      return Loops.call(
          command -> wheel.newTimeout(new Task(command), 0, TimeUnit.NANOSECONDS), operation);
    }
  }

  /**
   * @param impl an implementation's id
   * @return whether it is one of {@link #IMPLS}
   */
  public static boolean known(String impl) {
    return Arrays.asList(IMPLS).contains(impl);
  }

  /**
   * Starts one implementation.
   *
   * @param impl one of {@link #IMPLS}
   * @param prefix its thread's name, or the prefix of it
   * @return the started implementation, its thread running
   * @throws IllegalArgumentException if {@code impl} is unknown
   * @throws IOException if it cannot start
   */
  public static Peer open(String impl, String prefix) throws IOException {
    if (!known(impl)) throw new IllegalArgumentException("unknown timer implementation " + impl);
    Peer peer =
        switch (impl) {
          case "java-api" -> eventWatcher(prefix);
          case "jdk-stpe" -> stpe(prefix);
          case "netty-epoll" -> nettyEpoll(prefix);
          default -> wheel(prefix);
        };
    peer.call(() -> null); // its thread is running
    return peer;
  }

  private static Peer eventWatcher(String name) {
    EventWatcher watcher = EventWatcher.builder().threadName(name).daemon(true).build();
    return new Peer("java-api", watcher, true, watcher::close);
  }

  private static Peer stpe(String prefix) {
    ScheduledThreadPoolExecutor executor =
        new ScheduledThreadPoolExecutor(1, new DefaultThreadFactory(prefix, true));
    executor.setRemoveOnCancelPolicy(true);
    // shutdown() would keep the pending timers and wait for them.
    return new Peer("jdk-stpe", executor, false, executor::shutdownNow);
  }

  private static Peer nettyEpoll(String prefix) {
    EpollEventLoopGroup group = Loops.newNettyGroup(prefix);
    return new Peer(
        "netty-epoll",
        group.next(),
        true,
        () -> group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly());
  }

  private static Peer wheel(String prefix) {
    HashedWheelTimer wheel =
        new HashedWheelTimer(new DefaultThreadFactory(prefix, true), 1, TimeUnit.MILLISECONDS);
    wheel.start();
    return new WheelPeer(wheel);
  }
}
