package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The listening half that both example servers share: a non-blocking {@link ServerSocketChannel}
 * watched for READ on one {@link EventWatcher} loop thread (one loop of a server's group, see
 * {@link ServerLoops}), a connection limit, a periodic tick for the subclass's timeouts, and an
 * orderly close. Subclasses handle the accepted connections; their state belongs to the loop
 * thread.
 *
 * <p><b>Out of descriptors.</b> When accept fails for want of descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM), the listener is unwatched and watched again after a pause that starts
 * at 10 ms and doubles up to 500 ms: the loop sleeps instead of retrying at full speed (the
 * listener is level-triggered and stays readable while connections wait in the backlog), existing
 * connections are served throughout, and accepting resumes within half a second of descriptors
 * freeing. The other well-known answer is the reserved descriptor (libuv, and nginx's advice): keep
 * a spare fd open, and on EMFILE close it, accept the waiting connection, close that at once, open
 * the spare again. It turns every client in the backlog into an immediate reset instead of a wait,
 * which is kinder to clients only if the shortage lasts; it is racy in a process with other threads
 * (any of them can take the freed number first, and the JVM's own threads open files), and it sheds
 * clients that would have been served a few milliseconds later. The pause keeps them queued in the
 * kernel, costs no descriptor and needs no race to be lost. Repeated failures are logged at most
 * once a second each, with the number held back ({@link RateLimitedLog}).
 */
abstract class TcpServer implements AutoCloseable {
  /** The listen backlog when {@code /proc/sys/net/core/somaxconn} cannot be read. */
  static final int FALLBACK_BACKLOG = 4096;

  static final long FIRST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  static final long MIN_TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  static final long MAX_TICK_NANOS = TimeUnit.SECONDS.toNanos(1);

  /**
   * The C library's texts for EMFILE, ENFILE, ENOBUFS and ENOMEM (glibc and musl): the JDK reports
   * a failed accept as an IOException with strerror's text and no errno.
   */
  private static final Set<String> OUT_OF_RESOURCES =
      Set.of(
          "Too many open files",
          "Too many open files in system",
          "No file descriptors available",
          "No buffer space available",
          "Cannot allocate memory",
          "Out of memory");

  /** The server's event loop; its thread runs every callback of the subclass. */
  protected final EventWatcher watcher;

  /** Errors that may repeat, one line a second each at most. Any thread. */
  protected final RateLimitedLog errors = new RateLimitedLog(this::log);

  private final ServerSocketChannel listener;
  private final ListenerStats stats;
  private final int maxConnections;
  private final AtomicLong acceptedHere = new AtomicLong(); // written by the loop thread only
  private final AtomicBoolean closing = new AtomicBoolean(); // close() runs once
  // Loop thread only:
  private int open; // connections of this loop (stats.openConnections counts every loop's)
  private long pauseNanos = FIRST_PAUSE_NANOS; // the next accept pause
  private long tickPeriod; // set by listen(); 0: no tick
  private ScheduledFuture<?> ticker; // loop thread: the tick, while a connection is open

  /**
   * One loop of a server ({@link ServerLoops}): serves {@code listener}, already bound, on {@code
   * watcher}, a loop of the server's group, which it does not close. Takes the listener over:
   * closing this server closes it. {@code stats} are shared with the other loops, so the connection
   * limit is the server's, not the loop's.
   */
  protected TcpServer(
      ServerSocketChannel listener, EventWatcher watcher, int maxConnections, ListenerStats stats)
      throws IOException {
    this.stats = stats;
    this.maxConnections = maxConnections;
    this.listener = listener;
    this.watcher = watcher;
    primeForDescriptorExhaustion();
    primeTimers(watcher);
  }

  /**
   * A non-blocking listener bound to {@code host:port}. With {@code reusePort}, SO_REUSEPORT is set
   * first: several listeners, one per loop, then share the port and the kernel spreads the
   * connections over them by a hash of the client's address and port. Any thread.
   *
   * @throws IOException if the address cannot be bound (java.net.BindException when in use)
   */
  static ServerSocketChannel bind(String host, int port, int backlog, boolean reusePort)
      throws IOException {
    ServerSocketChannel listener = ServerSocketChannel.open();
    try {
      if (reusePort) listener.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      listener.bind(new InetSocketAddress(host, port), backlog);
      listener.configureBlocking(false);
      return listener;
    } catch (IOException | RuntimeException e) {
      listener.close();
      throw e;
    }
  }

  /**
   * A loop's settings: its thread name (a group's prefix), and errors to {@code errors}, the
   * server's own log, a stream that is already open: the default handler's System.Logger may first
   * initialise under descriptor exhaustion, and JUL then drops records silently (it cannot open its
   * configuration, so it has no handler).
   */
  static EventWatcher.Builder watcherSettings(String threadName, RateLimitedLog errors) {
    return EventWatcher.builder()
        .threadName(threadName)
        .errorHandler(
            (fd, error) ->
                errors.log((fd >= 0 ? "callback for fd " + fd : "task") + " threw: " + error));
  }

  /** Uses the timer path once, as it is first needed at the descriptor limit (the accept pause). */
  private static void primeTimers(EventWatcher watcher) {
    watcher.schedule(() -> {}, 1, TimeUnit.DAYS).cancel(false);
  }

  /**
   * The listen backlog to use by default, as Netty chooses it: the system's cap, the integer in
   * {@code /proc/sys/net/core/somaxconn}, so that a connection burst waits in the kernel instead of
   * being dropped (a client whose SYN is dropped retries after one second, then three, then seven);
   * {@value #FALLBACK_BACKLOG} if the file cannot be read. Any thread.
   */
  static int defaultBacklog() {
    return backlogFrom(Path.of("/proc/sys/net/core/somaxconn"));
  }

  /**
   * The integer on the first line of {@code file}, if positive, else {@value #FALLBACK_BACKLOG}.
   * Read as a stream: {@code Files.readString} sizes its read by the file's size, and a procfs file
   * has none (on JDK 17 it returns "4" for "4096").
   */
  static int backlogFrom(Path file) {
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
      String line = reader.readLine();
      int value = line == null ? 0 : Integer.parseInt(line.strip());
      return value > 0 ? value : FALLBACK_BACKLOG;
    } catch (IOException | NumberFormatException | SecurityException e) {
      return FALLBACK_BACKLOG;
    }
  }

  /**
   * The tick period for these timeouts: a quarter of the shortest that is on (not zero), within 100
   * ms and 1 s; zero if none is on. An entry then expires at most a quarter late (more only below
   * 400 ms), and an idle server wakes at most once a second.
   */
  static long tickPeriodFor(Duration... timeouts) {
    long shortest = Long.MAX_VALUE;
    for (Duration timeout : timeouts) {
      if (!timeout.isZero()) shortest = Math.min(shortest, timeout.toNanos());
    }
    if (shortest == Long.MAX_VALUE) return 0;
    return Math.max(MIN_TICK_NANOS, Math.min(MAX_TICK_NANOS, shortest / 4));
  }

  /**
   * Starts accepting connections; the subclass's factory calls it once construction is complete.
   * The tick, if {@link #tickPeriodNanos()} asks for one, runs while a connection is open: a server
   * with no connection has nothing to time out, and sleeps in epoll_wait with no timeout.
   *
   * @throws IOException if the listener cannot be watched (the server is closed then)
   */
  protected final void listen() throws IOException {
    try {
      tickPeriod = tickPeriodNanos();
      watcher.watch(listener, WatchFlag.READ, fd -> acceptAll());
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * The bound port (the chosen one when configured with port 0). Any thread.
   *
   * @return the port
   * @throws IOException if the listener is closed
   */
  public int port() throws IOException {
    return ((InetSocketAddress) listener.getLocalAddress()).getPort();
  }

  /**
   * Connections this loop accepted and served (refused ones not included): with several loops, how
   * the kernel spread them. Any thread.
   *
   * @return the count
   */
  long connectionsAccepted() {
    return acceptedHere.get();
  }

  /**
   * Stops accepting and closes every connection; the loop thread goes on (the group's owner closes
   * it). Idempotent; any thread but the loop's.
   */
  @Override
  public void close() {
    if (!closing.compareAndSet(false, true)) return;
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      watcher.runInEventWatcherLoop(
          () -> {
            try {
              watcher.unwatch(listener, WatchFlag.READ); // unwatch before close, as for any fd
            } catch (IOException | RuntimeException e) {
              log("unwatching the listener: " + e); // a watcher shut down meanwhile: close anyway
            }
            try {
              closeQuietly(listener);
              closeConnections();
            } finally {
              errors.flush();
              done.complete(null);
            }
          });
      done.join();
    } catch (RejectedExecutionException loopEnded) {
      // The watcher was shut down first (its group closed): no loop to unwatch on, and the
      // kernel drops a closed fd's epoll entry.
      closeQuietly(listener);
    }
  }

  /**
   * Runs, once, the code that connections need while the process may be out of descriptors, so that
   * nothing of it is first loaded then: loading a class opens its class file (or jar), which fails
   * with "Too many open files", and a connection whose read fails that way is never closed. A
   * throwaway channel's close makes the JDK initialise its channel-closing machinery, which keeps a
   * socket pair: if the first close came at the limit, every later close would fail too. A socket
   * pair exercises NativeIO's read, write, would-block and close paths.
   */
  private static void primeForDescriptorExhaustion() throws IOException {
    SocketChannel.open().close();
    int[] pair = NativeIO.socketPair();
    try {
      ByteBuffer buffer = ByteBuffer.allocateDirect(1);
      NativeIO.write(pair[0], buffer.put((byte) 1).flip());
      NativeIO.read(pair[1], buffer.clear());
      NativeIO.read(pair[1], buffer.clear()); // nothing left: would block
    } finally {
      NativeIO.close(pair[0]);
      NativeIO.close(pair[1]);
    }
  }

  private void acceptAll() {
    // The listener is level-triggered: taking one connection per call would also work, one loop
    // turn each; taking the whole backlog now saves those turns under a connection burst.
    for (; ; ) {
      SocketChannel channel;
      try {
        channel = listener.accept();
      } catch (IOException e) {
        stats.acceptFailures.incrementAndGet();
        errors.log("accept failed: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
        // Out of descriptors or memory: pause. Anything else (ECONNABORTED: the client gave up
        // while queued; EPROTO; EPERM from a firewall rule) concerns one connection: return, and
        // the listener, still watched and level-triggered, calls again next turn if more wait.
        if (outOfResources(e)) pause();
        return;
      }
      if (channel == null) return; // backlog empty (EAGAIN)
      if (pauseNanos != FIRST_PAUSE_NANOS) {
        pauseNanos = FIRST_PAUSE_NANOS; // accepting again after a shortage: the report is due now
        errors.flush();
      }
      take(channel);
    }
  }

  private void take(SocketChannel channel) {
    try {
      channel.configureBlocking(false);
      // The slot is taken before the connection is: loops accepting at once never exceed the
      // server's limit together.
      if (stats.openConnections.incrementAndGet() > maxConnections) {
        stats.openConnections.decrementAndGet();
        stats.refused.incrementAndGet();
        try {
          refuse(channel);
        } catch (IOException e) {
          errors.log("refusing a connection: " + e.getMessage()); // it went first: closed anyway
        }
        channel.close(); // never watched: nothing to unwatch
        return;
      }
      try {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        accepted(channel);
      } catch (IOException | RuntimeException | Error e) {
        stats.openConnections.decrementAndGet(); // never taken: release() will not run
        throw e;
      }
      acceptedHere.lazySet(acceptedHere.get() + 1); // first: whoever sees the total sees this
      stats.connections.incrementAndGet();
      if (++open == 1 && tickPeriod > 0 && ticker == null) {
        ticker = repeatOnLoop(() -> tick(System.nanoTime()), tickPeriod);
      }
    } catch (IOException | RuntimeException | Error e) {
      // Whatever failed (no direct memory for buffers...), never leak the socket.
      errors.log("setting up a connection failed: " + e);
      closeQuietly(channel);
    }
  }

  /**
   * Whether accept failed for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the
   * shortages that retrying at once cannot cure.
   */
  static boolean outOfResources(IOException e) {
    return e.getMessage() != null && OUT_OF_RESOURCES.contains(e.getMessage());
  }

  /** Loop thread: stops watching the listener and watches it again after the current pause. */
  private void pause() {
    stats.acceptPauses.incrementAndGet();
    try {
      watcher.unwatch(listener, WatchFlag.READ);
    } catch (IOException e) {
      errors.log("pausing accept: " + e.getMessage());
    }
    long pause = pauseNanos;
    pauseNanos = Math.min(2 * pauseNanos, MAX_PAUSE_NANOS);
    watcher.schedule(logged(this::resume), pause, TimeUnit.NANOSECONDS); // close cancels it
  }

  private void resume() {
    if (!listener.isOpen()) return; // closed meanwhile
    try {
      watcher.watch(listener, WatchFlag.READ, fd -> acceptAll());
    } catch (IOException e) {
      errors.log("resuming accept: " + e.getMessage());
      pause(); // try again after a longer pause
    }
  }

  /**
   * Runs {@code task} on the loop thread every {@code periodNanos}, the first time one period from
   * now, until cancelled or the watcher closes.
   */
  private ScheduledFuture<?> repeatOnLoop(Runnable task, long periodNanos) {
    return watcher.scheduleAtFixedRate(
        logged(task), periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  /**
   * {@code task}, logging whatever it throws. A timer's task needs it: what it throws would
   * complete a future that no one reads (and stop a periodic task for good).
   */
  protected final Runnable logged(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        errors.log("timer task threw: " + e);
      }
    };
  }

  /**
   * Loop thread: unwatches a connection (both flags) and closes it, in that order. Once closed, the
   * fd number can be handed to the very next accept, so it must leave the watcher first. Call it
   * once per connection that {@link #accepted} took.
   *
   * @throws IOException if unwatching or closing fails
   */
  protected final void release(int fd, SocketChannel channel) throws IOException {
    stats.openConnections.decrementAndGet();
    if (--open == 0 && ticker != null) {
      ticker.cancel(false); // nothing left to time out
      ticker = null;
    }
    try {
      watcher.unwatch(fd, WatchFlag.READ);
      watcher.unwatch(fd, WatchFlag.WRITE);
    } finally {
      channel.close();
    }
  }

  private static void closeQuietly(Channel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // already failing; the first error was logged
    }
  }

  /**
   * Loop thread: takes over a new connection (non-blocking, TCP_NODELAY) and watches it.
   *
   * @throws IOException if it cannot (the channel is then closed and the error logged)
   */
  protected abstract void accepted(SocketChannel channel) throws IOException;

  /**
   * Loop thread: a connection beyond {@code maxConnections}, non-blocking and never watched, is
   * about to be closed; the subclass may write a last word to it, best effort, without blocking.
   * The default writes nothing.
   *
   * @throws IOException if writing fails (the channel is closed all the same)
   */
  protected void refuse(SocketChannel channel) throws IOException {}

  /** Loop thread: closes every connection; the server is shutting down. */
  protected abstract void closeConnections();

  /**
   * How often {@link #tick(long)} should run, in nanoseconds ({@link #tickPeriodFor(Duration...)}
   * of the subclass's timeouts); zero, the default, for never. Called once, by {@link #listen()}.
   */
  protected long tickPeriodNanos() {
    return 0;
  }

  /**
   * Loop thread, every {@link #tickPeriodNanos()}: expires what has timed out.
   *
   * @param now {@link System#nanoTime()}
   */
  protected void tick(long now) {}

  /** Logs one line. Any thread. */
  protected abstract void log(String message);
}
