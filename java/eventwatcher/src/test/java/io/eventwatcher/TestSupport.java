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
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * Shared helpers: real fds, bounded waits and loop syncs.
 *
 * <p>Synchronisation rules of the suite (those of the native suite): a positive check waits on a
 * future, latch or counter with a generous bound ({@link #PATIENCE_MS}) that only a broken loop
 * reaches. A negative check ("this callback is not called", "this call has not returned") must be
 * able to fail, so it first proves that the other side got to where a wrong implementation would
 * have acted: the loop completed a known number of turns ({@link #flushTurns}: level-triggered
 * epoll reports every ready fd on every turn, so a live registration would be called), a call made
 * on another thread is seen parked inside the watcher's method ({@link BlockingCall}, with {@link
 * LoopHold} to see it past the loop's part), or the thread that could act has ended. That the loop
 * makes no wakeups is read from the loop thread's own wait ({@link
 * #asleepInEpollWaitWithoutTimeout}: asleep in epoll_wait with no timeout, which only an event can
 * end), not from a quiet window. Nothing sleeps to let time pass, and no test measures time.
 */
final class TestSupport {
  /**
   * Upper bound for anything that should happen "at once"; only a hung or broken loop gets near.
   */
  static final long PATIENCE_MS = 10_000;

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

    /** Hands the read end to an owner that closes it (an FdChannel): close() leaves it alone. */
    int takeRead() {
      readOpen = false;
      return r;
    }

    /** Hands the write end to an owner that closes it: close() leaves it alone. */
    int takeWrite() {
      writeOpen = false;
      return w;
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

    /** Hands {@code a} to an owner that closes it: close() leaves it alone. */
    int takeA() {
      aOpen = false;
      return a;
    }

    /** Hands {@code b} to an owner that closes it: close() leaves it alone. */
    int takeB() {
      bOpen = false;
      return b;
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

  /**
   * Holds the loop thread inside a task until {@link #release}. Calls from other threads, handed to
   * the loop as tasks, queue up behind it in order: a call made meanwhile is seen waiting for the
   * loop, and a task queued after it runs only once the loop has run the call's part.
   */
  static final class LoopHold {
    private final CountDownLatch release = new CountDownLatch(1);

    /** Returns once the loop thread is inside the holding task. */
    LoopHold(EventWatcher watcher) {
      CountDownLatch held = new CountDownLatch(1);
      watcher.runInEventWatcherLoop(
          () -> {
            held.countDown();
            awaitQuietly(release);
          });
      await(held, "the loop to enter the holding task");
    }

    /** Lets the loop go on. */
    void release() {
      release.countDown();
    }
  }

  /**
   * A call of an {@link EventWatcher} method that should block, made on a thread of its own, so
   * that a test can see where it waits before it lets it go on. "Not returned yet" alone proves
   * nothing (the thread may not have got that far): {@link #awaitParked} first sees the thread
   * parked inside the method.
   */
  static final class BlockingCall {
    private final Thread thread;
    private final String method;
    private final CompletableFuture<?> returned;

    /**
     * Starts {@code call} on a new daemon thread named {@code name}; {@code method} is the name of
     * the {@link EventWatcher} method it calls ("unwatch", "watch", "close").
     */
    BlockingCall(String name, String method, ThrowingRunnable call) {
      CompletableFuture<Void> done = new CompletableFuture<>();
      this.method = method;
      this.returned = done;
      thread =
          new Thread(
              () -> {
                try {
                  call.run();
                  done.complete(null);
                } catch (Throwable e) {
                  done.completeExceptionally(e);
                }
              },
              name);
      thread.setDaemon(true); // a call that never returns cannot keep the JVM alive
      thread.start();
    }

    /**
     * A call of {@link EventWatcher} method {@code method} that {@code thread} (a callback's, say)
     * makes or is about to make, completing {@code returned} when the call returns.
     */
    BlockingCall(Thread thread, String method, CompletableFuture<?> returned) {
      this.thread = thread;
      this.method = method;
      this.returned = returned;
    }

    /** Whether the call has returned (or thrown). */
    boolean hasReturned() {
      return returned.isDone();
    }

    /**
     * Waits until the thread is parked inside the method (or the call has returned, which the
     * caller then reports) and returns the object it parks on ({@link LockSupport#getBlocker}; null
     * for Object.wait and Thread.join).
     */
    Object awaitParked() {
      Object[] blocker = new Object[1];
      eventually(
          () -> {
            if (hasReturned()) return true;
            Object parkedOn = LockSupport.getBlocker(thread);
            if (!parkedInside()) return false;
            blocker[0] = parkedOn;
            return LockSupport.getBlocker(thread) == parkedOn; // parked on it throughout
          },
          thread.getName() + " to park inside " + method + "()");
      return blocker[0];
    }

    /**
     * Waits until the call has returned, or is parked inside the method on an object other than
     * {@code before} (and not null): it has moved on from the wait it was seen in, and waits for
     * something else now.
     */
    void awaitParkedOnOtherThan(Object before) {
      eventually(
          () -> {
            if (hasReturned()) return true;
            Object parkedOn = LockSupport.getBlocker(thread);
            if (parkedOn == null || parkedOn == before || !parkedInside()) return false;
            return LockSupport.getBlocker(thread) == parkedOn;
          },
          thread.getName() + " to wait inside " + method + "() for something else than before");
    }

    /** Waits for the call to return, failing the test with what it threw. */
    void awaitReturn() {
      await(returned, method + "() on " + thread.getName());
    }

    private boolean parkedInside() {
      Thread.State state = thread.getState();
      if (state != Thread.State.WAITING
          && state != Thread.State.TIMED_WAITING
          && state != Thread.State.BLOCKED) {
        return false;
      }
      for (StackTraceElement frame : thread.getStackTrace()) {
        if (frame.getClassName().equals(EventWatcher.class.getName())
            && frame.getMethodName().equals(method)) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * Starts a call from another thread ({@code start} makes it and returns it), and returns once the
   * loop has run the call's part and the call still waits, on something else than the loop, or has
   * returned (which the caller then reports). For a call that, past the loop, must wait for a
   * callback in flight on an executor (unwatch, a replacing watch): a call that did not wait would
   * have returned by then. How: the loop is held while the call hands its operation over, so the
   * call is seen parked waiting for the loop; a task queued after that operation proves that the
   * loop has run it; then the call is seen parked on another object.
   */
  static BlockingCall callWaitingPastTheLoop(EventWatcher watcher, Supplier<BlockingCall> start) {
    CompletableFuture<Void> operationRun = new CompletableFuture<>();
    BlockingCall blocking;
    Object waitingForTheLoop;
    LoopHold hold = new LoopHold(watcher);
    try {
      blocking = start.get();
      waitingForTheLoop = blocking.awaitParked();
      if (blocking.hasReturned()) return blocking; // returned without the loop: the caller fails
      watcher.runInEventWatcherLoop(() -> operationRun.complete(null));
    } finally {
      hold.release();
    }
    await(operationRun, "the loop to run the operation of " + blocking.method + "()");
    blocking.awaitParkedOnOtherThan(waitingForTheLoop);
    return blocking;
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

  /** The open fds of this process, each with what its /proc/self/fd link reads. */
  static Map<Integer, String> openFds() {
    Map<Integer, String> open = new TreeMap<>();
    try (Stream<Path> entries = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : (Iterable<Path>) entries::iterator) {
        try {
          open.put(
              Integer.parseInt(fd.getFileName().toString()), Files.readSymbolicLink(fd).toString());
        } catch (IOException closedMeanwhile) {
          // not open any more: not listed
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return open;
  }

  /** The fds open now that were not open in {@code before}, or were open on something else. */
  static Map<Integer, String> newFds(Map<Integer, String> before) {
    Map<Integer, String> added = openFds();
    added.entrySet().removeIf(fd -> fd.getValue().equals(before.get(fd.getKey())));
    return added;
  }

  /**
   * Waits until no fd is open that was not open in {@code before}, failing with the new ones. Waits
   * rather than looks once because another thread of the JVM may hold a file open for a moment (a
   * class loader reading a class file, JFR); a leaked fd stays and fails.
   */
  static void assertNoNewFds(Map<Integer, String> before, String what) {
    assertFdsReturn(before, what, () -> newFds(before).isEmpty());
  }

  /**
   * Waits until no more fds are open than in {@code before}, failing with the new ones. For checks
   * over a span in which other threads may close fds of their own and the kernel may give their
   * numbers to new fds.
   */
  static void assertFdCountReturns(Map<Integer, String> before, String what) {
    assertFdsReturn(before, what, () -> countEntries("fd") <= before.size());
  }

  private static void assertFdsReturn(
      Map<Integer, String> before, String what, BooleanSupplier returned) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    while (!returned.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) fail(what + ": " + newFds(before));
      LockSupport.parkNanos(100_000); // polls; the bound is the only timing
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
   * Whether the thread of {@code task} sleeps in epoll_wait (or epoll_pwait/epoll_pwait2) with no
   * timeout: state S, and /proc/self/task/TID/syscall names that system call with timeout -1
   * (epoll_pwait2: no timespec). Nothing but a ready fd or the wakeup eventfd can end such a wait,
   * and a loop that spins or polls is never seen so. x86_64 numbers (the only platform the library
   * ships for); where the kernel does not expose the system call, the state alone.
   */
  static boolean asleepInEpollWaitWithoutTimeout(Path task) {
    String stat = readOrNull(task.resolve("stat"));
    if (stat == null) return false;
    char state = stat.charAt(stat.lastIndexOf(')') + 2);
    if (state != 'S') return false;
    String syscall = readOrNull(task.resolve("syscall"));
    if (syscall == null) return true;
    String[] fields = syscall.strip().split(" ");
    if (fields.length < 5 || !fields[4].startsWith("0x")) return false; // not in a system call
    long timeout = Long.parseUnsignedLong(fields[4].substring(2), 16);
    switch (fields[0]) {
      case "232": // epoll_wait(epfd, events, maxevents, int timeout)
      case "281": // epoll_pwait(epfd, events, maxevents, int timeout, sigmask, size)
        return (int) timeout == -1;
      case "441": // epoll_pwait2(epfd, events, maxevents, struct timespec *timeout, ...)
        return timeout == 0;
      default:
        return false;
    }
  }

  /** Whether the kernel shows the thread of {@code task}'s system call and its arguments. */
  static boolean systemCallVisible(Path task) {
    return readOrNull(task.resolve("syscall")) != null;
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
