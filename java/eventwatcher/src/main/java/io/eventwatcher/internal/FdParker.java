package io.eventwatcher.internal;

import java.io.IOException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Parks threads until one fd is ready, the way the JDK parks virtual threads on its sockets: the
 * parking thread arms a one-shot interest with one {@code epoll_ctl} of its own (no hand-off to the
 * loop thread, no wakeup), parks with {@link LockSupport#park}, which unmounts a virtual thread
 * from its carrier, and the loop thread unparks it when epoll reports the arm. The fd itself
 * belongs to the caller ({@code io.eventwatcher.FdChannel}), which does the I/O and retries it
 * after each park.
 *
 * <p>Threads. At most one thread waits per flag at a time (the channel's read and write locks see
 * to it); {@link #reported}, {@link #watcherClosed} are the loop thread's; {@link #wakeAll} and
 * {@link #retire} any thread's.
 *
 * <p>Tokens. An arm is reported with {@code fd | (generation << 8 | sequence) << 32}: the
 * generation (24 bits) tells this parker from an earlier one of the same fd number, the sequence (8
 * bits) tells this park from the previous one of the same flag, so a report that arrives late
 * (fetched before the fd was re-armed, disarmed or closed) never wakes a later park: a park returns
 * {@code true} only for a report of its own arm.
 *
 * <p>Invariant: a waiter publishes itself (sequence, then thread) before it arms, and checks {@link
 * #stopped} and the watcher's closing after; whoever stops it sets the flag before looking for the
 * waiter. Both sides use volatile accesses, so one of them sees the other: no park is missed.
 */
public final class FdParker {
  private static final AtomicInteger GENERATIONS = new AtomicInteger();
  private static final String[] FLAG_NAMES = {"READ", "WRITE"};

  /** The fd parked on. */
  final int fd;

  private final Reactor reactor;
  private final int generation = GENERATIONS.incrementAndGet() & 0xFF_FFFF;
  private final Direction[] directions = {new Direction(), new Direction()};
  private volatile boolean stopped;

  /** One flag's waiter. */
  private static final class Direction {
    // The current park's 8-bit sequence << 1, | 1 once its own arm is reported. One word, set by
    // compare-and-set against the sequence, so a late report of an earlier park (one that timed
    // out) can never mark a later one.
    final AtomicInteger state = new AtomicInteger();
    volatile Thread waiter;
    volatile boolean armedOnce; // the kernel may hold an entry: disarm at retire
  }

  /**
   * A parker for {@code fd} on {@code reactor}'s loop. Any thread.
   *
   * @throws IllegalArgumentException if the fd already has a parker there
   */
  public FdParker(Reactor reactor, int fd) {
    this.reactor = reactor;
    this.fd = fd;
    reactor.arms().add(this);
  }

  /**
   * Parks the calling thread until the fd is reported ready for {@code flag} (readiness, hang-up or
   * error), {@code timeoutNanos} pass (negative: no limit; the loop's timers end the park), {@link
   * #wakeAll} is called, or the thread is interrupted. Spurious returns are possible only as {@code
   * false}. Any thread but the loop's; one at a time per flag.
   *
   * @return true if the fd was reported ready for this park's own arm
   * @throws IOException if epoll refuses the fd ({@link io.eventwatcher.ErrnoException}, EPERM for
   *     a regular file) or the watcher is closed
   * @throws IllegalStateException on the loop thread, which would wait for itself
   */
  public boolean await(int flag, long timeoutNanos) throws IOException {
    Direction direction = directions[flag];
    int sequence = ((direction.state.get() >>> 1) + 1) & 0xFF;
    direction.state.set(sequence << 1); // not reported
    direction.waiter = Thread.currentThread();
    try {
      if (reactor.isClosed()) throw watcherClosed(fd);
      if (reactor.inLoop()) {
        // Only this thread could deliver the report: the park would never end.
        throw new IllegalStateException(
            "fd " + fd + ": cannot wait for " + FLAG_NAMES[flag] + " on the watcher's loop thread");
      }
      if (stopped) return false;
      direction.armedOnce = true;
      reactor.arm(fd, flag, token(sequence), FLAG_NAMES[flag]);
      return park(direction, timeoutNanos);
    } finally {
      direction.waiter = null;
    }
  }

  private boolean park(Direction direction, long timeoutNanos) throws IOException {
    long deadline = System.nanoTime() + timeoutNanos;
    ScheduledFuture<?> timer = timeoutNanos < 0 ? null : unparkAt(timeoutNanos);
    try {
      Thread self = Thread.currentThread();
      while (!isReported(direction) && !stopped && !self.isInterrupted()) {
        if (reactor.isClosed()) throw watcherClosed(fd);
        if (timer != null && deadline - System.nanoTime() <= 0) break;
        LockSupport.park(this);
      }
      return isReported(direction);
    } finally {
      if (timer != null) timer.cancel(false);
    }
  }

  private ScheduledFuture<?> unparkAt(long timeoutNanos) throws IOException {
    Thread self = Thread.currentThread();
    try {
      return reactor.schedule(
          (Runnable) () -> LockSupport.unpark(self), timeoutNanos, TimeUnit.NANOSECONDS, 0);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      throw watcherClosed(fd);
    }
  }

  private static boolean isReported(Direction direction) {
    return (direction.state.get() & 1) != 0;
  }

  private long token(int sequence) {
    return (long) (generation << 8 | sequence) << 32 | (fd & 0xFFFF_FFFFL);
  }

  /** Loop thread: an arm of {@code flag} with {@code tag} (the token's high half) was reported. */
  void reported(int flag, int tag) {
    if (tag >>> 8 != generation) return; // an earlier parker of this fd number
    Direction direction = directions[flag];
    int current = (tag & 0xFF) << 1;
    if (!direction.state.compareAndSet(current, current | 1)) return; // an earlier park
    Thread waiter = direction.waiter;
    if (waiter != null) LockSupport.unpark(waiter);
  }

  /** Loop thread, closing: wakes the waiters, whose park then throws. */
  void watcherClosed() {
    wakeAll();
  }

  /** Wakes every waiter for good: their parks return false, later ones at once. Any thread. */
  public void wakeAll() {
    stopped = true;
    for (Direction direction : directions) {
      Thread waiter = direction.waiter;
      if (waiter != null) LockSupport.unpark(waiter);
    }
  }

  /**
   * Removes the parker and its kernel entries, before the caller closes the fd (so that a new file
   * taking the number is never watched by mistake). Call once, with no thread waiting. Any thread.
   *
   * @throws IOException if epoll fails to remove an entry (the parker is removed anyway)
   */
  public void retire() throws IOException {
    wakeAll();
    IOException failure = null;
    for (int flag = Native.READ; flag <= Native.WRITE; flag++) {
      if (!directions[flag].armedOnce) continue;
      try {
        reactor.disarm(fd, flag, FLAG_NAMES[flag]);
      } catch (IOException e) {
        failure = e;
      }
    }
    reactor.arms().remove(this);
    if (failure != null) throw failure;
  }

  static IOException watcherClosed(int fd) {
    return new IOException("the EventWatcher that fd " + fd + " parks on is closed");
  }
}
