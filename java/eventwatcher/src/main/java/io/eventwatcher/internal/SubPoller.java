package io.eventwatcher.internal;

import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * <p>Threads. {@link #run} is the sub-poller's own thread; {@link #signal} is the loop thread's.
 * Invariant: the loop reports pending arms at most once per re-enable, and re-enabling reports at
 * once if arms are already pending, so an unpark is never lost between an empty harvest and the
 * park (a permit from an earlier signal only costs one more empty harvest).
 */
final class SubPoller implements Runnable {
  private static final int BATCH = 64;
  private static final Method START_VIRTUAL = startVirtualMethod();

  private final Reactor reactor;
  private final int flag;
  private final ByteBuffer batch =
      ByteBuffer.allocateDirect(BATCH * 2 * Integer.BYTES).order(ByteOrder.nativeOrder());
  private volatile Thread thread;

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
  }

  @Override
  public void run() {
    ArmTable arms = reactor.arms();
    NativeWatcher watcher = reactor.watcher();
    int polled = 1; // harvest first: a report made before this thread existed is not lost
    while (!reactor.isClosed()) {
      if (polled == 0) {
        LockSupport.park(this);
      } else {
        Thread.yield();
      }
      polled = watcher.harvestArms(flag, batch, BATCH);
      if (polled < 0) return; // the watcher is closing (CLOSED), or the epoll fd is broken
      for (int i = 0; i < polled; i++) {
        FdParker parker = arms.get(batch.getInt(i << 3));
        if (parker != null) parker.reported(flag, batch.getInt((i << 3) + 4));
      }
      if (polled == 0 && watcher.rearmArms(flag) < 0) return;
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
