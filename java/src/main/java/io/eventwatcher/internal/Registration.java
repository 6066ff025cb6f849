package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;

/**
 * One (fd, flag) registration of a {@link Reactor}. Its identity matters: the reactor's table holds
 * the current registration of each (fd, flag), and a replaced or removed one is "retired" and never
 * called again.
 *
 * <p>Executor mode: the registration is itself the task handed to the executor, so dispatch
 * allocates nothing. {@code inFlight} is set on the loop thread before the hand-off and cleared
 * when the callback returns; while set, the loop has suspended the fd's interest so a still-ready
 * fd does not spin, and no second call starts. {@link #awaitIdle()} lets unwatch wait for the call.
 */
final class Registration implements Runnable {
  final int fd;
  final int flag;
  final WatchCallback callback;
  /** The loop turn during which it was made; that turn's events are older and skip it. */
  final long sinceTurn;

  private final Reactor reactor;
  /** Set on the loop thread when unwatched or replaced; a hand-off not yet started then skips. */
  private volatile boolean retired;
  // Guarded by this.
  private boolean inFlight;
  private Thread runner;

  Registration(Reactor reactor, int fd, int flag, WatchCallback callback, long sinceTurn) {
    this.reactor = reactor;
    this.fd = fd;
    this.flag = flag;
    this.callback = callback;
    this.sinceTurn = sinceTurn;
  }

  /** Loop thread: marks the hand-off to the executor. */
  synchronized void beginFlight() {
    inFlight = true;
  }

  /** Executor thread: calls the callback, then lets the loop re-arm the fd. */
  @Override
  public void run() {
    synchronized (this) {
      runner = Thread.currentThread();
    }
    reactor.enterCallback();
    try {
      if (!retired) reactor.invoke(this);
    } finally {
      reactor.exitCallback();
      endFlight();
      reactor.resume(this);
    }
  }

  /** Loop thread: removed from the table; calls handed off but not yet started are skipped. */
  void retire() {
    retired = true;
  }

  /** Any thread: the call handed off is over (or never started). */
  synchronized void endFlight() {
    inFlight = false;
    runner = null;
    notifyAll();
  }

  /**
   * Any thread: waits until no call of this registration runs, unless the caller is that call
   * (a callback unwatching itself) or the loop thread (which must not block on executor work).
   */
  void awaitIdle() {
    if (reactor.inLoop()) return;
    boolean interrupted = false;
    synchronized (this) {
      while (inFlight && runner != Thread.currentThread()) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
  }

  synchronized boolean isRunBy(Thread thread) {
    return inFlight && runner == thread;
  }

  synchronized boolean isInFlight() {
    return inFlight;
  }
}
