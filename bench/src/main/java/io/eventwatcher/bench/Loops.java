package io.eventwatcher.bench;

import com.sun.management.UnixOperatingSystemMXBean;
import io.eventwatcher.EventWatcher;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What the benchmarks and probes share: the three loops as JMH states (the Java API, the JDK
 * Selector peer on its own thread, Netty's epoll event loop), a reusable wake-up signal, running
 * code on a loop thread and waiting for it, and the fd limit check.
 */
public final class Loops {
  private Loops() {}

  /** An EventWatcher with default settings (callbacks and tasks inline on its loop thread). */
  @State(Scope.Benchmark)
  public static class JavaApi {
    /** The watcher; its loop thread is named bench-loop. */
    public EventWatcher watcher;

    /** Starts the watcher and waits for one task, so the loop thread is running. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      watcher = EventWatcher.builder().threadName("bench-loop").daemon(true).build();
      call(watcher::runInEventWatcherLoop, () -> null);
    }

    /** Closes the watcher. */
    @TearDown(Level.Trial)
    public void tearDown() {
      if (watcher != null) watcher.close();
    }
  }

  /** A {@link SelectorLoop}. */
  @State(Scope.Benchmark)
  public static class JdkSelector {
    /** The loop; its thread is named bench-selector. */
    public SelectorLoop loop;

    /** Starts the loop and waits for one task. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      loop = new SelectorLoop("bench-selector");
      call(loop, () -> null);
    }

    /** Stops the loop. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      if (loop != null) loop.close();
    }
  }

  /** Netty's native epoll transport: one event loop of an {@link EpollEventLoopGroup}. */
  @State(Scope.Benchmark)
  public static class Netty {
    /** The group, of one loop. */
    public EpollEventLoopGroup group;

    /** Its only event loop; its thread is named bench-netty-N-1. */
    public EventLoop loop;

    /** Starts the group (its thread starts with the first task) and waits for one task. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
      group = newNettyGroup("bench-netty");
      loop = group.next();
      call(loop, () -> null);
    }

    /** Shuts the group down at once (no quiet period). */
    @TearDown(Level.Trial)
    public void tearDown() {
      if (group != null) group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /**
   * A Netty epoll event loop group of one loop, with daemon threads named {@code prefix-N-1}.
   *
   * @param prefix the thread name prefix (short: Linux shows 15 characters of a thread's name)
   * @return the group
   * @throws UnsupportedOperationException if Netty's native epoll transport cannot load
   */
  public static EpollEventLoopGroup newNettyGroup(String prefix) {
    if (!Epoll.isAvailable()) {
      throw new UnsupportedOperationException(
          "Netty epoll unavailable", Epoll.unavailabilityCause());
    }
    return new EpollEventLoopGroup(1, new DefaultThreadFactory(prefix, true));
  }

  /**
   * The JDK peer of an event loop: a thread that blocks in {@link Selector#select(Consumer)}, then
   * runs the tasks other threads queued. {@link #execute} is {@code queue.offer(task)} followed by
   * {@link Selector#wakeup()}, the usual way to run code on a selector's thread (Netty's
   * NioEventLoop does the same with its own queue). The JDK's wakeup writes the selector's wakeup
   * fd only once until the next select (later calls take the selector's lock and return), and a
   * wakeup that arrives while the thread is not in select makes the next select return at once, so
   * no task is ever left waiting.
   *
   * <p>Ready keys go to a no-op consumer: every user of this loop registers only channels that are
   * never ready. Tasks run in FIFO order, all of those queued at each turn; what a task throws is
   * printed to stderr and the loop carries on.
   */
  public static final class SelectorLoop implements Executor, AutoCloseable {
    private static final Consumer<SelectionKey> IGNORE = key -> {};

    private final Selector selector;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean closed;

    /**
     * Opens a selector and starts its daemon thread. Any thread.
     *
     * @param threadName the loop thread's name (at most 15 characters to be seen whole in {@code
     *     /proc})
     * @throws IOException if the selector cannot be opened
     */
    public SelectorLoop(String threadName) throws IOException {
      selector = Selector.open();
      thread = new Thread(this::run, threadName);
      thread.setDaemon(true);
      thread.start();
    }

    /**
     * The selector, to register channels with. Any thread.
     *
     * @return the selector this loop selects on
     */
    public Selector selector() {
      return selector;
    }

    /**
     * The loop thread. Any thread.
     *
     * @return the thread that selects and runs the tasks
     */
    public Thread thread() {
      return thread;
    }

    /**
     * Queues {@code task} for the loop thread and wakes the selector. Any thread; never waits.
     *
     * @param task the task
     * @throws RejectedExecutionException once closed
     */
    @Override
    public void execute(Runnable task) {
      if (closed) throw new RejectedExecutionException("selector loop closed");
      tasks.offer(task);
      selector.wakeup();
    }

    private void run() {
      try {
        while (!closed) {
          selector.select(IGNORE);
          for (Runnable task; (task = tasks.poll()) != null; ) {
            try {
              task.run();
            } catch (Throwable e) {
              e.printStackTrace();
            }
          }
        }
      } catch (Throwable e) {
        System.err.println("selector loop " + thread.getName() + " failed:");
        e.printStackTrace();
      }
    }

    /**
     * Stops the loop, waits for its thread to end and closes the selector (which deregisters its
     * keys, not closing their channels). Tasks still queued do not run. Not from the loop thread.
     */
    @Override
    public void close() throws IOException {
      closed = true;
      selector.wakeup();
      boolean interrupted = false;
      while (thread.isAlive()) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      selector.close();
      if (interrupted) Thread.currentThread().interrupt();
    }
  }

  /**
   * A signal one loop thread raises to wake one waiting thread, reusable and allocation-free: the
   * waiter {@link #arm()}s it, hands it (it is a Runnable) to the loop, and {@link #await()}s. The
   * waiter parks; the loop sets the flag and unparks it (a futex wake only if it sleeps).
   */
  public static final class Signal implements Runnable {
    private static final VarHandle RAISED;

    static {
      try {
        RAISED = MethodHandles.lookup().findVarHandle(Signal.class, "raised", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private volatile boolean raised;
    private volatile Thread waiter;

    /**
     * Waiter thread, before handing the signal to the loop: lowers the flag. A plain store: the
     * hand-off (a queue's CAS) publishes it before the loop can raise the flag again.
     */
    public void arm() {
      Thread current = Thread.currentThread();
      if (waiter != current) waiter = current;
      RAISED.set(this, false);
    }

    /** Loop thread: raises the flag and wakes the waiter. */
    @Override
    public void run() {
      raised = true;
      LockSupport.unpark(waiter);
    }

    /** Waiter thread: parks until the flag is raised. */
    public void await() {
      while (!raised) LockSupport.park(this);
    }

    /**
     * Waiter thread: as {@link #await()}, giving up after {@code timeoutNanos}.
     *
     * @param timeoutNanos how long to wait at most
     * @return whether the flag was raised
     */
    public boolean await(long timeoutNanos) {
      long deadline = System.nanoTime() + timeoutNanos;
      while (!raised) {
        long left = deadline - System.nanoTime();
        if (left <= 0) return false;
        LockSupport.parkNanos(this, left);
      }
      return true;
    }
  }

  /**
   * Runs {@code operation} on {@code loop}'s thread and waits for it: for set-up and probes, not
   * for timed code (it allocates). Not from the loop thread itself.
   *
   * @param loop runs its tasks on the loop thread: {@code watcher::runInEventWatcherLoop}, a {@link
   *     SelectorLoop}, a Netty event loop
   * @param operation what to run there
   * @param <T> the result type
   * @return what the operation returned
   * @throws IOException what the operation threw, if an IOException
   */
  public static <T> T call(Executor loop, Callable<T> operation) throws IOException {
    CompletableFuture<T> result = new CompletableFuture<>();
    loop.execute(
        () -> {
          try {
            result.complete(operation.call());
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for the loop", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) throw io;
      if (cause instanceof RuntimeException runtime) throw runtime;
      if (cause instanceof Error error) throw error;
      throw new IOException(cause);
    }
  }

  /**
   * Fails with a message saying what to do if {@code fds} more file descriptors would exceed the
   * process's limit (the JVM raises the soft RLIMIT_NOFILE to the hard one at start; the hard one
   * is raised with {@code ulimit -n} before starting java, as root).
   *
   * @param fds how many fds the caller is about to open
   * @param what what they are for, for the message
   * @throws IOException if they do not fit
   */
  public static void checkFdLimit(long fds, String what) throws IOException {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (!(os instanceof UnixOperatingSystemMXBean unix)) return;
    long limit = unix.getMaxFileDescriptorCount();
    long open = unix.getOpenFileDescriptorCount();
    if (open + fds + 64 > limit) {
      throw new IOException(
          what
              + " needs "
              + fds
              + " more fds but RLIMIT_NOFILE is "
              + limit
              + " with "
              + open
              + " open: raise the hard limit (ulimit -n 1048576, as root) before starting java");
    }
  }

  /**
   * A numeric field of a {@code /proc/.../status} file, such as {@code RssAnon} (in kB) or {@code
   * voluntary_ctxt_switches}.
   *
   * @param status the status file, e.g. {@code /proc/self/status}
   * @param field the field name, without the colon
   * @return its value (for sizes, in kB as printed)
   * @throws IOException if the file cannot be read or has no such field
   */
  public static long procStatus(Path status, String field) throws IOException {
    String prefix = field + ":";
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith(prefix)) {
        String value = line.substring(prefix.length()).trim();
        int space = value.indexOf(' ');
        return Long.parseLong(space < 0 ? value : value.substring(0, space));
      }
    }
    throw new IOException("no " + field + " in " + status);
  }

  /**
   * The Linux thread id (tid) of the calling thread, as /proc/thread-self names it.
   *
   * @return the tid
   * @throws IOException if /proc/thread-self cannot be read
   */
  public static int currentTid() throws IOException {
    Path link = Files.readSymbolicLink(Path.of("/proc/thread-self")); // "<pid>/task/<tid>"
    return Integer.parseInt(link.getFileName().toString());
  }

  /**
   * Wraps a failure to create the fd (or pipe) number {@code index} of {@code count} in a message
   * that names the fd limit (EMFILE) as the likely cause.
   *
   * @param index which one failed (0-based)
   * @param count how many were being created
   * @param cause the failure
   * @return the exception to throw
   */
  public static IOException creationFailed(int index, int count, IOException cause) {
    return new IOException(
        "creating number "
            + (index + 1)
            + " of "
            + count
            + " failed ("
            + cause.getMessage()
            + "); if this is EMFILE, raise the hard fd limit with ulimit -n before starting java",
        cause);
  }
}
