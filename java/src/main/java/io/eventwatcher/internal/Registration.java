package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One (fd, flag) registration of a {@link Reactor}. Its identity matters: the reactor's table holds
 * the current registration of each (fd, flag), and a replaced or removed one is "retired" and never
 * called again.
 *
 * <p>Executor mode: the registration is itself the task handed to the executor, so dispatch
 * allocates nothing. A hand-off is "in flight" from the loop thread's hand-off until the call ends
 * (or is skipped); while it is, the loop keeps the (fd, flag) interest suspended, so a still-ready
 * fd does not spin and no second call starts. A call that has not started when the registration is
 * retired never starts: {@link #run()} claims the call under this object's lock and skips it if
 * retired. So waiting (unwatch, close) is only ever for a call that is running, never for one
 * queued behind the waiter in a bounded executor.
 *
 * <p>The state is guarded by a {@link ReentrantLock}, not a monitor, so that a virtual thread
 * waiting here (a virtual-thread executor's callback unwatching another) does not pin its carrier.
 */
final class Registration implements Runnable {
  final int fd;
  final int flag;
  final WatchCallback callback;
  /** The loop turn during which it was made; that turn's events are older and skip it. */
  final long sinceTurn;

  /**
   * Loop thread only: this registration's interest is not armed yet, because a call of an earlier
   * registration of the same (fd, flag) was still in flight when it was made.
   */
  boolean armDeferred;

  private final Reactor reactor;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  // Guarded by lock.
  private boolean retired;
  private boolean inFlight;
  private Thread runner; // the thread running the call, once it has started

  Registration(Reactor reactor, int fd, int flag, WatchCallback callback, long sinceTurn) {
    this.reactor = reactor;
    this.fd = fd;
    this.flag = flag;
    this.callback = callback;
    this.sinceTurn = sinceTurn;
  }

  /** Loop thread: marks the hand-off to the executor. */
  void beginFlight() {
    lock.lock();
    try {
      inFlight = true;
    } finally {
      lock.unlock();
    }
  }

  /** Executor thread: runs the call unless retired meanwhile; then lets the loop move on. */
  @Override
  public void run() {
    boolean started = claim();
    if (started) {
      reactor.enterCallback();
      try {
        reactor.invoke(this);
      } finally {
        reactor.exitCallback();
      }
    }
    endFlight();
    reactor.flightEnded(this, started);
  }

  private boolean claim() {
    lock.lock();
    try {
      if (retired) return false;
      runner = Thread.currentThread();
      reactor.callbackStarted();
      return true;
    } finally {
      lock.unlock();
    }
  }

  private void endFlight() {
    lock.lock();
    try {
      inFlight = false;
      runner = null;
      idle.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Loop thread: removed from the table (unwatched, replaced, closed); a call not started skips. */
  void retire() {
    lock.lock();
    try {
      retired = true;
    } finally {
      lock.unlock();
    }
  }

  boolean isRetired() {
    lock.lock();
    try {
      return retired;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Any thread, after {@link #retire()}: waits until a running call of this registration has
   * returned, unless the caller is that call (a callback unwatching itself) or the loop thread
   * (which must not block on executor work). A call not started yet needs no wait: it will skip.
   */
  void awaitIdle() {
    if (reactor.inLoop() || !mustWait()) return;
    reactor.whileBlocked(this::waitUntilIdle);
  }

  private boolean mustWait() {
    lock.lock();
    try {
      return mustWaitLocked();
    } finally {
      lock.unlock();
    }
  }

  private boolean mustWaitLocked() {
    return inFlight && runner != null && runner != Thread.currentThread();
  }

  private void waitUntilIdle() {
    lock.lock();
    try {
      while (mustWaitLocked()) idle.awaitUninterruptibly();
    } finally {
      lock.unlock();
    }
  }
}
