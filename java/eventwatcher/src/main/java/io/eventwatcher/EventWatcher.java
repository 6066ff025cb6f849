package io.eventwatcher;

import io.eventwatcher.internal.Faults;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import io.eventwatcher.internal.Reactor;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.SelectableChannel;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Watches file descriptors with a native epoll loop and calls back on Java threads.
 *
 * <p><b>Threads.</b> Each watcher owns a loop thread, a {@link Thread} named by the builder
 * (visible in thread dumps), which waits in {@code epoll_wait} with no timeout, so an idle watcher
 * makes no wakeups. Callbacks run on that thread, or on the builder's {@link Executor}; tasks and
 * timers always run on it. Every method is thread-safe. Methods called from another thread while
 * the loop runs are handed to the loop thread and wait for it, so their effects are ordered with
 * dispatch.
 *
 * <p><b>Readiness.</b> Level-triggered: while an fd stays ready its callback is called again on
 * every turn. Hang-up and error are delivered to both READ and WRITE registrations, so a read or
 * write observes EOF or the error. Calls may be spurious: use non-blocking fds.
 *
 * <p><b>Executor mode.</b> With an executor, each ready event is handed to it. A callback for a
 * given (fd, flag) never runs twice at once: the fd is armed one-shot ({@code EPOLLONESHOT}), so
 * the kernel disarms it as it reports the event, and it is re-armed when the call returns; the loop
 * does not spin on a still-ready fd and pays no syscall for the hand-off. A callback the executor
 * rejects is unwatched and the rejection goes to the error handler.
 *
 * <p><b>Closing fds.</b> Unwatch an fd (both flags) before closing it: the number may be reused at
 * once. If a watched fd is closed anyway and its number reused, a new watch of it starts clean and
 * no event of the old file ever reaches the new callback. In executor mode, if a callback's fd is
 * closed without unwatch while its call runs, the registration is dropped when the call returns
 * (the error handler gets an {@link ErrnoException} with ENOENT) and never watches the file that
 * took the number.
 *
 * <p><b>An executor with timers.</b> A watcher is a {@link ScheduledExecutorService}, as Netty's
 * event loop is: {@link #execute} is {@link #runInEventWatcherLoop}, {@link #schedule} and the
 * periodic forms run tasks on the loop thread at their deadlines (the loop's wait times out at the
 * earliest one, with nanosecond precision), and {@code submit}, {@code invokeAll} and {@code
 * invokeAny} run their tasks there too, so a task that blocks blocks the loop. {@link #shutdown()}
 * begins closing, {@link #awaitTermination} waits for the loop thread, and {@link #close()} does
 * both, as {@code ExecutorService.close} does from JDK 19 on.
 *
 * <p><b>Errors.</b> OS errors are {@link ErrnoException}s (an {@link IOException} with errno and
 * fd); bad arguments are {@link IllegalArgumentException} or {@link NullPointerException}. Once the
 * watcher is shut down, task submissions throw {@link RejectedExecutionException} and the other
 * methods but {@link #close()} and the lifecycle queries throw {@link IllegalStateException}.
 * Whatever a callback or a task of {@link #execute} throws goes to the error handler and the
 * watcher carries on; what a task with a future throws completes that future.
 *
 * <p><b>The loop never dies.</b> Nothing a callback, task, error handler or logger throws ends the
 * loop thread, {@link Error}s included ({@link StackOverflowError}, {@link OutOfMemoryError}, a
 * {@link NoClassDefFoundError} from a logging system that cannot open a file): see {@link
 * ErrorHandler} for where such reports go. The loop ends only through {@link #close()}.
 */
public final class EventWatcher extends LoopExecutorService {
  private static final AtomicInteger THREAD_NUMBER = new AtomicInteger();

  private final Reactor reactor;

  /**
   * Creates a watcher with default settings and starts its loop thread. Any thread.
   *
   * @throws UncheckedIOException if epoll or the eventfd cannot be created
   * @throws UnsupportedOperationException if the native library is unavailable, saying why
   */
  public EventWatcher() {
    this(builder(), defaultName());
  }

  private EventWatcher(Builder builder, String name) {
    NativeLibrary.ensureAvailable();
    try {
      ErrorHandler handler = builder.errorHandler != null ? builder.errorHandler : Faults.logging();
      reactor =
          new Reactor(name, builder.daemon, builder.executor, handler, builder.maxEventsPerWait);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The loop behind this watcher, for the package's other classes (FdChannel). */
  Reactor reactor() {
    return reactor;
  }

  /**
   * A builder for a watcher with custom settings. Any thread.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Whether the native library is loaded, so watchers can be created. Any thread; never throws.
   *
   * @return true if available
   */
  public static boolean isAvailable() {
    return NativeLibrary.isAvailable();
  }

  /**
   * Why the native library is unavailable (unsupported OS or architecture, or a failed load), or
   * null if it is available. Any thread; never throws.
   *
   * @return the cause, or null
   */
  public static Throwable unavailabilityCause() {
    return NativeLibrary.unavailabilityCause();
  }

  /**
   * Registers {@code callback} for readiness {@code flag} of {@code fd}, replacing any callback
   * registered for (fd, flag): when this returns, the old callback is not running (unless the
   * caller is that callback) and is never called again. The other flag's registration is
   * unaffected. Any thread; from another thread it waits until the loop has applied it.
   *
   * @param fd an open file descriptor that epoll accepts (not a regular file)
   * @param flag READ or WRITE
   * @param callback called with fd when ready
   * @throws IOException (an {@link ErrnoException}) if epoll refuses the fd: EBADF when closed,
   *     EPERM for a regular file
   * @throws IllegalArgumentException if fd is negative
   * @throws NullPointerException if flag or callback is null
   * @throws IllegalStateException if the watcher is closed
   */
  public void watch(int fd, WatchFlag flag, WatchCallback callback) throws IOException {
    checkFd(fd);
    reactor.watch(fd, flagOf(flag), Objects.requireNonNull(callback, "callback"));
  }

  /**
   * As {@link #watch(int, WatchFlag, WatchCallback)}, for the fd of a {@link FileDescriptor}.
   *
   * @param fd an open descriptor that epoll accepts
   * @param flag READ or WRITE
   * @param callback called with the descriptor's fd when ready
   * @throws IOException (an {@link ErrnoException}) if epoll refuses the fd
   * @throws IllegalArgumentException if the descriptor is not valid
   */
  public void watch(FileDescriptor fd, WatchFlag flag, WatchCallback callback) throws IOException {
    watch(FileDescriptors.fd(fd), flag, callback);
  }

  /**
   * As {@link #watch(int, WatchFlag, WatchCallback)}, for a JDK channel (SocketChannel,
   * ServerSocketChannel, DatagramChannel, Pipe channels). The callback receives the channel's fd;
   * use the channel itself for I/O. The channel must be in non-blocking mode, as with a Selector.
   *
   * @param channel an open, non-blocking channel
   * @param flag READ or WRITE
   * @param callback called with the channel's fd when ready
   * @throws java.nio.channels.ClosedChannelException if the channel is closed
   * @throws IllegalBlockingModeException if the channel is in blocking mode
   * @throws IllegalArgumentException if the channel is not from the JDK's default provider
   */
  public void watch(SelectableChannel channel, WatchFlag flag, WatchCallback callback)
      throws IOException {
    int fd = FileDescriptors.fd(channel);
    if (channel.isBlocking()) throw new IllegalBlockingModeException();
    watch(fd, flag, callback);
  }

  /**
   * Removes the registration for (fd, flag), if any (otherwise a no-op). Synchronous: when it
   * returns, that callback is not running and will never be called again, including for events
   * already fetched. Two exceptions to "not running", where waiting would deadlock: called from
   * inside that callback, and called from the loop thread while an executor runs the callback (no
   * new call starts in either case). Unwatching an fd that was already closed still removes the
   * registration. Any thread.
   *
   * @param fd the file descriptor
   * @param flag READ or WRITE
   * @throws IOException if epoll fails for another reason than a closed fd (the registration is
   *     removed all the same)
   * @throws IllegalArgumentException if fd is negative
   * @throws NullPointerException if flag is null
   * @throws IllegalStateException if the watcher is closed
   */
  public void unwatch(int fd, WatchFlag flag) throws IOException {
    checkFd(fd);
    reactor.unwatch(fd, flagOf(flag));
  }

  /**
   * As {@link #unwatch(int, WatchFlag)}, for the fd of a {@link FileDescriptor}.
   *
   * @param fd the descriptor
   * @param flag READ or WRITE
   * @throws IOException if epoll fails for another reason than a closed fd
   * @throws IllegalArgumentException if the descriptor is not valid (closed: unwatch before close)
   */
  public void unwatch(FileDescriptor fd, WatchFlag flag) throws IOException {
    unwatch(FileDescriptors.fd(fd), flag);
  }

  /**
   * As {@link #unwatch(int, WatchFlag)}, for a JDK channel.
   *
   * @param channel the channel, still open
   * @param flag READ or WRITE
   * @throws java.nio.channels.ClosedChannelException if the channel is closed (unwatch before
   *     close)
   */
  public void unwatch(SelectableChannel channel, WatchFlag flag) throws IOException {
    unwatch(FileDescriptors.fd(channel), flag);
  }

  /**
   * Removes every registration, synchronously as {@link #unwatch(int, WatchFlag)} does. Any thread.
   *
   * @throws IOException if epoll fails for another reason than a closed fd (after removing all)
   * @throws IllegalStateException if the watcher is closed
   */
  public void unwatchAll() throws IOException {
    ensureOpen();
    reactor.unwatchAll();
  }

  /**
   * Runs {@code task} on the loop thread soon; never waits for it. Tasks run in submission order
   * (FIFO per submitting thread). From another thread it wakes the loop; any number of submissions
   * before the loop wakes cost one wakeup. From the loop thread the task runs after the current
   * callback or task returns, never re-entrantly. At most 1,024 tasks run per loop turn, so I/O is
   * never starved. Tasks submitted before {@link #shutdown()} or {@link #close()} still run; what a
   * task throws goes to the error handler. Any thread.
   *
   * @param task what to run on the loop thread
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  public void runInEventWatcherLoop(Runnable task) {
    reactor.submit(Objects.requireNonNull(task, "task"));
  }

  /**
   * The same as {@link #runInEventWatcherLoop(Runnable)}.
   *
   * @throws NullPointerException if task is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  @Override
  public void execute(Runnable task) {
    runInEventWatcherLoop(task);
  }

  /**
   * Runs {@code task} once on the loop thread after {@code delay} (now if not positive): never
   * before its deadline ({@link System#nanoTime()} at this call plus the delay), and tasks with
   * equal deadlines in scheduling order. In a loop turn, due timers run after the I/O callbacks and
   * before the queued tasks, at most 1,024 per turn. The loop waits for the earliest deadline with
   * nanosecond precision (epoll_pwait2) and makes no wakeup for a deadline it already waits for.
   * What the task throws completes the future exceptionally (it is not reported to the error
   * handler). Any thread; scheduling costs no lock and, from another thread, wakes the loop only if
   * the new deadline comes before the one it waits for.
   *
   * <p>The future's {@link ScheduledFuture#cancel cancel} works from any thread, is lock-free and
   * never waits for the loop; a cancelled task leaves the loop's queue at its next turn (at once on
   * the loop thread), so cancelled timers never accumulate. {@code mayInterruptIfRunning} is
   * ignored: the loop thread is never interrupted. {@link ScheduledFuture#get() get} on the loop
   * thread of a task that has not completed throws {@link IllegalStateException} (it would wait
   * forever). Tasks still pending at shutdown never run: their futures are cancelled.
   *
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  @Override
  public ScheduledFuture<?> schedule(Runnable task, long delay, TimeUnit unit) {
    Objects.requireNonNull(unit, "unit");
    return reactor.schedule(Objects.requireNonNull(task, "task"), delay, unit, 0);
  }

  /**
   * As {@link #schedule(Runnable, long, TimeUnit)}, for a task with a result.
   *
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> task, long delay, TimeUnit unit) {
    Objects.requireNonNull(unit, "unit");
    return reactor.schedule(Objects.requireNonNull(task, "task"), delay, unit, 0);
  }

  /**
   * Runs {@code task} on the loop thread after {@code initialDelay}, then every {@code period}
   * after that first deadline (deadline {@code n} is the first plus {@code n * period}); a run that
   * is late makes the next ones start late, never concurrently, and missed deadlines are caught up
   * one run per deadline, as {@link java.util.concurrent.ScheduledThreadPoolExecutor} does. Runs
   * until cancelled, until the watcher shuts down, or until a run throws: the future then completes
   * with that exception and no further run happens. Otherwise as {@link #schedule(Runnable, long,
   * TimeUnit)}. Any thread.
   *
   * @throws IllegalArgumentException if period is not positive
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable task, long initialDelay, long period, TimeUnit unit) {
    return reactor.schedule(
        Objects.requireNonNull(task, "task"), initialDelay, unit, periodNanos(period, unit));
  }

  /**
   * As {@link #scheduleAtFixedRate}, but each run is due {@code delay} after the previous run
   * ended. Any thread.
   *
   * @throws IllegalArgumentException if delay is not positive
   * @throws NullPointerException if task or unit is null
   * @throws RejectedExecutionException if the watcher is shut down
   */
  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable task, long initialDelay, long delay, TimeUnit unit) {
    return reactor.schedule(
        Objects.requireNonNull(task, "task"), initialDelay, unit, -periodNanos(delay, unit));
  }

  private static long periodNanos(long period, TimeUnit unit) {
    Objects.requireNonNull(unit, "unit");
    if (period <= 0) throw new IllegalArgumentException("period must be positive, got " + period);
    return Math.min(unit.toNanos(period), Long.MAX_VALUE >> 1);
  }

  /**
   * {@inheritDoc}
   *
   * <p>The tasks of {@code submit}, {@code invokeAll} and {@code invokeAny} run on the loop thread,
   * in submission order with {@link #execute}: a task that blocks blocks the loop, and every
   * callback and timer of this watcher waits for it.
   */
  @Override
  protected <T> RunnableFuture<T> newTaskFor(Callable<T> task) {
    return reactor.newTask(task);
  }

  @Override
  protected <T> RunnableFuture<T> newTaskFor(Runnable task, T value) {
    return reactor.newTask(value == null ? task : Executors.callable(task, value));
  }

  /**
   * Begins closing without waiting: the loop thread ends once the current callback or task returns
   * and the tasks submitted before this call have run. Delayed and periodic tasks still pending
   * never run (their futures are cancelled), as in Netty and unlike the default of {@link
   * java.util.concurrent.ScheduledThreadPoolExecutor}. Later submissions throw {@link
   * RejectedExecutionException}; other methods but {@link #close()} throw {@link
   * IllegalStateException}. Idempotent; any thread, including callbacks and tasks.
   */
  @Override
  public void shutdown() {
    reactor.shutdown();
  }

  /**
   * As {@link #shutdown()}, and returns the tasks submitted with {@link #execute}, {@link
   * #runInEventWatcherLoop} or {@code submit} that had not started: they never run. A task
   * submitted concurrently with this call may still run. Delayed and periodic tasks are not in the
   * list: their futures, which the caller holds, are cancelled. Does not wait; any thread.
   *
   * @return the tasks that never ran, in submission order
   */
  @Override
  public List<Runnable> shutdownNow() {
    return reactor.shutdownNow();
  }

  /** Whether {@link #shutdown()} or {@link #close()} was called. Any thread. */
  @Override
  public boolean isShutdown() {
    return reactor.isClosed();
  }

  /** Whether the loop thread has ended after a shutdown. Any thread. */
  @Override
  public boolean isTerminated() {
    return reactor.isTerminated();
  }

  /**
   * Waits until the loop thread has ended after a shutdown, or the timeout elapses. Any thread but
   * the loop's.
   *
   * @return true if it ended, false on timeout
   * @throws IllegalStateException on the loop thread, which would wait for itself
   * @throws InterruptedException if interrupted while waiting
   */
  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    return reactor.awaitTermination(timeout, Objects.requireNonNull(unit, "unit"));
  }

  /**
   * Whether the calling thread is this watcher's loop thread. Any thread.
   *
   * @return true on the loop thread
   * @throws IllegalStateException if the watcher is closed
   */
  public boolean inEventWatcherLoop() {
    ensureOpen();
    return reactor.inLoop();
  }

  /**
   * Closes the watcher: {@link #shutdown()}, then waits for the loop thread to end (as {@link
   * #awaitTermination} does, without a timeout) and for executor callbacks in flight to return
   * (other than the caller's own), and frees the native watcher (its epoll fd and eventfd). Watched
   * fds are not closed. Tasks submitted before close run before the loop thread ends; pending
   * delayed and periodic tasks never run. Idempotent; any thread. Called from the loop thread it
   * cannot wait for itself: the loop ends once the current callback returns.
   */
  @Override
  public void close() {
    reactor.close();
  }

  /**
   * Native watchers alive in this JVM: created and not yet freed by close. For leak checks. Any
   * thread.
   *
   * @return the count
   * @throws UnsupportedOperationException if the native library is unavailable
   */
  public static int liveNativeWatchers() {
    NativeLibrary.ensureAvailable();
    return Native.liveWatchers();
  }

  /** A fresh default thread name (a group's default prefix): {@code eventwatcher-N}. */
  static String defaultName() {
    return "eventwatcher-" + THREAD_NUMBER.incrementAndGet();
  }

  /** Whether the calling thread is the loop thread; unlike inEventWatcherLoop, also once closed. */
  @Override
  boolean callerIsLoop() {
    return reactor.inLoop();
  }

  /**
   * Whether close() called on this thread could not wait for this watcher: the loop thread, or one
   * of its callbacks running on the executor. Any thread.
   */
  boolean callerIsLoopOrCallback() {
    return reactor.inLoop() || reactor.inCallbackOffLoop();
  }

  private void ensureOpen() {
    if (reactor.isClosed()) throw new IllegalStateException("EventWatcher is closed");
  }

  private static void checkFd(int fd) {
    if (fd < 0) throw new IllegalArgumentException("fd must be >= 0, got " + fd);
  }

  private static int flagOf(WatchFlag flag) {
    return Objects.requireNonNull(flag, "flag").ordinal();
  }

  /** Settings for {@link EventWatcher}. Not thread-safe; build on one thread. */
  public static final class Builder {
    private String threadName;
    private boolean daemon;
    private Executor executor;
    private ErrorHandler errorHandler;
    private int maxEventsPerWait = 256;

    private Builder() {}

    /**
     * Names the loop thread (default {@code eventwatcher-N}); for a group, the prefix of its
     * threads' names ({@code name-0}, {@code name-1}, ...).
     *
     * @param name the thread name
     * @return this builder
     * @throws NullPointerException if name is null
     */
    public Builder threadName(String name) {
      this.threadName = Objects.requireNonNull(name, "name");
      return this;
    }

    /**
     * Whether the loop thread is a daemon thread (default false: like a server's event loop, a
     * watcher keeps the JVM alive until closed).
     *
     * @param daemon true for a daemon thread
     * @return this builder
     */
    public Builder daemon(boolean daemon) {
      this.daemon = daemon;
      return this;
    }

    /**
     * Runs callbacks on {@code executor} instead of the loop thread (default: inline on the loop
     * thread), for example {@code Executors.newVirtualThreadPerTaskExecutor()}. Tasks still run on
     * the loop thread.
     *
     * @param executor the executor
     * @return this builder
     * @throws NullPointerException if executor is null
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Receives what callbacks and tasks throw (default: logged through {@link System.Logger} {@code
     * io.eventwatcher} at ERROR, at most 10 reports a second). If the handler throws anything,
     * {@link Error}s included, the failure is logged; if logging fails too, one fixed line goes to
     * the process's standard error (fd 2) without allocating; the loop goes on in every case.
     *
     * @param handler the handler
     * @return this builder
     * @throws NullPointerException if handler is null
     */
    public Builder errorHandler(ErrorHandler handler) {
      this.errorHandler = Objects.requireNonNull(handler, "handler");
      return this;
    }

    /**
     * The most events one epoll_wait fetches (default 256). More ready fds are served over several
     * turns.
     *
     * @param maxEvents at least 1
     * @return this builder
     * @throws IllegalArgumentException if maxEvents is below 1 or above 1,048,576
     */
    public Builder maxEventsPerWait(int maxEvents) {
      if (maxEvents < 1 || maxEvents > (1 << 20)) {
        throw new IllegalArgumentException(
            "maxEventsPerWait must be in [1, 1048576], got " + maxEvents);
      }
      this.maxEventsPerWait = maxEvents;
      return this;
    }

    /**
     * Creates the watcher and starts its loop thread. Any thread.
     *
     * @return the watcher
     * @throws UncheckedIOException if epoll or the eventfd cannot be created
     * @throws UnsupportedOperationException if the native library is unavailable, saying why
     */
    public EventWatcher build() {
      return build(threadName != null ? threadName : defaultName());
    }

    /**
     * Creates a group of {@code threads} watchers with these settings, their loop threads named
     * {@code PREFIX-0} to {@code PREFIX-(threads-1)} after {@link #threadName} (default {@code
     * eventwatcher-K}), and starts them. The watchers share the executor and the error handler,
     * which must then be thread-safe. Any thread.
     *
     * @param threads how many watchers, at least 1
     * @return the group
     * @throws IllegalArgumentException if threads is below 1
     * @throws UncheckedIOException if a watcher's epoll or eventfd cannot be created (the watchers
     *     already created are closed)
     * @throws UnsupportedOperationException if the native library is unavailable, saying why
     */
    public EventWatcherGroup buildGroup(int threads) {
      return new EventWatcherGroup(this, threads);
    }

    EventWatcher build(String name) {
      return new EventWatcher(this, name);
    }

    String threadNameOrNull() {
      return threadName;
    }
  }
}
