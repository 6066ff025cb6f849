package io.eventwatcher.internal;

import io.eventwatcher.ErrnoException;
import io.eventwatcher.ErrorHandler;
import io.eventwatcher.WatchCallback;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The loop thread of a watcher, and the operations that run on it. {@link
 * io.eventwatcher.EventWatcher} documents the contract; this class states how it is kept, with the
 * pieces it wires together: the {@link NativeWatcher} (epoll and the batch), the {@link FdTable} of
 * callbacks, the {@link TaskQueue}, the {@link Dispatch} strategy and {@link Faults}.
 *
 * <p>Threads. The table, {@code turn} and the native watcher's registrations belong to the loop
 * thread (asserted at each entry point), so dispatch takes no lock. Other threads change them by
 * handing the operation to the loop and waiting for it ({@link #call}), as the native core does.
 *
 * <p>A turn. One downcall: the native side waits (not at all if tasks are pending), records each
 * ready (fd, flag) in the batch, and returns how many; the loop then calls the current registration
 * of each entry and runs queued tasks. A registration made during turn N has {@code sinceTurn == N}
 * and ignores that turn's events, fetched before it existed; a replaced or removed registration is
 * no longer in the table, so events already fetched for it are dropped.
 *
 * <p>The loop never dies. Whatever a callback, task or error handler throws is reported through
 * {@link Faults} (which never throws) and the loop goes on; a failed epoll_wait is reported (the
 * 1st, 2nd, 4th... in a row) and retried after a back-off of up to a second. Only {@link #close}
 * ends it. The native watcher lives exactly as long as the loop thread, which frees it last.
 */
public final class Reactor {
  /** Tasks run per turn at most, so a task that keeps submitting tasks cannot starve I/O. */
  private static final int MAX_TASKS_PER_TURN = 1024;

  /** Timers fired per turn at most, for the same reason. */
  private static final int MAX_TIMERS_PER_TURN = 1024;

  private static final long MAX_BACK_OFF_NANOS = TimeUnit.SECONDS.toNanos(1);

  private final NativeWatcher watcher;
  private final TaskQueue tasks;
  private final FdTable table = new FdTable();
  private final ArmTable arms = new ArmTable();
  private volatile SubPoller[] subPollers; // null: the loop thread harvests arms itself
  private final Faults faults;
  private final Dispatch dispatch;
  private final Timers timers = new Timers(this);
  private final Thread thread;
  private final CountDownLatch terminated = new CountDownLatch(1);
  private volatile boolean closing;
  // Run once by finish(); added and removed by any thread (see addCloseHook for the handshake).
  private final Set<Runnable> closeHooks = ConcurrentHashMap.newKeySet();

  // Loop thread only.
  private long turn;
  private int failedTurns;

  /**
   * Creates the native watcher and starts the loop thread. Any thread.
   *
   * @param executor where callbacks run, or null for the loop thread
   * @throws IOException if epoll or the eventfd cannot be created
   */
  public Reactor(
      String threadName,
      boolean daemon,
      Executor executor,
      ErrorHandler errorHandler,
      int maxEvents)
      throws IOException {
    faults = new Faults(errorHandler);
    watcher = NativeWatcher.create(maxEvents, executor != null);
    tasks = new TaskQueue(watcher);
    dispatch =
        executor == null
            ? new InlineDispatch(faults)
            : new ExecutorDispatch(executor, faults, this);
    thread = new Thread(this::loop, threadName);
    thread.setDaemon(daemon);
    try {
      thread.start();
    } catch (Throwable e) {
      watcher.destroyUnstarted();
      throw e;
    }
  }

  // ---- the loop thread ----

  private void loop() {
    try {
      watcher.begin();
      while (!closing) {
        try {
          turnOnce();
        } catch (Throwable e) {
          faults.report(-1, e);
        }
      }
      finish();
    } finally {
      terminated.countDown();
    }
  }

  private void turnOnce() {
    int count = watcher.turn(timers.prepareWait(tasks.pending()));
    timers.awake();
    if (count < 0) {
      waitFailed(count);
      return;
    }
    failedTurns = 0;
    final long current = ++turn;
    for (int i = 0; i < count && !closing; i++) {
      int entry = watcher.entry(i);
      if (entry <= -3) { // arms of flag -3 - entry pending for its sub-poller
        subPollers[-3 - entry].signal();
        continue;
      }
      if (entry < 0) { // a one-shot arm: -1 - flag, then the token's halves
        FdParker parker = arms.get(watcher.entry(i + 1));
        if (parker != null) parker.reported(-1 - entry, watcher.entry(i + 2));
        i += 2;
        continue;
      }
      Registration registration = table.registration(entry >>> 1, entry & 1);
      if (registration != null && registration.sinceTurn != current)
        dispatch.dispatch(registration);
    }
    timers.runDue(MAX_TIMERS_PER_TURN);
    tasks.run(MAX_TASKS_PER_TURN, faults);
  }

  private void waitFailed(int negativeErrno) {
    failedTurns++;
    if ((failedTurns & (failedTurns - 1)) == 0) {
      faults.report(
          -1,
          Errno.exception("epoll_wait (failure " + failedTurns + " in a row)", -1, negativeErrno));
    }
    // close() unparks: the back-off never delays it.
    LockSupport.parkNanos(
        this,
        Math.min(
            TimeUnit.MILLISECONDS.toNanos(1L << Math.min(failedTurns, 10)), MAX_BACK_OFF_NANOS));
  }

  /** Ends the loop: calls not started never start, tasks submitted before close run, then frees. */
  private void finish() {
    for (int fd = 0; fd < table.capacity(); fd++) {
      Slot slot = table.slot(fd);
      if (slot == null) continue;
      for (int flag = Native.READ; flag <= Native.WRITE; flag++) {
        Registration registration = slot.get(flag);
        if (registration != null) dispatch.retired(registration);
      }
    }
    arms.forEach(FdParker::watcherClosed); // parked threads wake and find the watcher closed
    runCloseHooks();
    SubPoller[] pollers = subPollers;
    if (pollers != null) for (SubPoller poller : pollers) poller.signal(); // they see closing, end
    watcher.closeGuard(); // from here on no other thread touches the handle or queues a task
    timers.abandonAll(); // delayed and periodic tasks never run after close
    tasks.drain(faults);
    watcher.destroy();
  }

  /** Loop thread, closing: runs each close hook once; what one throws goes to the handler. */
  private void runCloseHooks() {
    for (Runnable hook : closeHooks) {
      if (!closeHooks.remove(hook)) continue; // removed meanwhile by its owner
      try {
        hook.run();
      } catch (Throwable e) {
        faults.report(-1, e);
      }
    }
  }

  // ---- any thread ----

  /**
   * Adds {@code hook}, to run once on the loop thread when the watcher closes, after the parked
   * threads are woken and before the native watcher is freed; watches are retired by then. Any
   * thread.
   *
   * @return false if the watcher is closing already: the hook is not added and will not run
   */
  public boolean addCloseHook(Runnable hook) {
    closeHooks.add(hook);
    // finish() reads the set after closing is set: if closing reads false here, it sees the hook;
    // if true, whichever of this remove and finish's removes the hook owns it.
    return !(closing && closeHooks.remove(hook));
  }

  /**
   * The close hooks waiting to run, for tests: owners must remove theirs when done. Any thread.
   *
   * @return the number of hooks added and neither removed nor run
   */
  public int closeHookCount() {
    return closeHooks.size();
  }

  /** Removes a hook added with {@link #addCloseHook}, if it has not run. Any thread. */
  public void removeCloseHook(Runnable hook) {
    closeHooks.remove(hook);
  }

  /**
   * Whether the calling thread runs one of this watcher's callbacks on the executor (a close would
   * wait for that call). Any thread.
   *
   * @return true inside an executor callback of this watcher
   */
  public boolean inCallbackOffLoop() {
    return dispatch.callerIsCallback();
  }

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
    return closing;
  }

  /**
   * Queues a task for the loop thread. Any thread.
   *
   * @throws RejectedExecutionException if the watcher is closed
   */
  public void submit(Runnable task) {
    if (!submitIfOpen(task)) throw rejected();
  }

  /** Queues a task unless the watcher is closing; returns whether it did. Any thread. */
  boolean submitIfOpen(Runnable task) {
    return !closing && tasks.submit(task, inLoop());
  }

  /**
   * Registers {@code callback} for (fd, flag), replacing the current one, which is not running when
   * this returns (unless the caller is that callback, or the loop thread). Any thread.
   *
   * @throws IOException if epoll refuses the fd
   * @throws IllegalStateException if closed
   */
  public void watch(int fd, int flag, WatchCallback callback) throws IOException {
    if (inLoop()) {
      ensureOpen();
      watchOnLoop(fd, flag, callback); // the loop thread never waits for a replaced call
      return;
    }
    Registration replaced = call(() -> watchOnLoop(fd, flag, callback));
    if (replaced != null) dispatch.awaitIdle(replaced);
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
    if (inLoop()) {
      ensureOpen();
      unwatchOnLoop(fd, flag);
      return;
    }
    Registration removed = call(() -> unwatchOnLoop(fd, flag));
    if (removed != null) dispatch.awaitIdle(removed);
  }

  /**
   * Removes every registration, synchronously as {@link #unwatch}. Any thread.
   *
   * @throws IOException if epoll fails for a reason other than a closed fd
   * @throws IllegalStateException if closed
   */
  public void unwatchAll() throws IOException {
    for (Registration removed : call(this::unwatchAllOnLoop)) dispatch.awaitIdle(removed);
  }

  /**
   * Schedules {@code task} on the loop thread. Any thread.
   *
   * @throws RejectedExecutionException if the watcher is closing
   */
  public <V> ScheduledFuture<V> schedule(Object task, long delay, TimeUnit unit, long period) {
    ScheduledTask<V> scheduled = timers.task(task, delay, unit, period);
    if (!timers.schedule(scheduled)) throw rejected();
    return scheduled;
  }

  /** A future for {@code task} (a Runnable or Callable) to run through {@link #submit}. */
  public <V> RunnableFuture<V> newTask(Object task) {
    return timers.immediate(task);
  }

  /** Loop thread: the number of delayed and periodic tasks in the loop's queue. */
  public int pendingTimers() {
    assert inLoop() : "pendingTimers off the loop thread";
    return timers.pending();
  }

  /**
   * Arms a one-shot interest in (fd, flag) reported with {@code token}: one epoll_ctl on the
   * calling thread, which does not wait for the loop. Any thread.
   *
   * @throws IOException an {@link ErrnoException} if epoll refuses the fd, or if the watcher is
   *     closed
   */
  void arm(int fd, int flag, long token, String flagName) throws IOException {
    int result = watcher.arm(fd, flag, token);
    if (result == NativeWatcher.CLOSED) throw FdParker.watcherClosed(fd);
    if (result < 0) throw Errno.exception("epoll_ctl(arm " + flagName + ")", fd, result);
  }

  /**
   * Removes (fd, flag)'s arm; nothing to do once the watcher is closed (its epoll is gone). Any
   * thread.
   *
   * @throws ErrnoException if epoll fails to remove it
   */
  void disarm(int fd, int flag, String flagName) throws ErrnoException {
    int result = watcher.disarm(fd, flag);
    if (result < 0 && result != NativeWatcher.CLOSED) {
      throw Errno.exception("epoll_ctl(disarm " + flagName + ")", fd, result);
    }
  }

  ArmTable arms() {
    return arms;
  }

  /**
   * Hands this loop's reported arms to two virtual-thread sub-pollers (see {@link SubPoller}), if
   * this JDK has virtual threads. Any thread, before the first arm; later, or on JDK 17, the loop
   * thread keeps harvesting them itself.
   */
  public void pollArmsOnVirtualThreads() {
    SubPoller[] pollers = SubPoller.create(this);
    if (pollers == null) return;
    subPollers = pollers; // before the hand-off: the loop's first signal finds them
    if (!SubPoller.start(this, pollers)) subPollers = null;
  }

  /** Wakes the loop unless it is closing. Any thread. */
  void wakeIfOpen() {
    if (!closing) wake();
  }

  private void wake() {
    if (watcher.enter()) {
      try {
        watcher.wakeEntered();
      } finally {
        watcher.exit();
      }
    }
  }

  /**
   * Begins closing without waiting: the loop ends after the current turn and the tasks queued
   * before. Idempotent; any thread.
   */
  public void shutdown() {
    if (closing) return;
    closing = true;
    wake();
    LockSupport.unpark(thread); // in case it backs off after a failed wait
  }

  /**
   * As {@link #shutdown()}, and takes the queued tasks that have not started out of the queue. Any
   * thread.
   *
   * @return the tasks submitted by users that will never run, in submission order
   */
  public List<Runnable> shutdownNow() {
    shutdown();
    return tasks.removeUserTasks();
  }

  /** Whether the loop thread has ended. Any thread. */
  public boolean isTerminated() {
    return terminated.getCount() == 0;
  }

  /**
   * Waits up to {@code timeout} for the loop thread to end. Any thread but the loop's.
   *
   * @throws IllegalStateException on the loop thread, which would wait for itself
   */
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    if (inLoop() && !isTerminated()) {
      throw new IllegalStateException("awaitTermination on the loop thread would wait forever");
    }
    return terminated.await(timeout, unit);
  }

  /**
   * Stops the loop, waits for it to end and for executor callbacks in flight (other than the
   * caller's own), and frees the native watcher. Idempotent. From the loop thread it only requests
   * the stop: the loop ends once the current callback returns.
   */
  public void close() {
    shutdown();
    if (inLoop()) return;
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    dispatch.awaitCalls();
    if (interrupted) Thread.currentThread().interrupt();
  }

  // ---- loop-thread halves of the operations, and what the dispatch strategies use ----

  private Registration watchOnLoop(int fd, int flag, WatchCallback callback) throws ErrnoException {
    assert inLoop() : "watchOnLoop off the loop thread";
    Registration created = dispatch.create(table.slot(fd), fd, flag, callback, turn);
    watcher.watch(fd, flag, dispatch.armsLater(created));
    Registration replaced = table.slotFor(fd).set(flag, created); // grown only for accepted fds
    if (replaced != null) dispatch.retired(replaced);
    return replaced;
  }

  private Registration unwatchOnLoop(int fd, int flag) throws ErrnoException {
    assert inLoop() : "unwatchOnLoop off the loop thread";
    Slot slot = table.slot(fd);
    Registration removed = slot == null ? null : slot.set(flag, null);
    if (removed == null) return null;
    dispatch.retired(removed);
    watcher.unwatch(fd, flag); // throws only after the removal
    return removed;
  }

  private List<Registration> unwatchAllOnLoop() throws ErrnoException {
    assert inLoop() : "unwatchAllOnLoop off the loop thread";
    List<Registration> removed = new ArrayList<>();
    for (int fd = 0; fd < table.capacity(); fd++) {
      Slot slot = table.slot(fd);
      if (slot == null) continue;
      for (int flag = Native.READ; flag <= Native.WRITE; flag++) {
        Registration registration = slot.set(flag, null);
        if (registration == null) continue;
        dispatch.retired(registration);
        removed.add(registration);
      }
    }
    watcher.unwatchAll();
    return removed;
  }

  /** Loop thread: removes a current registration after a failure that is being reported. */
  void drop(Registration registration) {
    assert inLoop() : "drop off the loop thread";
    Slot slot = table.slot(registration.fd);
    if (slot.get(registration.flag) == registration) slot.set(registration.flag, null);
    dispatch.retired(registration);
    try {
      watcher.unwatch(registration.fd, registration.flag);
    } catch (ErrnoException secondary) {
      // Removed all the same; the failure that caused the drop is the one reported.
    }
  }

  FdTable table() {
    assert inLoop() : "table off the loop thread";
    return table;
  }

  NativeWatcher watcher() {
    return watcher;
  }

  /**
   * Runs {@code operation} on the loop thread and waits for it, rethrowing what it threw. Another
   * thread than the loop's.
   */
  private <T> T call(LoopCall.Operation<T> operation) throws IOException {
    if (inLoop()) {
      ensureOpen();
      return operation.run();
    }
    LoopCall<T> call = new LoopCall<>(operation, this);
    if (!submitIfOpen(call)) throw closed();
    return call.await();
  }

  /** Throws {@link IllegalStateException} once closing. Any thread. */
  void ensureOpen() {
    if (closing) throw closed();
  }

  private static RejectedExecutionException rejected() {
    return new RejectedExecutionException("EventWatcher is closed");
  }

  private static IllegalStateException closed() {
    return new IllegalStateException("EventWatcher is closed");
  }
}
