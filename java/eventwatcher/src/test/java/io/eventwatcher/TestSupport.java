package io.eventwatcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Shared helpers: real fds, bounded waits and loop syncs.
 *
 * <p>Synchronisation rules of the suite (those of the native suite): a positive check waits on a
 * future, latch or counter with a generous bound ({@link #PATIENCE_MS}) that only a broken loop
 * reaches; a negative check ("this callback is not called") either runs a known number of loop
 * turns ({@link #flushTurns}: level-triggered epoll reports every ready fd on every turn, so a live
 * registration would be called) or, where no turn can be observed, waits out a short idle window
 * ({@link #idleWindow()}). No test measures time; the loop thread's activity is observed through
 * /proc/self/task instead ({@link #blockedInEpollWait}, {@link #schedStat}).
 */
final class TestSupport {
  /**
   * Upper bound for anything that should happen "at once"; only a hung or broken loop gets near.
   */
  static final long PATIENCE_MS = 10_000;

  /** Window for negative checks across threads (nothing observable to wait on). */
  static final long IDLE_WINDOW_MS = 200;

  private static final AtomicInteger NAME_NUMBER = new AtomicInteger();

  private TestSupport() {}

  // ---- fds ----

  /** A non-blocking pipe; close() closes whichever ends are still open. */
  static final class Pipe implements AutoCloseable {
    final int r;
    final int w;
    private boolean readOpen = true;
    private boolean writeOpen = true;

    Pipe() throws IOException {
      int[] fds = NativeIO.pipe();
      r = fds[0];
      w = fds[1];
    }

    /** Makes the read end readable (one byte). */
    void fill() throws IOException {
      assertEquals(1, NativeIO.write(w, bytes(1)), "write to pipe " + w);
    }

    /** Writes until the pipe is full, so the write end is not writable. */
    void fillUp() throws IOException {
      ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
      while (NativeIO.write(w, chunk) > 0) chunk.clear();
    }

    /** Reads everything available; returns the byte count. */
    int drain() throws IOException {
      return TestSupport.drain(r);
    }

    void closeRead() throws IOException {
      if (readOpen) {
        readOpen = false;
        NativeIO.close(r);
      }
    }

    void closeWrite() throws IOException {
      if (writeOpen) {
        writeOpen = false;
        NativeIO.close(w);
      }
    }

    @Override
    public void close() throws IOException {
      closeRead();
      closeWrite();
    }
  }

  /** A connected pair of non-blocking AF_UNIX stream sockets. */
  static final class SocketPair implements AutoCloseable {
    final int a;
    final int b;
    private boolean aOpen = true;
    private boolean bOpen = true;

    SocketPair() throws IOException {
      int[] fds = NativeIO.socketPair();
      a = fds[0];
      b = fds[1];
    }

    void closeA() throws IOException {
      if (aOpen) {
        aOpen = false;
        NativeIO.close(a);
      }
    }

    void closeB() throws IOException {
      if (bOpen) {
        bOpen = false;
        NativeIO.close(b);
      }
    }

    @Override
    public void close() throws IOException {
      closeA();
      closeB();
    }
  }

  /** Owned fds closed together; for tests that create a variable number. */
  static final class Fds implements AutoCloseable {
    private final List<Integer> fds = new ArrayList<>();

    int add(int fd) {
      fds.add(fd);
      return fd;
    }

    @Override
    public void close() throws IOException {
      IOException first = null;
      for (int fd : fds) {
        try {
          NativeIO.close(fd);
        } catch (IOException e) {
          if (first == null) first = e;
        }
      }
      fds.clear();
      if (first != null) throw first;
    }
  }

  /** A direct buffer of {@code n} bytes 'x', ready to write. */
  static ByteBuffer bytes(int n) {
    ByteBuffer buffer = ByteBuffer.allocateDirect(n);
    while (buffer.hasRemaining()) buffer.put((byte) 'x');
    return buffer.flip();
  }

  /** Reads everything available from {@code fd}; returns the byte count. */
  static int drain(int fd) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocateDirect(65536);
    int total = 0;
    int n;
    while ((n = NativeIO.read(fd, buffer)) > 0) {
      total += n;
      buffer.clear();
    }
    return total;
  }

  /** Adds {@code value} to an eventfd's counter (making it readable). */
  static void signal(int eventFd, long value) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    buffer.putLong(value).flip();
    assertEquals(8, NativeIO.write(eventFd, buffer), "eventfd write");
  }

  /**
   * Puts a fresh eventfd on the number {@code fd}, which the caller has just closed. The kernel
   * hands out the lowest free number, so eventfds are created until one gets it; the ones on lower
   * numbers (freed meanwhile by other threads) are closed again. Another thread may hold the number
   * for a moment (the class loader reading a class file, say): then it tries again. Skips the test
   * if the number stays taken.
   */
  static int reuseNumber(int fd) throws IOException {
    for (int attempt = 0; attempt < 1000; attempt++) {
      List<Integer> fillers = new ArrayList<>();
      try {
        for (; ; ) {
          int candidate = NativeIO.eventFd(0);
          if (candidate == fd) return candidate;
          fillers.add(candidate);
          if (candidate > fd) break; // taken: release everything and retry
        }
      } finally {
        for (int filler : fillers) NativeIO.close(filler);
      }
      Thread.yield();
    }
    return Assumptions.abort("fd " + fd + " stayed taken by another thread: cannot reuse it");
  }

  // ---- waiting ----

  /** Waits for {@code future} at most {@link #PATIENCE_MS}; fails the test on timeout. */
  static <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(PATIENCE_MS, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return fail("timed out waiting for " + what);
    } catch (ExecutionException e) {
      return fail(what + " failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return fail("interrupted waiting for " + what);
    }
  }

  /** Waits for {@code latch} at most {@link #PATIENCE_MS}; fails the test on timeout. */
  static void await(CountDownLatch latch, String what) {
    try {
      assertTrue(latch.await(PATIENCE_MS, TimeUnit.MILLISECONDS), "timed out waiting for " + what);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail("interrupted waiting for " + what);
    }
  }

  /**
   * Waits for {@code latch} from inside a callback or task (no assertion: a failure there would
   * only reach the error handler). Returns whether it opened.
   */
  static boolean awaitQuietly(CountDownLatch latch) {
    try {
      return latch.await(PATIENCE_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Waits until {@code condition} holds (a counter or state other threads advance), at most {@link
   * #PATIENCE_MS}; fails the test otherwise.
   */
  static void eventually(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) fail("timed out waiting for " + what);
      LockSupport.parkNanos(100_000); // polls the condition; the bound is the only timing
    }
  }

  /** A short window in which nothing may happen, for negative checks across threads. */
  static void idleWindow() {
    try {
      Thread.sleep(IDLE_WINDOW_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail("interrupted during the idle window");
    }
  }

  // ---- loop syncs ----

  /** Blocks until the loop has run a task submitted now, so everything submitted before it ran. */
  static void sync(EventWatcher watcher) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    watcher.runInEventWatcherLoop(() -> done.complete(null));
    await(done, "a task on the loop");
  }

  /** Runs {@code action} on the loop thread and waits for it, rethrowing what it threw. */
  static void onLoop(EventWatcher watcher, ThrowingRunnable action) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    watcher.runInEventWatcherLoop(
        () -> {
          try {
            action.run();
            done.complete(null);
          } catch (Throwable e) {
            done.completeExceptionally(e);
          }
        });
    await(done, "a task on the loop");
  }

  /** A Runnable that may throw. */
  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /**
   * Returns once the loop has completed {@code turns} whole turns (each an epoll_wait that reports
   * every ready fd, a dispatch of that batch and the queued tasks), all begun after this call.
   *
   * <p>Tasks cannot count turns here: a task submitted from a task may run in the same turn. So a
   * ticker does: an always-readable eventfd whose callback, being level-triggered, is called once
   * per turn. Its registration is made during some turn T and ignores T's batch, so its k-th call
   * happens in the k-th epoll_wait after T, and its (turns + 1)-th call means {@code turns} turns
   * are over. Works in executor mode too (one call per turn at most there).
   */
  static void flushTurns(EventWatcher watcher, int turns) throws IOException {
    int ticker = NativeIO.eventFd(1);
    try {
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Void> done = new CompletableFuture<>();
      watcher.watch(
          ticker,
          WatchFlag.READ,
          fd -> {
            if (calls.incrementAndGet() == turns + 1) {
              watcher.unwatch(fd, WatchFlag.READ);
              done.complete(null);
            }
          });
      await(done, turns + " loop turns");
    } finally {
      NativeIO.close(ticker);
    }
  }

  /** Three whole loop turns: see {@link #flushTurns(EventWatcher, int)}. */
  static void flushTurns(EventWatcher watcher) throws IOException {
    flushTurns(watcher, 3);
  }

  // ---- threads and /proc/self ----

  /** A thread name unique in this JVM and short enough (at most 15 chars) for /proc comm. */
  static String uniqueThreadName(String prefix) {
    String name = prefix + "-" + NAME_NUMBER.incrementAndGet();
    assertTrue(name.length() <= 15, "thread name too long for /proc comm: " + name);
    return name;
  }

  /** The loop thread of {@code watcher}, fetched from a task. */
  static Thread loopThread(EventWatcher watcher) {
    CompletableFuture<Thread> thread = new CompletableFuture<>();
    watcher.runInEventWatcherLoop(() -> thread.complete(Thread.currentThread()));
    return await(thread, "the loop thread");
  }

  /** Number of entries in a /proc/self directory ("fd" or "task"). */
  static int countEntries(String directory) {
    try (Stream<Path> entries = Files.list(Path.of("/proc/self", directory))) {
      return (int) entries.count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Number of open fds of this process whose /proc/self/fd link reads {@code target}, for example
   * {@code "anon_inode:[eventpoll]"}.
   */
  static int countFdsLinkingTo(String target) {
    int count = 0;
    try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) entries::iterator) {
        try {
          if (Files.readSymbolicLink(fd).toString().equals(target)) count++;
        } catch (IOException closedMeanwhile) {
          // not open any more: not counted
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return count;
  }

  /**
   * Number of threads of this process whose native name (/proc comm) starts with {@code prefix}.
   */
  static int countThreadsNamed(String prefix) {
    int count = 0;
    for (Path task : tasks()) {
      String comm = readOrNull(task.resolve("comm"));
      if (comm != null && comm.strip().startsWith(prefix)) count++;
    }
    return count;
  }

  /**
   * Number of threads of this process (/proc/self/task) other than the JVM's own worker pools,
   * which the JVM grows and shrinks on demand (JIT compiler and GC threads).
   */
  static int countThreadsButJvmWorkers() {
    int count = 0;
    for (Path task : tasks()) {
      String comm = readOrNull(task.resolve("comm"));
      if (comm == null) continue; // ended meanwhile
      comm = comm.strip();
      boolean jvmWorker =
          comm.startsWith("C1 CompilerThre")
              || comm.startsWith("C2 CompilerThre")
              || comm.startsWith("GC Thread#")
              || comm.startsWith("G1 ");
      if (!jvmWorker) count++;
    }
    return count;
  }

  /** The /proc/self/task directory of the thread with native name {@code name}, or fails. */
  static Path taskNamed(String name) {
    for (Path task : tasks()) {
      String comm = readOrNull(task.resolve("comm"));
      if (comm != null && comm.strip().equals(name)) return task;
    }
    return fail("no thread named " + name + " in /proc/self/task");
  }

  /**
   * Whether the thread of {@code task} sleeps in epoll_wait (or epoll_pwait/epoll_pwait2): state S
   * and that system call in /proc/self/task/TID/syscall (x86_64 numbers; the state alone where the
   * kernel does not expose the system call).
   */
  static boolean blockedInEpollWait(Path task) {
    String stat = readOrNull(task.resolve("stat"));
    if (stat == null) return false;
    char state = stat.charAt(stat.lastIndexOf(')') + 2);
    if (state != 'S') return false;
    String syscall = readOrNull(task.resolve("syscall"));
    if (syscall == null) return true;
    String number = syscall.strip().split(" ")[0];
    return number.equals("232") || number.equals("281") || number.equals("441");
  }

  /**
   * CPU time the thread of {@code task} has run, in ns, and how often it was scheduled
   * (/proc/self/task/TID/schedstat): unchanged over a window means it did not wake up at all.
   * Where the kernel has no schedstat, a constant (the check then proves nothing).
   */
  static String schedStat(Path task) {
    String schedstat = readOrNull(task.resolve("schedstat"));
    if (schedstat == null) return "schedstat unavailable";
    String[] fields = schedstat.strip().split(" ");
    return fields[0] + " ns run, " + fields[2] + " timeslices";
  }

  private static List<Path> tasks() {
    try (Stream<Path> entries = Files.list(Path.of("/proc/self/task"))) {
      return entries.toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String readOrNull(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return null; // the thread has ended
    }
  }

  /** An error handler recording what it receives. */
  static final class Reported implements ErrorHandler {
    /** One report: the fd (or -1) and the error. */
    record Report(int fd, Throwable error) {}

    private final List<Report> reports = new CopyOnWriteArrayList<>();

    @Override
    public void onError(int fd, Throwable error) {
      reports.add(new Report(fd, error));
    }

    List<Report> reports() {
      return List.copyOf(reports);
    }

    int count() {
      return reports.size();
    }
  }

  /** A callback counting its calls. */
  static final class Counter implements WatchCallback {
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public void run(int fd) throws Exception {
      calls.incrementAndGet();
    }

    int calls() {
      return calls.get();
    }
  }
}
