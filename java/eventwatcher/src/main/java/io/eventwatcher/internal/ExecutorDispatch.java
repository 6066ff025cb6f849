package io.eventwatcher.internal;

import io.eventwatcher.ErrnoException;
import io.eventwatcher.WatchCallback;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Callbacks run on an executor, at most one call at a time per (fd, flag), with no spin on a
 * still-ready fd.
 *
 * <p>One-shot arming, as the JDK's {@code EPollPoller}: the native watcher is created one-shot, so
 * the kernel disarms a registration as it reports it, with no syscall on the loop thread. The loop
 * hands the registration to the executor and marks it in flight in its {@link Slot}; when the call
 * ends (or is skipped), its landing task re-arms it on the loop with one {@code epoll_ctl(MOD)}. If
 * the callback closed its fd meanwhile, that MOD answers ENOENT (even when the number names another
 * file by now): the registration is dropped and the error handler told, and the file that took the
 * number is never watched by mistake. A registration made while a call of the same (fd, flag) is in
 * flight is registered without being armed ({@link ExecutorRegistration#deferred}) and armed when
 * that call lands, so two calls for one (fd, flag) never overlap.
 *
 * <p>Waiting. {@link #awaitIdle} (unwatch, replacing watch) and {@link #awaitCalls} (close) wait on
 * one condition, signalled by a call's end only when someone waits. A call that waits there counts
 * as blocked, and close() does not wait for blocked calls: two callbacks closing the watcher at
 * once would otherwise wait for each other forever. Only executor mode pays for this lock.
 */
final class ExecutorDispatch implements Dispatch {
  /** The dispatch whose call the current thread is running, if any. */
  private static final ThreadLocal<ExecutorDispatch> CALLING = new ThreadLocal<>();

  private final Executor executor;
  private final Faults faults;
  private final Reactor reactor;
  private final AtomicInteger running = new AtomicInteger(); // calls started, not finished
  private final AtomicInteger waiters = new AtomicInteger();
  private final ReentrantLock lock =
      new ReentrantLock(); // not a monitor: never pins a virtual thread
  private final Condition changed = lock.newCondition();
  private int blocked; // calls of this dispatch waiting on `changed`; guarded by lock

  ExecutorDispatch(Executor executor, Faults faults, Reactor reactor) {
    this.executor = executor;
    this.faults = faults;
    this.reactor = reactor;
  }

  @Override
  public void dispatch(Registration registration) {
    assert reactor.inLoop() : "dispatch off the loop thread";
    ExecutorRegistration flying = (ExecutorRegistration) registration;
    Slot slot = reactor.table().slot(flying.fd);
    flying.queue();
    slot.setInFlight(flying.flag, flying);
    try {
      executor.execute(flying);
    } catch (Throwable rejected) {
      // Rejected (or the executor failed): drop the registration rather than retry every turn.
      slot.setInFlight(flying.flag, null);
      reactor.drop(flying);
      faults.report(flying.fd, rejected);
    }
  }

  @Override
  public Registration create(Slot slot, int fd, int flag, WatchCallback callback, long turn) {
    boolean deferred = slot != null && slot.inFlight(flag) != null;
    return new ExecutorRegistration(this, fd, flag, callback, turn, deferred);
  }

  @Override
  public boolean armsLater(Registration registration) {
    return ((ExecutorRegistration) registration).deferred;
  }

  @Override
  public void retired(Registration registration) {
    ((ExecutorRegistration) registration).retire();
  }

  /** Executor thread: runs the call unless retired meanwhile, then lands it on the loop. */
  void run(ExecutorRegistration registration) {
    if (registration.start()) {
      running.incrementAndGet();
      CALLING.set(this);
      try {
        registration.call(faults);
      } finally {
        CALLING.remove();
        registration.finish();
        running.decrementAndGet();
        if (waiters.get() > 0) signalChanged();
      }
    }
    reactor.submitIfOpen(registration.landing); // refused once closing: nothing to re-arm then
  }

  /** Loop thread: the flight of {@code landed} is over; arm whoever now owns its (fd, flag). */
  void landed(ExecutorRegistration landed) {
    assert reactor.inLoop() : "landing off the loop thread";
    Slot slot = reactor.table().slot(landed.fd);
    if (slot.inFlight(landed.flag) == landed) slot.setInFlight(landed.flag, null);
    Registration current = slot.get(landed.flag);
    if (current == landed) {
      if (!landed.isRetired()) rearm(landed);
    } else if (current instanceof ExecutorRegistration waiting && waiting.deferred) {
      waiting.deferred = false;
      rearm(waiting);
    }
  }

  private void rearm(ExecutorRegistration registration) {
    try {
      reactor.watcher().resume(registration.fd, registration.flag);
    } catch (ErrnoException closedMeanwhile) {
      reactor.drop(registration);
      faults.report(registration.fd, closedMeanwhile);
    }
  }

  @Override
  public void awaitIdle(Registration registration) {
    if (reactor.inLoop()) return;
    ExecutorRegistration retired = (ExecutorRegistration) registration;
    if (!retired.runningElsewhere()) return;
    lock.lock();
    waitingBegins();
    try {
      while (retired.runningElsewhere()) changed.awaitUninterruptibly();
    } finally {
      waitingEnds();
      lock.unlock();
    }
  }

  @Override
  public void awaitCalls() {
    lock.lock();
    waitingBegins();
    try {
      while (running.get() > blocked) changed.awaitUninterruptibly();
    } finally {
      waitingEnds();
      lock.unlock();
    }
  }

  @Override
  public boolean callerIsCallback() {
    return CALLING.get() == this;
  }

  // Under lock. A waiter registers before it reads the state it waits on, and a call's end
  // publishes its state before it reads `waiters`: both volatile, so one sees the other.
  private void waitingBegins() {
    waiters.incrementAndGet();
    if (CALLING.get() == this) {
      blocked++;
      changed.signalAll(); // a close() may be waiting for this very call
    }
  }

  private void waitingEnds() {
    if (CALLING.get() == this) blocked--;
    waiters.decrementAndGet();
  }

  private void signalChanged() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
