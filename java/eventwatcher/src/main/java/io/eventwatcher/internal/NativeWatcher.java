package io.eventwatcher.internal;

import io.eventwatcher.ErrnoException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The native half of a watcher: the core's epoll instance, wakeup eventfd and registrations, with
 * the batch buffer each turn fills, and the one-shot arms that any thread makes. It keeps no Java
 * state of its own beyond the handle: the table of callbacks, the task queue and its coalescing
 * flag live on the Java side.
 *
 * <p>Threads. {@link #begin()} makes the calling thread the owner (the loop thread); every method
 * but {@link #enter()}, {@link #exit()}, {@link #wakeEntered()}, {@link #arm} and {@link #disarm}
 * must then be called on it (Java assertions check it). Other threads reach the handle only between
 * {@link #enter()} and {@link #exit()}, which {@link #destroy()} waits out before freeing it, so no
 * call order can reach freed memory.
 */
final class NativeWatcher {
  private static final String[] FLAG_NAMES = {"READ", "WRITE"};

  private final long handle;
  private final ByteBuffer batch;
  private final HandleGuard guard = new HandleGuard();
  private Thread owner;

  private NativeWatcher(long handle, ByteBuffer batch) {
    this.handle = handle;
    this.batch = batch;
  }

  /**
   * Creates the native watcher. Any thread.
   *
   * @param oneShot whether a delivered registration stays suspended until {@link #resume}
   * @throws ErrnoException if epoll or the eventfd cannot be created (EMFILE, ENOMEM)
   */
  static NativeWatcher create(int maxEvents, boolean oneShot) throws ErrnoException {
    int capacity = Native.batchCapacity(maxEvents);
    if (capacity < 0) throw Errno.exception("epoll batch of " + maxEvents, -1, capacity);
    ByteBuffer batch =
        ByteBuffer.allocateDirect(capacity * Integer.BYTES).order(ByteOrder.nativeOrder());
    long handle = Native.create(maxEvents, batch, oneShot);
    if (handle < 0) throw Errno.exception("epoll_create1/eventfd", -1, (int) handle);
    return new NativeWatcher(handle, batch);
  }

  /** Makes the calling thread the owner. */
  void begin() {
    owner = Thread.currentThread();
    Native.begin(handle);
  }

  /** Whether the calling thread is the owner. Any thread. */
  boolean onOwner() {
    return Thread.currentThread() == owner;
  }

  /**
   * Owner: waits up to {@code timeoutNanos} nanoseconds (-1: no limit) for events. An interrupted
   * wait with a limit returns 0, so that the caller computes the time left afresh.
   *
   * @return the number of batch entries recorded, or -errno if epoll_wait failed
   */
  int turn(long timeoutNanos) {
    assert onOwner() : "turn off the loop thread";
    return Native.turn(handle, timeoutNanos);
  }

  /**
   * Owner: entry {@code i} of the last turn's batch: {@code fd << 1 | flag} for a registration, or
   * three for a reported arm: {@code -1 - flag}, then the token's low and high halves.
   */
  int entry(int i) {
    return batch.getInt(i << 2);
  }

  /**
   * Owner: registers (fd, flag), armed unless {@code suspended}.
   *
   * @throws ErrnoException if epoll refuses the fd (nothing registered then)
   */
  void watch(int fd, int flag, boolean suspended) throws ErrnoException {
    assert onOwner() : "watch off the loop thread";
    check(Native.watch(handle, fd, flag, suspended), "watch", fd, flag);
  }

  /**
   * Owner: removes the registration for (fd, flag).
   *
   * @throws ErrnoException if epoll fails for another reason than a closed fd (removed anyway)
   */
  void unwatch(int fd, int flag) throws ErrnoException {
    assert onOwner() : "unwatch off the loop thread";
    check(Native.unwatch(handle, fd, flag), "unwatch", fd, flag);
  }

  /**
   * Owner: re-arms a one-shot (fd, flag) after its call.
   *
   * @throws ErrnoException ENOENT if the fd was closed (and maybe reused) meanwhile: its
   *     registrations are gone, and the file that took the number is never watched by mistake
   */
  void resume(int fd, int flag) throws ErrnoException {
    assert onOwner() : "resume off the loop thread";
    check(Native.resume(handle, fd, flag), "re-arm", fd, flag);
  }

  /**
   * Owner: removes every registration.
   *
   * @throws ErrnoException if epoll fails for another reason than a closed fd (removed anyway)
   */
  void unwatchAll() throws ErrnoException {
    assert onOwner() : "unwatchAll off the loop thread";
    int result = Native.unwatchAll(handle);
    if (result < 0) throw Errno.exception("unwatchAll", -1, result);
  }

  /**
   * Any thread: starts a use of the handle by a thread other than the owner.
   *
   * @return false once the handle is being destroyed (it must not be used)
   */
  boolean enter() {
    return guard.acquire();
  }

  /** Ends a use begun by a successful {@link #enter()}. */
  void exit() {
    guard.release();
  }

  /** What {@link #arm} and {@link #disarm} return once the handle is being destroyed. */
  static final int CLOSED = Integer.MIN_VALUE;

  /**
   * Any thread: arms a one-shot interest in (fd, flag), reported in a batch with {@code token}. One
   * epoll_ctl, inside the handle guard.
   *
   * @return 0, -errno, or {@link #CLOSED}
   */
  int arm(int fd, int flag, long token) {
    if (!enter()) return CLOSED;
    try {
      return Native.arm(handle, fd, flag, token);
    } finally {
      exit();
    }
  }

  /**
   * Any thread: removes (fd, flag)'s arm, inside the handle guard.
   *
   * @return 0 (also when there was none), -errno, or {@link #CLOSED}
   */
  int disarm(int fd, int flag) {
    if (!enter()) return CLOSED;
    try {
      return Native.disarm(handle, fd, flag);
    } finally {
      exit();
    }
  }

  /**
   * Any thread, before the first arm: hands reported arms to poller threads.
   *
   * @return 0, -errno (-EBUSY once arms exist), or {@link #CLOSED}
   */
  int handOffArms() {
    if (!enter()) return CLOSED;
    try {
      return Native.handOffArms(handle);
    } finally {
      exit();
    }
  }

  /**
   * The poller thread of {@code flag}: reported arms into {@code out}, two ints each.
   *
   * @return the count, -errno, or {@link #CLOSED}
   */
  int harvestArms(int flag, ByteBuffer out, int max) {
    if (!enter()) return CLOSED;
    try {
      return Native.harvestArms(handle, flag, out, max);
    } finally {
      exit();
    }
  }

  /**
   * The poller thread of {@code flag}, after an empty harvest: the loop reports the next arms.
   *
   * @return 0, -errno, or {@link #CLOSED}
   */
  int rearmArms(int flag) {
    if (!enter()) return CLOSED;
    try {
      return Native.rearmArms(handle, flag);
    } finally {
      exit();
    }
  }

  /** Between {@link #enter()} and {@link #exit()}, or on the owner: wakes the owner's wait. */
  void wakeEntered() {
    Native.wake(handle);
  }

  /** Owner: refuses further {@link #enter()}s and waits for current users to exit. */
  void closeGuard() {
    assert onOwner() : "closeGuard off the loop thread";
    guard.close();
  }

  /** Owner, last, after {@link #closeGuard()}: frees the native watcher. */
  void destroy() {
    assert onOwner() : "destroy off the loop thread";
    guard.close();
    Native.destroy(handle);
  }

  /** Frees a watcher whose owner never began (its thread did not start). */
  void destroyUnstarted() {
    Native.destroy(handle);
  }

  private static void check(int result, String verb, int fd, int flag) throws ErrnoException {
    if (result < 0) throw Errno.exception(verb + "(" + FLAG_NAMES[flag] + ")", fd, result);
  }
}
