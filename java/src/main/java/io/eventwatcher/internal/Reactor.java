package io.eventwatcher.internal;

import io.eventwatcher.ErrorHandler;
import io.eventwatcher.WatchCallback;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Java half of a watcher: a {@link Thread} that runs the native loop, the table of Java
 * callbacks, the task queue, and executor hand-off. {@link io.eventwatcher.EventWatcher} documents
 * the contract; this class states how it is kept.
 *
 * <p>Threads. The table ({@code reads}, {@code writes}), {@code turn} and {@code inTurn} belong to
 * the loop thread, so dispatch takes no lock. Other threads change the table by submitting a task
 * and waiting for it ({@link #call}), exactly as the native core does.
 *
 * <p>Dispatch. The loop thread runs the native loop one turn per downcall ({@code Native.turn});
 * native code records each ready (fd, flag) of the turn in {@code batch}, then {@link #onTurn(int)}
 * dispatches them. Lookups index arrays by fd: no hashing, no boxing, no
 * allocation. A registration made during turn N has {@code sinceTurn == N} and ignores the events
 * of that turn, which were fetched before it existed; a replaced or removed registration is no
 * longer in the table, so events already fetched for it are dropped.
 *
 * <p>Lifetime. The native handle lives exactly as long as the loop thread: the thread frees it
 * once its turns have ended. Other threads touch the handle
 * only inside the {@link HandleGuard} (to wake or stop the loop), which the loop thread closes
 * before freeing it, so no call order can reach freed memory.
 */
public final class Reactor {
  private static final System.Logger LOGGER = System.getLogger("io.eventwatcher");
  private static final String[] FLAG_NAMES = {"READ", "WRITE"};
  private static final int INITIAL_TABLE_SIZE = 64;
  /** Tasks run per turn at most, so a task that keeps submitting tasks cannot starve I/O. */
  private static final int MAX_TASKS_PER_TURN = 1024;
  /** The reactor whose executor callback the current thread is running, if any. */
  private static final ThreadLocal<Reactor> RUNNING_CALLBACK_OF = new ThreadLocal<>();

  private final long handle;
  private final HandleGuard guard = new HandleGuard();
  private final ByteBuffer batch;
  private final Executor executor;
  private final ErrorHandler errorHandler;
  private final Thread thread;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  /** True from a submission until the loop starts draining; only its false->true edge wakes. */
  private final AtomicBoolean tasksPending = new AtomicBoolean();
  private final AtomicBoolean closeRequested = new AtomicBoolean();
  private final AtomicInteger callbacksRunning = new AtomicInteger(); // executor calls started, not ended
  // Not a monitor: close() from a virtual-thread callback must not pin its carrier while waiting.
  private final ReentrantLock callbacksLock = new ReentrantLock();
  private final Condition callbacksIdle = callbacksLock.newCondition();
  /**
   * Executor callbacks of this reactor blocked in {@link #close()} or waiting for another call
   * ({@link Registration#awaitIdle()}); close() does not wait for them, as they cannot return
   * while it waits. Guarded by callbacksLock.
   */
  private int callbacksBlocked;

  // Loop thread only.
  private Registration[] reads = new Registration[INITIAL_TABLE_SIZE];
  private Registration[] writes = new Registration[INITIAL_TABLE_SIZE];
  // Executor mode: the registration of each (fd, flag) whose call is in flight, current or not.
  // While one is, that (fd, flag) stays suspended, even for a registration made meanwhile, so two
  // calls for one (fd, flag) never overlap.
  private Registration[] flyingReads = new Registration[INITIAL_TABLE_SIZE];
  private Registration[] flyingWrites = new Registration[INITIAL_TABLE_SIZE];
  private long turn;
  private boolean inTurn;

  /**
   * Creates the native watcher and starts the loop thread.
   *
   * @throws IOException if epoll or the eventfd cannot be created
   */
  public Reactor(
      String threadName, boolean daemon, Executor executor, ErrorHandler errorHandler, int maxEvents)
      throws IOException {
    this.executor = executor;
    this.errorHandler = errorHandler;
    this.batch = ByteBuffer.allocateDirect(maxEvents * 2 * Integer.BYTES).order(ByteOrder.nativeOrder());
    this.handle = Native.create(maxEvents, batch);
    this.thread = new Thread(this::loop, threadName);
    thread.setDaemon(daemon);
    try {
      thread.start();
    } catch (Throwable e) {
      Native.destroy(handle);
      throw e;
    }
  }

  // ---- the loop thread ----

  private void loop() {
    Throwable failure = null;
    try {
      Native.begin(handle);
      try {
        // One downcall per turn: the native side waits, records the ready (fd, flag) pairs in
        // `batch`, runs its own tasks, and returns how many it recorded (-1 once stopped).
        for (int count; (count = Native.turn(handle)) >= 0; ) onTurn(count);
      } finally {
        Native.end(handle);
      }
    } catch (Throwable e) {
      failure = e;
    }
    closeRequested.set(true);
    for (Registration[] table : new Registration[][] {reads, writes}) {
      for (Registration registration : table) {
        if (registration != null) registration.retire(); // executor calls not started never start
      }
    }
    guard.close(); // from here on no other thread touches the handle
    Runnable task;
    while ((task = tasks.poll()) != null) runTask(task); // submitted before close: they run
    Native.destroy(handle);
    if (failure != null) report(-1, failure);
  }

  /** Dispatches the batch of one turn, then runs queued tasks. Loop thread; never throws. */
  private void onTurn(int count) {
    final long current = ++turn;
    inTurn = true;
    try {
      for (int i = 0; i < count; i++) {
        if (closeRequested.get()) break; // closed by a callback of this batch: the loop ends
        final int entry = batch.getInt(i << 2);
        final Registration[] table = (entry & 1) == Native.READ ? reads : writes;
        final int fd = entry >>> 1;
        if (fd >= table.length) continue;
        final Registration registration = table[fd];
        if (registration == null || registration.sinceTurn == current) continue;
        if (executor == null) {
          invoke(registration);
        } else {
          handOff(registration);
        }
      }
      runTasks();
    } catch (Throwable e) {
      report(-1, e);
    } finally {
      inTurn = false;
    }
  }

  /** Calls the callback; anything it throws goes to the error handler. Loop or executor thread. */
  void invoke(Registration registration) {
    try {
      registration.callback.run(registration.fd);
    } catch (Throwable e) {
      report(registration.fd, e);
    }
  }

  private void handOff(Registration registration) {
    // Suspend the interest so a still-ready fd does not make the loop spin while the callback runs.
    // The epoll entry stays, so the re-arm can tell if the fd was closed and reused meanwhile.
    int result = Native.suspend(handle, registration.fd, registration.flag);
    if (result < 0) {
      // Still armed: handing off now could start a second call next turn. Drop it instead.
      drop(registration);
      report(registration.fd, Errors.errno(operation("suspend", registration), registration.fd, result));
      return;
    }
    registration.beginFlight();
    flyingFor(registration.flag)[registration.fd] = registration;
    try {
      executor.execute(registration);
    } catch (Throwable e) {
      // Rejected: drop the registration rather than retry it every turn.
      registration.retire();
      registration.run(); // skips the call (retired) and ends the flight
      drop(registration);
      report(registration.fd, e);
    }
  }

  /** Loop thread: removes a registration from the table and from the native watcher. */
  private void drop(Registration registration) {
    registration.retire();
    Registration[] table = tableFor(registration.flag);
    if (table[registration.fd] == registration) table[registration.fd] = null;
    Native.unwatch(handle, registration.fd, registration.flag); // best effort: already failing
  }

  /** Executor thread: an executor call has claimed its registration and is about to run it. */
  void callbackStarted() {
    callbacksRunning.incrementAndGet();
  }

  /** Executor thread, after a call ended or was skipped: lets the loop re-arm the (fd, flag). */
  void flightEnded(Registration registration, boolean started) {
    if (started) {
      callbacksRunning.decrementAndGet();
      // Only close() waits for this, and it sets closeRequested before it reads the count.
      if (closeRequested.get()) {
        callbacksLock.lock();
        try {
          callbacksIdle.signalAll();
        } finally {
          callbacksLock.unlock();
        }
      }
    }
    if (closeRequested.get()) return;
    try {
      submit(() -> landed(registration));
    } catch (IllegalStateException closing) {
      // closed meanwhile: nothing to re-arm
    }
  }

  /** Loop thread: the flight of {@code registration} is over; arm whoever now owns its (fd, flag). */
  private void landed(Registration registration) {
    Registration[] flying = flyingFor(registration.flag);
    if (flying[registration.fd] == registration) flying[registration.fd] = null;
    Registration current = tableFor(registration.flag)[registration.fd];
    if (current == null) return; // unwatched meanwhile
    if (current == registration ? current.isRetired() : !current.armDeferred) return;
    current.armDeferred = false;
    int result = Native.resume(handle, current.fd, current.flag);
    if (result < 0) {
      // ENOENT: the fd was closed (maybe reused by another file) during the call: drop it.
      tableFor(current.flag)[current.fd] = null;
      current.retire();
      report(current.fd, Errors.errno(operation("re-arm", current), current.fd, result));
    }
  }

  private void runTasks() {
    int budget = MAX_TASKS_PER_TURN;
    while (tasksPending.getAndSet(false)) {
      Runnable task;
      while ((task = tasks.poll()) != null) {
        runTask(task);
        if (--budget == 0) {
          tasksPending.set(true);
          Native.wake(handle); // from the loop thread: no syscall, the next turn polls
          return;
        }
      }
    }
  }

  private void runTask(Runnable task) {
    try {
      task.run();
    } catch (Throwable e) {
      report(-1, e);
    }
  }

  // ---- any thread ----

  /**
   * Whether the calling thread is the loop thread. Any thread.
   *
   * @return true on the loop thread
   */
  public boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /**
   * Whether close has been requested. Any thread.
   *
   * @return true once closing
   */
  public boolean isClosed() {
    return closeRequested.get();
  }

  /**
   * Queues a task for the loop thread. Any thread.
   *
   * @throws IllegalStateException if the watcher is closed
   */
  public void submit(Runnable task) {
    if (closeRequested.get() || !guard.acquire()) throw closed();
    try {
      tasks.offer(task);
      // On the loop thread inside a turn, the drain at the end of the turn picks it up.
      if (!tasksPending.getAndSet(true) && !(inLoop() && inTurn)) Native.wake(handle);
    } finally {
      guard.release();
    }
  }

  /**
   * Registers {@code callback} for (fd, flag), replacing the current one, which is not running
   * when this returns (unless the caller is that callback). Any thread.
   *
   * @throws IOException if epoll refuses the fd
   * @throws IllegalStateException if closed
   */
  public void watch(int fd, int flag, WatchCallback callback) throws IOException {
    Registration replaced = call(() -> watchOnLoop(fd, flag, callback));
    if (replaced != null) replaced.awaitIdle();
  }

  /**
   * Removes the registration for (fd, flag), if any; when this returns its callback is not running
   * (unless the caller is that callback, or the loop thread) and will never be called again. Any
   * thread.
   *
   * @throws IOException if epoll fails for a reason other than a closed fd
   * @throws IllegalStateException if closed
   */
  public void unwatch(int fd, int flag) throws IOException {
    Registration removed = call(() -> unwatchOnLoop(fd, flag));
    if (removed != null) removed.awaitIdle();
  }

  /**
   * Removes every registration, synchronously as {@link #unwatch}. Any thread.
   *
   * @throws IOException if epoll fails for a reason other than a closed fd
   * @throws IllegalStateException if closed
   */
  public void unwatchAll() throws IOException {
    for (Registration removed : call(this::unwatchAllOnLoop)) removed.awaitIdle();
  }

  /**
   * Stops the loop, waits for it to end and for executor callbacks in flight (other than the
   * caller's own), and frees the native watcher. Idempotent. From the loop thread it only requests
   * the stop: the loop ends once the current callback returns.
   */
  public void close() {
    if (closeRequested.compareAndSet(false, true) && guard.acquire()) {
      try {
        Native.stop(handle);
      } finally {
        guard.release();
      }
    }
    if (inLoop()) return;
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    // A callback calling close cannot end while it waits here: do not wait for it, nor for any
    // other callback waiting here (two callbacks closing at once would otherwise wait for each
    // other forever).
    int own = RUNNING_CALLBACK_OF.get() == this ? 1 : 0;
    callbacksLock.lock();
    try {
      callbacksBlocked += own;
      callbacksIdle.signalAll();
      try {
        while (callbacksRunning.get() > callbacksBlocked) callbacksIdle.awaitUninterruptibly();
      } finally {
        callbacksBlocked -= own;
      }
    } finally {
      callbacksLock.unlock();
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  // ---- loop-thread halves of the operations ----

  private Registration watchOnLoop(int fd, int flag, WatchCallback callback) throws IOException {
    int result = Native.watch(handle, fd, flag);
    if (result < 0) throw Errors.errno("watch(" + FLAG_NAMES[flag] + ")", fd, result);
    Registration[] table = tableFor(flag);
    if (fd >= table.length) table = grow(flag, fd);
    Registration replaced = table[fd];
    Registration created = new Registration(this, fd, flag, callback, turn);
    table[fd] = created;
    if (replaced != null) replaced.retire();
    if (flyingFor(flag)[fd] != null) {
      // A call for this (fd, flag) is still running (of the replaced registration, or of one
      // unwatched before): stay suspended until it ends; landed() arms this one then.
      created.armDeferred = true;
      int suspended = Native.suspend(handle, fd, flag);
      if (suspended < 0) {
        drop(created); // armed while its predecessor runs: not allowed, so not registered
        throw Errors.errno("watch(" + FLAG_NAMES[flag] + ")", fd, suspended);
      }
    }
    return replaced;
  }

  private Registration unwatchOnLoop(int fd, int flag) throws IOException {
    Registration[] table = tableFor(flag);
    if (fd >= table.length || table[fd] == null) return null;
    Registration removed = table[fd];
    table[fd] = null;
    removed.retire();
    int result = Native.unwatch(handle, fd, flag);
    if (result < 0) throw Errors.errno("unwatch(" + FLAG_NAMES[flag] + ")", fd, result);
    return removed;
  }

  private List<Registration> unwatchAllOnLoop() throws IOException {
    List<Registration> removed = new ArrayList<>();
    for (Registration[] table : new Registration[][] {reads, writes}) {
      for (Registration registration : table) {
        if (registration != null) {
          registration.retire();
          removed.add(registration);
        }
      }
      Arrays.fill(table, null);
    }
    int result = Native.unwatchAll(handle);
    if (result < 0) throw Errors.errno("unwatchAll", -1, result);
    return removed;
  }

  // ---- helpers ----

  /** An operation that runs on the loop thread. */
  @FunctionalInterface
  private interface LoopCall<T> {
    T run() throws IOException;
  }

  /** Runs {@code operation} on the loop thread and waits for it, rethrowing what it threw. */
  private <T> T call(LoopCall<T> operation) throws IOException {
    if (inLoop()) {
      ensureOpen();
      return operation.run();
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    submit(
        () -> {
          try {
            ensureOpen();
            result.complete(operation.run());
          } catch (Throwable e) {
            result.completeExceptionally(e);
          }
        });
    boolean interrupted = false;
    try {
      for (; ; ) {
        try {
          return result.get();
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof IOException io) throw io;
          if (cause instanceof RuntimeException runtime) throw runtime;
          if (cause instanceof Error error) throw error;
          throw new IllegalStateException(cause);
        }
      }
    } finally {
      if (interrupted) Thread.currentThread().interrupt();
    }
  }

  private void ensureOpen() {
    if (closeRequested.get()) throw closed();
  }

  private static IllegalStateException closed() {
    return new IllegalStateException("EventWatcher is closed");
  }

  private Registration[] tableFor(int flag) {
    return flag == Native.READ ? reads : writes;
  }

  private Registration[] grow(int flag, int fd) {
    int size = Integer.highestOneBit(fd) << 1; // next power of two above fd
    Registration[] grown = Arrays.copyOf(tableFor(flag), size);
    if (flag == Native.READ) {
      reads = grown;
      flyingReads = Arrays.copyOf(flyingReads, size);
    } else {
      writes = grown;
      flyingWrites = Arrays.copyOf(flyingWrites, size);
    }
    return grown;
  }

  private Registration[] flyingFor(int flag) {
    return flag == Native.READ ? flyingReads : flyingWrites;
  }

  /**
   * Runs {@code wait} (an executor callback of this reactor waiting for another call) counted as
   * blocked, so that a close() from that other call does not wait for this one: each would wait
   * for the other forever.
   */
  void whileBlocked(Runnable wait) {
    boolean callback = RUNNING_CALLBACK_OF.get() == this;
    if (callback) {
      callbacksLock.lock();
      try {
        callbacksBlocked++;
        callbacksIdle.signalAll();
      } finally {
        callbacksLock.unlock();
      }
    }
    try {
      wait.run();
    } finally {
      if (callback) {
        callbacksLock.lock();
        try {
          callbacksBlocked--;
        } finally {
          callbacksLock.unlock();
        }
      }
    }
  }

  /** Marks the current thread as running an executor callback of this reactor. */
  void enterCallback() {
    RUNNING_CALLBACK_OF.set(this);
  }

  /** Clears {@link #enterCallback()}. */
  void exitCallback() {
    RUNNING_CALLBACK_OF.remove();
  }

  private static String operation(String verb, Registration registration) {
    return verb + "(" + FLAG_NAMES[registration.flag] + ")";
  }

  /** Hands an error to the error handler; a handler that throws is logged. Any thread. */
  void report(int fd, Throwable error) {
    try {
      errorHandler.onError(fd, error);
    } catch (Throwable handlerFailure) {
      handlerFailure.addSuppressed(error);
      LOGGER.log(Level.ERROR, "eventwatcher: error handler threw", handlerFailure);
    }
  }
}
