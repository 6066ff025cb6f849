package io.eventwatcher;

import io.eventwatcher.internal.Errno;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import java.io.File;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A child process with no thread of its own: started with {@code posix_spawn} in native code, its
 * piped stdin, stdout and stderr are {@link FdChannel}s (non-blocking pipes, close-on-exec), and
 * its exit is watched through a pidfd ({@code pidfd_open}, Linux 5.3+) on a watcher's loop, by
 * default the shared one that also serves {@link FdChannel}s. A thousand children cost a thousand
 * pidfds and pipes, not a thousand reaper and stream-pumping threads.
 *
 * <p><b>Starting.</b> {@link #start(ProcessBuilder)} honours the builder's command (looked up in
 * this process's {@code PATH} when it has no '/'), directory, environment, the three redirects
 * ({@code PIPE}, {@code INHERIT}, {@code DISCARD} and files, read, write or append) and {@code
 * redirectErrorStream}. In the child every signal is at its default and unblocked, and no fd but 0,
 * 1 and 2 is open. A start that fails throws and leaves no fd open and no child behind.
 *
 * <p><b>Exit.</b> The exit value follows {@link Process}: the exit status, or 128 plus the number
 * of the signal that killed the child. A child that exits before its watch is set up is not missed
 * (the pidfd stays readable). The loop reaps it ({@code waitpid}) as soon as it exits, so it never
 * lingers as a zombie; {@link #onExit()} completes on the loop thread. Dependent stages added
 * without an executor usually run there too, so they should be short; as with any {@link
 * CompletableFuture}, a thread waiting on the same future at that moment may run them instead.
 *
 * <p><b>Streams.</b> Closing {@link #stdin()} sends the child end of file while its output stays
 * readable, as with {@link Process#getOutputStream()}. The caller closes the channels it was given;
 * a child that fills a pipe nobody reads blocks, as with {@link Process}.
 *
 * <p><b>Threads.</b> Every method is thread-safe.
 */
public final class Subprocess {
  private static final int SIGKILL = 9;
  private static final int SIGTERM = 15;

  private final int pid;
  // Guarded by this: the watcher of the exit watch, the shared one once a given one has closed.
  private EventWatcher watcher;
  private final Runnable onWatcherClosed = this::watcherClosed;
  private final FdChannel stdin;
  private final FdChannel stdout;
  private final FdChannel stderr;
  private final CompletableFuture<Integer> exit = new CompletableFuture<>();
  private int pidfd; // guarded by this; -1 once the child is reaped

  private Subprocess(int pid, int pidfd, EventWatcher watcher, FdChannel[] channels) {
    this.pid = pid;
    this.pidfd = pidfd;
    this.watcher = watcher;
    this.stdin = channels[0];
    this.stdout = channels[1];
    this.stderr = channels[2];
  }

  /**
   * Whether this kernel lets a Subprocess be started: it has {@code pidfd_open} (Linux 5.3+). Any
   * thread.
   *
   * @return true if supported
   */
  public static boolean isSupported() {
    return NativeLibrary.isAvailable() && Native.pidfdSupport() == 0;
  }

  /**
   * Starts {@code builder}'s command, its exit watched by the shared watcher. Any thread.
   *
   * @param builder the command, directory, environment and redirects
   * @return the running child
   * @throws ErrnoException if it cannot be started (ENOENT: no such program, EACCES, a redirect's
   *     file or the directory cannot be opened), with nothing left open
   * @throws IOException if the command has a NUL character
   * @throws IndexOutOfBoundsException if the command is empty
   * @throws UnsupportedOperationException if the kernel has no pidfd_open, or the native library is
   *     unavailable
   */
  public static Subprocess start(ProcessBuilder builder) throws IOException {
    NativeLibrary.ensureAvailable();
    ensureSupported(); // before the shared watcher starts a thread for nothing
    return start(builder, SharedWatcher.get());
  }

  /**
   * As {@link #start(ProcessBuilder)}, with the exit watched and the channels served by {@code
   * watcher}. If the watcher closes while the child runs, the exit watch moves to the shared
   * watcher, so the child is still reaped and {@link #onExit()} still completes; its channels then
   * fail as those of any {@link FdChannel} on a closed watcher.
   *
   * @param builder the command, directory, environment and redirects
   * @param watcher the watcher that reaps the child and unparks its channels' threads
   * @return the running child
   * @throws IOException as {@link #start(ProcessBuilder)}
   * @throws IllegalStateException if the watcher is closed (nothing is started then)
   */
  public static Subprocess start(ProcessBuilder builder, EventWatcher watcher) throws IOException {
    Objects.requireNonNull(watcher, "watcher");
    SpawnArguments arguments = new SpawnArguments(builder);
    NativeLibrary.ensureAvailable();
    ensureSupported();
    if (watcher.isShutdown()) throw new IllegalStateException("EventWatcher is closed");
    int[] out = new int[5];
    int result =
        Native.spawn(
            arguments.argv,
            arguments.environment,
            arguments.directory,
            arguments.redirects,
            arguments.paths,
            builder.redirectErrorStream(),
            out);
    if (result < 0) throw Errno.exception("start \"" + builder.command().get(0) + "\"", -1, result);
    return watchExit(out, watcher);
  }

  private static Subprocess watchExit(int[] out, EventWatcher watcher) throws IOException {
    int pid = out[0];
    int pidfd = out[1];
    FdChannel[] channels = new FdChannel[3];
    Subprocess child = null;
    try {
      for (int i = 0; i < 3; i++)
        channels[i] = out[2 + i] < 0 ? null : FdChannel.open(out[2 + i], watcher);
      Subprocess started = new Subprocess(pid, pidfd, watcher, channels);
      child = started;
      // The hook before the watch: a fast exit's exited() then finds it to remove.
      if (!watcher.reactor().addCloseHook(started.onWatcherClosed)) {
        throw new IllegalStateException("EventWatcher is closed");
      }
      watcher.watch(pidfd, WatchFlag.READ, ignored -> started.exited());
      return started;
    } catch (IOException | RuntimeException | Error e) {
      if (child != null) child.disown();
      abandon(pid, pidfd, out, channels, e);
      throw e;
    }
  }

  /** A start that failed: the hook goes, and a move already under way finds nothing to move. */
  private void disown() {
    watcher().reactor().removeCloseHook(onWatcherClosed);
    synchronized (this) {
      pidfd = -1; // abandon closes the fd
    }
  }

  private synchronized EventWatcher watcher() {
    return watcher;
  }

  /** Undoes a start whose exit could not be watched: kills and reaps the child, closes its fds. */
  private static void abandon(int pid, int pidfd, int[] out, FdChannel[] channels, Throwable e) {
    Native.signal(pidfd, SIGKILL);
    Native.reap(pid, true);
    Native.close(pidfd);
    for (int i = 0; i < 3; i++) {
      try {
        if (channels[i] != null) channels[i].close();
        else if (out[2 + i] >= 0) Native.close(out[2 + i]);
      } catch (IOException secondary) {
        e.addSuppressed(secondary);
      }
    }
  }

  private static void ensureSupported() {
    int result = Native.pidfdSupport();
    if (result < 0) {
      throw new UnsupportedOperationException(
          "Subprocess needs pidfd_open(2), Linux 5.3 or later; this kernel ("
              + System.getProperty("os.version")
              + ") refuses it: "
              + Errno.exception("pidfd_open", -1, result).getMessage());
    }
  }

  /**
   * A watcher's callback: the pidfd is readable, so the child has exited; reaps it once. The reap
   * is made under the monitor, so of two racing calls (the old and the new watcher's, after a move)
   * exactly one gets the exit value; the unwatch is made outside it, so a loop thread that takes
   * the monitor (destroy in a callback) never waits for a thread that waits for that loop.
   */
  private void exited() throws IOException {
    int value;
    int fd;
    EventWatcher watchedBy;
    synchronized (this) {
      if (pidfd < 0) return; // reaped already
      value = Native.reap(pid, false);
      if (value == -Errno.EAGAIN) return; // not an exit (cannot happen with a pidfd): wait on
      fd = pidfd;
      pidfd = -1; // from here on signals are refused: the pid may be reused once reaped
      watchedBy = watcher;
    }
    watchedBy.reactor().removeCloseHook(onWatcherClosed);
    IOException failure = null;
    try {
      watchedBy.unwatch(fd, WatchFlag.READ);
    } catch (IOException e) {
      failure = e; // the watch goes with the fd all the same
    } catch (IllegalStateException closing) {
      // the watcher is closing: its watches go with it
    }
    Native.close(fd);
    if (value < 0) {
      exit.completeExceptionally(Errno.exception("waitpid", pid, value));
    } else {
      exit.complete(value);
    }
    if (failure != null) throw failure; // to the watcher's error handler
  }

  /**
   * The closing loop of a given watcher: moves the exit watch to the shared watcher, so that the
   * child is still reaped and {@link #onExit()} still completes. The move runs as a task on the
   * shared loop, so this thread never waits for that loop (whose callbacks may be waiting to close
   * this watcher, or for this child's monitor).
   */
  private void watcherClosed() {
    try {
      EventWatcher shared = SharedWatcher.get();
      shared.execute(() -> moveExitWatchTo(shared));
    } catch (RuntimeException e) {
      failMove(e);
    }
  }

  /** The shared loop: watches the pidfd there, unless the child was reaped meanwhile. */
  private void moveExitWatchTo(EventWatcher shared) {
    try {
      synchronized (this) {
        if (pidfd < 0) return;
        watcher = shared;
        shared.watch(pidfd, WatchFlag.READ, ignored -> exited()); // on its loop: no wait
      }
    } catch (IOException | RuntimeException e) {
      failMove(e);
    }
  }

  /** The exit watch could not move: the exit can no longer be observed; says why. */
  private void failMove(Exception cause) {
    synchronized (this) {
      if (pidfd < 0) return;
      Native.close(pidfd);
      pidfd = -1;
    }
    exit.completeExceptionally(
        new IOException(
            "pid " + pid + ": its watcher closed and the exit watch could not move", cause));
  }

  /**
   * The child's process id. Any thread.
   *
   * @return the pid
   */
  public long pid() {
    return pid;
  }

  /**
   * The write end of the child's stdin. Any thread.
   *
   * @return the channel, or null if stdin is not piped
   */
  public FdChannel stdin() {
    return stdin;
  }

  /**
   * The read end of the child's stdout. Any thread.
   *
   * @return the channel, or null if stdout is not piped
   */
  public FdChannel stdout() {
    return stdout;
  }

  /**
   * The read end of the child's stderr. Any thread.
   *
   * @return the channel, or null if stderr is not piped (or goes to stdout)
   */
  public FdChannel stderr() {
    return stderr;
  }

  /**
   * A future of the exit value, completed on the watcher's loop thread when the child exits. Any
   * thread.
   *
   * @return the future (cancelling it does not affect the child)
   */
  public CompletableFuture<Integer> onExit() {
    return exit.copy();
  }

  /**
   * Waits for the child to exit. Any thread.
   *
   * @return the exit value
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalStateException if it could not be reaped (waitpid failed, or its watcher closed
   *     and the shared one could not take the exit watch)
   */
  public int waitFor() throws InterruptedException {
    try {
      return exit.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("no exit value for pid " + pid, e.getCause());
    }
  }

  /**
   * Waits at most {@code timeout} for the child to exit. Any thread.
   *
   * @param timeout how long at most
   * @param unit the unit of timeout
   * @return true if it has exited
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
    try {
      exit.get(timeout, unit);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  /**
   * The exit value. Any thread.
   *
   * @return the exit value
   * @throws IllegalThreadStateException if the child has not exited (or not yet been reaped)
   * @throws IllegalStateException if it could not be reaped (waitpid failed), as {@link #waitFor()}
   */
  public int exitValue() {
    if (!exit.isDone()) throw new IllegalThreadStateException("process " + pid + " has not exited");
    try {
      return exit.join();
    } catch (CompletionException e) {
      throw new IllegalStateException("no exit value for pid " + pid, e.getCause());
    }
  }

  /**
   * Whether the child is still running (not yet reaped). Any thread.
   *
   * @return true until it has exited and been reaped
   */
  public boolean isAlive() {
    return !exit.isDone();
  }

  /**
   * Asks the child to end: SIGTERM, through the pidfd, so that a pid reused after the exit can
   * never be signalled. Nothing happens once it has been reaped. Any thread.
   *
   * @throws ErrnoException if pidfd_send_signal fails otherwise
   */
  public void destroy() throws IOException {
    signal(SIGTERM, "destroy (SIGTERM)");
  }

  /**
   * Ends the child: SIGKILL, through the pidfd. Nothing happens once it has been reaped. Any
   * thread.
   *
   * @throws ErrnoException if pidfd_send_signal fails otherwise
   */
  public void destroyForcibly() throws IOException {
    signal(SIGKILL, "destroyForcibly (SIGKILL)");
  }

  private synchronized void signal(int signal, String operation) throws IOException {
    if (pidfd < 0) return;
    int result = Native.signal(pidfd, signal);
    if (result < 0 && result != -Errno.ESRCH) throw Errno.exception(operation, pidfd, result);
  }

  @Override
  public String toString() {
    Integer value = exit.getNow(null);
    return "Subprocess[pid=" + pid + (value == null ? ", running]" : ", exit=" + value + "]");
  }

  /** The builder's settings as the spawn native takes them. */
  private static final class SpawnArguments {
    private static final Charset JNU = jnuCharset();

    final byte[][] argv;
    final byte[][] environment;
    final byte[] directory;
    final int[] redirects = new int[3];
    final byte[][] paths = new byte[3][];

    SpawnArguments(ProcessBuilder builder) throws IOException {
      List<String> command = builder.command();
      if (command.isEmpty()) throw new IndexOutOfBoundsException("the command is empty");
      argv = bytes(command, "command");
      List<String> entries = new ArrayList<>();
      for (Map.Entry<String, String> e : builder.environment().entrySet()) {
        entries.add(e.getKey() + "=" + e.getValue());
      }
      environment = bytes(entries, "environment");
      File dir = builder.directory();
      directory = dir == null ? null : bytes(dir.getPath(), "directory");
      redirect(0, builder.redirectInput());
      redirect(1, builder.redirectOutput());
      redirect(2, builder.redirectError());
    }

    private void redirect(int stream, ProcessBuilder.Redirect redirect) throws IOException {
      switch (redirect.type()) {
        case PIPE -> redirects[stream] = 0;
        case INHERIT -> redirects[stream] = 1;
        case READ -> redirects[stream] = 2;
        case WRITE -> redirects[stream] = 3;
        case APPEND -> redirects[stream] = 4;
      }
      if (redirect.file() != null) paths[stream] = bytes(redirect.file().getPath(), "redirect");
    }

    private static byte[][] bytes(List<String> strings, String what) throws IOException {
      byte[][] result = new byte[strings.size()][];
      for (int i = 0; i < result.length; i++) result[i] = bytes(strings.get(i), what);
      return result;
    }

    private static byte[] bytes(String s, String what) throws IOException {
      if (s.indexOf('\0') >= 0) throw new IOException("invalid null character in " + what);
      return s.getBytes(JNU);
    }

    private static Charset jnuCharset() {
      try {
        return Charset.forName(System.getProperty("sun.jnu.encoding"));
      } catch (RuntimeException e) {
        return Charset.defaultCharset();
      }
    }
  }
}
