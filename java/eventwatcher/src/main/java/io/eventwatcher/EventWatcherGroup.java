package io.eventwatcher;

import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A fixed set of {@link EventWatcher}s, one loop thread each, for servers that outgrow one core:
 * what Netty's {@code EventLoopGroup} is to its event loops.
 *
 * <p><b>Loops.</b> The group is built from one {@link EventWatcher.Builder}: every watcher gets its
 * settings (executor, error handler, daemon, events per wait), which the watchers then share, so an
 * executor or error handler given to a group must be thread-safe. Loop threads are named {@code
 * PREFIX-0} to {@code PREFIX-(N-1)}, where PREFIX is the builder's thread name (default {@code
 * eventwatcher-K}). {@link #watchers()} lists them in that order.
 *
 * <p><b>Spreading work.</b> {@link #next()} picks the watchers round-robin (a mask when N is a
 * power of two, a remainder otherwise). Work that belongs to one connection stays on the watcher it
 * was given: register its fd there, and run its tasks and timers there, so that it needs no lock.
 * To hand a connection from one loop to another (an acceptor giving accepted sockets to workers),
 * {@linkplain EventWatcher#execute submit a task} to the receiving watcher that calls {@link
 * EventWatcher#watch watch} there, on its own loop thread, where it applies at once: the giving
 * loop only enqueues the task and never waits for the receiving one, whereas {@code watch} called
 * from another thread waits for the receiving loop to apply it.
 *
 * <p><b>An executor.</b> The group is a {@link ScheduledExecutorService} whose tasks go to {@link
 * #next()}: each task, delayed task or periodic task runs on one watcher's loop thread, with that
 * watcher's guarantees (see {@link EventWatcher}). Successive tasks of one caller may run on
 * different loops, hence concurrently and in no particular order: for ordered tasks, use one
 * watcher.
 *
 * <p><b>Lifecycle.</b> {@link #shutdown()} shuts every watcher down; {@link #close()} does so for
 * all of them at once and then waits for all, so closing N loops takes as long as the slowest, not
 * the sum. Every method is thread-safe.
 */
public final class EventWatcherGroup extends LoopExecutorService {
  private final List<EventWatcher> watchers;
  private final EventWatcher[] ring;
  private final int mask;
  private final AtomicLong nextIndex = new AtomicLong();

  /**
   * Creates a group of {@link Runtime#availableProcessors()} watchers with default settings and
   * starts their loop threads. Any thread.
   *
   * @throws UncheckedIOException if a watcher's epoll or eventfd cannot be created (the watchers
   *     already created are closed)
   * @throws UnsupportedOperationException if the native library is unavailable, saying why
   */
  public EventWatcherGroup() {
    this(Runtime.getRuntime().availableProcessors());
  }

  /**
   * Creates a group of {@code threads} watchers with default settings and starts their loop
   * threads. Any thread.
   *
   * @param threads how many watchers, at least 1
   * @throws IllegalArgumentException if threads is below 1
   * @throws UncheckedIOException if a watcher's epoll or eventfd cannot be created (the watchers
   *     already created are closed)
   * @throws UnsupportedOperationException if the native library is unavailable, saying why
   */
  public EventWatcherGroup(int threads) {
    this(EventWatcher.builder(), threads);
  }

  /** For {@link EventWatcher.Builder#buildGroup}: N watchers with the builder's settings. */
  EventWatcherGroup(EventWatcher.Builder settings, int threads) {
    if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    String prefix = settings.threadNameOrNull();
    if (prefix == null) prefix = EventWatcher.defaultName();
    List<EventWatcher> created = new ArrayList<>(threads);
    try {
      for (int i = 0; i < threads; i++) created.add(settings.build(prefix + "-" + i));
    } catch (RuntimeException | Error e) {
      closeAll(created);
      throw e;
    }
    watchers = List.copyOf(created);
    ring = created.toArray(new EventWatcher[0]);
    mask = Integer.bitCount(threads) == 1 ? threads - 1 : -1;
  }

  /**
   * The watchers, in thread-name order ({@code PREFIX-0} first). Any thread; never throws.
   *
   * @return an unmodifiable list of N watchers
   */
  public List<EventWatcher> watchers() {
    return watchers;
  }

  /**
   * The next watcher, round-robin: successive calls from all threads together visit the watchers in
   * order, each once per N calls. Lock-free; any thread; never throws, also after shutdown (the
   * watcher returned is then shut down too).
   *
   * @return a watcher of this group
   */
  public EventWatcher next() {
    long index = nextIndex.getAndIncrement();
    return mask >= 0
        ? ring[(int) index & mask]
        : ring[(int) Long.remainderUnsigned(index, ring.length)];
  }

  /**
   * Runs {@code task} on the loop thread of {@link #next()}, as {@link EventWatcher#execute} does.
   * Any thread.
   *
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public void execute(Runnable task) {
    next().execute(Objects.requireNonNull(task, "task"));
  }

  /**
   * As {@link EventWatcher#submit(Callable)} on {@link #next()}. Any thread.
   *
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public <T> Future<T> submit(Callable<T> task) {
    return next().submit(task);
  }

  /**
   * As {@link EventWatcher#submit(Runnable)} on {@link #next()}. Any thread.
   *
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public Future<?> submit(Runnable task) {
    return next().submit(task);
  }

  /**
   * As {@link EventWatcher#submit(Runnable, Object)} on {@link #next()}. Any thread.
   *
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public <T> Future<T> submit(Runnable task, T result) {
    return next().submit(task, result);
  }

  /**
   * As {@link EventWatcher#schedule(Runnable, long, TimeUnit)} on {@link #next()}. Any thread.
   *
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
    return next().schedule(task, delay, unit);
  }

  /**
   * As {@link EventWatcher#schedule(Callable, long, TimeUnit)} on {@link #next()}. Any thread.
   *
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> task, long delay, TimeUnit unit) {
    return next().schedule(task, delay, unit);
  }

  /**
   * As {@link EventWatcher#scheduleAtFixedRate} on {@link #next()}: every run on that one loop. Any
   * thread.
   *
   * @throws IllegalArgumentException if period is not positive
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable task, long initialDelay, long period, TimeUnit unit) {
    return next().scheduleAtFixedRate(task, initialDelay, period, unit);
  }

  /**
   * As {@link EventWatcher#scheduleWithFixedDelay} on {@link #next()}: every run on that one loop.
   * Any thread.
   *
   * @throws IllegalArgumentException if delay is not positive
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the group is shut down
   */
  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable task, long initialDelay, long delay, TimeUnit unit) {
    return next().scheduleWithFixedDelay(task, initialDelay, delay, unit);
  }

  /**
   * Whether the calling thread is the loop thread of one of the group's watchers. Any thread; never
   * throws.
   *
   * @return true on a loop thread of this group
   */
  public boolean inEventWatcherLoop() {
    return current() != null;
  }

  /**
   * Shuts every watcher down ({@link EventWatcher#shutdown()}); does not wait. Idempotent; any
   * thread, including the group's callbacks and tasks.
   */
  @Override
  public void shutdown() {
    for (EventWatcher watcher : ring) watcher.shutdown();
  }

  /**
   * As {@link #shutdown()}, and returns the tasks of every watcher that never started ({@link
   * EventWatcher#shutdownNow()}), watcher by watcher in {@link #watchers()} order. Does not wait;
   * any thread.
   *
   * @return the tasks that never ran
   */
  @Override
  public List<Runnable> shutdownNow() {
    List<Runnable> never = new ArrayList<>();
    for (EventWatcher watcher : ring) never.addAll(watcher.shutdownNow());
    return never;
  }

  /** Whether {@link #shutdown()} or {@link #close()} was called. Any thread. */
  @Override
  public boolean isShutdown() {
    for (EventWatcher watcher : ring) if (!watcher.isShutdown()) return false;
    return true;
  }

  /** Whether every loop thread has ended after a shutdown. Any thread. */
  @Override
  public boolean isTerminated() {
    for (EventWatcher watcher : ring) if (!watcher.isTerminated()) return false;
    return true;
  }

  /**
   * Waits until every loop thread has ended after a shutdown, or the timeout elapses. Not on a loop
   * thread of the group.
   *
   * @return true if all ended, false on timeout
   * @throws IllegalStateException on a loop thread of this group
   * @throws InterruptedException if interrupted while waiting
   */
  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    checkMayWait("awaitTermination");
    long deadline = System.nanoTime() + Objects.requireNonNull(unit, "unit").toNanos(timeout);
    for (EventWatcher watcher : ring) {
      if (!watcher.awaitTermination(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Closes every watcher: shuts them all down at once, then waits for each to end ({@link
   * EventWatcher#close()}), so the loops finish in parallel; each loop frees its native watcher as
   * it ends. Idempotent; any thread. On a loop thread of the group, or in a callback of the group
   * running on an executor, it shuts all down and waits for none (two of them closing the group at
   * once would otherwise wait for each other): the loops end once their current callback or task
   * returns.
   */
  @Override
  public void close() {
    shutdown();
    for (EventWatcher watcher : ring) if (watcher.callerIsLoopOrCallback()) return;
    closeAll(watchers);
  }

  private static void closeAll(List<EventWatcher> watchers) {
    for (EventWatcher watcher : watchers) watcher.close();
  }

  @Override
  boolean callerIsLoop() {
    return current() != null;
  }

  private EventWatcher current() {
    for (EventWatcher watcher : ring) if (watcher.callerIsLoop()) return watcher;
    return null;
  }
}
