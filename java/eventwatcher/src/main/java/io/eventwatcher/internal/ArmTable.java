package io.eventwatcher.internal;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The fd-indexed table of {@link FdParker}s of one watcher: where the loop thread looks up the
 * parker that a reported one-shot arm is for. The arm's token carries the fd and the parker's
 * generation, so a report fetched for a parker that has since gone (its fd closed, the number taken
 * by a new parker) matches no parker and is dropped.
 *
 * <p>Threads. {@link #add} and {@link #remove} run on any thread (a parker is made and retired by
 * the threads that open and close its channel) and serialise on the table; {@link #get} is the loop
 * thread's and takes no lock: it reads the current array, whose entries are written with volatile
 * semantics. A parker is added before its first arm and removed after its last disarm, so a report
 * for a live arm always finds it (the kernel orders the arm's epoll_ctl before the loop's
 * epoll_wait that reports it, as it orders an eventfd write before the wait that sees it).
 */
final class ArmTable {
  private static final int INITIAL_SIZE = 64;

  private volatile AtomicReferenceArray<FdParker> parkers =
      new AtomicReferenceArray<>(INITIAL_SIZE);

  /**
   * Adds {@code parker} under its fd. Any thread.
   *
   * @throws IllegalArgumentException if another parker has that fd (two channels on one fd)
   */
  synchronized void add(FdParker parker) {
    int fd = parker.fd;
    AtomicReferenceArray<FdParker> table = parkers;
    if (fd >= table.length()) {
      AtomicReferenceArray<FdParker> grown =
          new AtomicReferenceArray<>(Integer.highestOneBit(fd) << 1);
      for (int i = 0; i < table.length(); i++) grown.set(i, table.get(i));
      parkers = table = grown;
    }
    if (table.get(fd) != null) {
      throw new IllegalArgumentException(
          "fd " + fd + " already has an FdChannel on this EventWatcher");
    }
    table.set(fd, parker);
  }

  /** Removes {@code parker} if it is the one under its fd. Any thread. */
  synchronized void remove(FdParker parker) {
    AtomicReferenceArray<FdParker> table = parkers;
    if (parker.fd < table.length()) table.compareAndSet(parker.fd, parker, null);
  }

  /** The parker under {@code fd}, or null. Loop thread; no lock, no allocation. */
  FdParker get(int fd) {
    AtomicReferenceArray<FdParker> table = parkers;
    return fd >= 0 && fd < table.length() ? table.get(fd) : null;
  }

  /** Every parker now in the table. Loop thread, at close. */
  void forEach(java.util.function.Consumer<FdParker> action) {
    AtomicReferenceArray<FdParker> table = parkers;
    for (int i = 0; i < table.length(); i++) {
      FdParker parker = table.get(i);
      if (parker != null) action.accept(parker);
    }
  }
}
