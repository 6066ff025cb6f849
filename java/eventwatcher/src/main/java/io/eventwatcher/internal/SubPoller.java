package io.eventwatcher.internal;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A virtual thread that harvests one flag's reported arms and unparks their parkers, so that
 * parking integrates with the virtual-thread scheduler, as the JDK's own sub-pollers do: after a
 * harvest that found arms it yields and harvests again (the threads it unparked run on its carrier
 * meanwhile, and the next readiness is often there by the time it polls again: a ping-pong between
 * virtual threads then needs no wakeup of another OS thread at all); only a harvest that finds
 * nothing re-enables the loop's one-shot report ({@code rearmArms}) and parks until the loop
 * thread, the master poller, sees arms pending and unparks it.
 *
 * <p>Starvation. A virtual thread needs a carrier, and every carrier may be taken for a while: by
 * CPU-bound virtual threads (they are not preempted) or by pinned ones. Platform threads parked on
 * the same arms must not wait for that, so a signal starts a watchdog on the loop's timers: every
 * {@link #STALL_NANOS} while the sub-poller has work, the loop checks that it harvested since the
 * last look, and if it did not, harvests for it (the kernel hands each report to one of the two).
 * The watchdog ends once the sub-poller has gone back to its park with no signal since, or a loop
 * harvest finds nothing and re-enables the report, so an idle watcher still makes no wakeups; a
 * busy one gets one check per period.
 *
 * <p>Threads. {@link #run} is the sub-poller's own thread; {@link #signal} and the watchdog are the
 * loop thread's. Invariant: the loop reports pending arms at most once per re-enable, and
 * re-enabling reports at once if arms are already pending, so an unpark is never lost between an
 * empty harvest and the park (a permit from an earlier signal only costs one more empty harvest).
 */
final class SubPoller implements Runnable {
  private static final int BATCH = 64;

  /** How long a signalled sub-poller may go without harvesting before the loop does it instead. */
  static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

  private static final Method START_VIRTUAL = startVirtualMethod();

  private final Reactor reactor;
  private final int flag;
  private final ByteBuffer batch =
      ByteBuffer.allocateDirect(BATCH * 2 * Integer.BYTES).order(ByteOrder.nativeOrder());
  private final ByteBuffer loopBatch =
      ByteBuffer.allocateDirect(BATCH * 2 * Integer.BYTES).order(ByteOrder.nativeOrder());
  private volatile Thread thread;
  // Written by the sub-poller only: its harvests so far, and whether it is parked after an empty
  // harvest (set before the park, cleared after).
  private volatile long harvests;
  private volatile boolean idle;
  // Loop thread only: the watchdog while one runs, the harvests at its last look, and whether the
  // loop signalled since.
  private ScheduledFuture<?> watchdog;
  private long harvestsSeen;
  private boolean signalledSinceLook;

  private SubPoller(Reactor reactor, int flag) {
    this.reactor = reactor;
    this.flag = flag;
  }

  /** Whether this JDK has virtual threads, which sub-pollers need. */
  static boolean available() {
    return START_VIRTUAL != null;
  }

  /**
   * The read and write sub-pollers of {@code reactor}, not started. Any thread.
   *
   * @return {read, write}, or null if this JDK has no virtual threads
   */
  static SubPoller[] create(Reactor reactor) {
    if (!available()) return null;
    return new SubPoller[] {
      new SubPoller(reactor, Native.READ), new SubPoller(reactor, Native.WRITE)
    };
  }

  /**
   * Hands the reactor's arms to {@code pollers} (from {@link #create}, already where the loop finds
   * them) and starts their threads. Any thread, before the first arm.
   *
   * @return false if arms exist already: the loop thread harvests them itself
   */
  static boolean start(Reactor reactor, SubPoller[] pollers) {
    if (reactor.watcher().handOffArms() != 0) return false;
    for (SubPoller poller : pollers) {
      try {
        poller.thread = (Thread) START_VIRTUAL.invoke(null, poller);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("could not start a virtual thread", e);
      }
    }
    return true;
  }

  /**
   * Loop thread: arms of this flag are pending; the loop will not report them again until rearm.
   */
  void signal() {
    Thread current = thread;
    if (current != null) LockSupport.unpark(current);
    signalledSinceLook = true;
    if (watchdog != null || reactor.isClosed()) return;
    harvestsSeen = harvests;
    try {
      watchdog =
          reactor.schedule((Runnable) this::look, STALL_NANOS, TimeUnit.NANOSECONDS, STALL_NANOS);
    } catch (RejectedExecutionException closing) {
      // the loop is ending: so is this sub-poller
    }
  }

  /** Loop thread, every STALL_NANOS while a watchdog runs: see the class comment. */
  private void look() {
    long done = harvests;
    if (done == harvestsSeen) {
      // No harvest since the last look: no carrier for the sub-poller, or it is idle. Harvest on
      // the loop; once nothing is left, re-enable the report (which comes at once if arms are
      // pending) and stop: the next signal starts the watchdog again.
      NativeWatcher watcher = reactor.watcher();
      int polled = watcher.harvestArms(flag, loopBatch, BATCH);
      deliver(reactor.arms(), flag, loopBatch, polled);
      if (polled == 0 && watcher.rearmArms(flag) == 0) stopWatchdog();
    } else if (idle && !signalledSinceLook) {
      stopWatchdog(); // back in its park with nothing pending
    }
    harvestsSeen = done;
    signalledSinceLook = false;
  }

  private void stopWatchdog() {
    watchdog.cancel(false);
    watchdog = null;
  }

  /** Unparks the parkers of the {@code polled} reports in {@code batch}. Either thread. */
  private static void deliver(ArmTable arms, int flag, ByteBuffer batch, int polled) {
    for (int i = 0; i < polled; i++) {
      FdParker parker = arms.get(batch.getInt(i << 3));
      if (parker != null) parker.reported(flag, batch.getInt((i << 3) + 4));
    }
  }

  @Override
  public void run() {
    ArmTable arms = reactor.arms();
    NativeWatcher watcher = reactor.watcher();
    int polled = 1; // harvest first: a report made before this thread existed is not lost
    while (!reactor.isClosed()) {
      if (polled == 0) {
        idle = true;
        LockSupport.park(this);
        idle = false;
      } else {
        Thread.yield();
      }
      polled = watcher.harvestArms(flag, batch, BATCH);
      if (polled == NativeWatcher.CLOSED) return; // the watcher is closing
      if (polled < 0) { // epoll_wait failed (EINTR): again after a back-off, never in a spin
        LockSupport.parkNanos(this, STALL_NANOS);
        polled = 1;
        continue;
      }
      harvests++; // this thread's field alone: a plain increment of the volatile is enough
      deliver(arms, flag, batch, polled);
      if (polled == 0) {
        int rearmed = watcher.rearmArms(flag);
        if (rearmed == NativeWatcher.CLOSED) return;
        if (rearmed < 0) {
          // epoll_ctl refused the re-enable (ENOMEM): without it the loop would never signal
          // again, so poll on a back-off until it succeeds.
          LockSupport.parkNanos(this, STALL_NANOS);
          polled = 1; // harvest again, then retry
        }
      }
    }
  }

  private static Method startVirtualMethod() {
    try {
      return Thread.class.getMethod("startVirtualThread", Runnable.class);
    } catch (NoSuchMethodException e) {
      return null; // JDK 17-20
    }
  }
}
