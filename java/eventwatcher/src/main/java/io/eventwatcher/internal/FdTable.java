package io.eventwatcher.internal;

import java.util.Arrays;

/**
 * The fd-indexed table of {@link Slot}s, as libuv's watcher array: an event's fd is an array index,
 * with no hashing and no boxing. Slots are made on the first watch of a number and kept (the table
 * is bounded by the fd numbers the kernel hands out), so a watch allocates no slot after the first.
 * Grown by doubling. Loop thread only (the {@link Reactor} asserts it at every entry point).
 */
final class FdTable {
  private static final int INITIAL_SIZE = 64;

  private Slot[] slots = new Slot[INITIAL_SIZE];

  /** The current registration for (fd, flag), or null. */
  Registration registration(int fd, int flag) {
    Slot[] table = slots;
    if (fd >= table.length) return null;
    Slot slot = table[fd];
    return slot == null ? null : slot.get(flag);
  }

  /** The slot of {@code fd}, or null if it was never watched. */
  Slot slot(int fd) {
    return fd < slots.length ? slots[fd] : null;
  }

  /** The slot of {@code fd}, made (and the table grown) if needed. */
  Slot slotFor(int fd) {
    if (fd >= slots.length) slots = Arrays.copyOf(slots, Integer.highestOneBit(fd) << 1);
    Slot slot = slots[fd];
    if (slot == null) slots[fd] = slot = new Slot();
    return slot;
  }

  /** The number of slot positions; slot(i) for i below it may be non-null. */
  int capacity() {
    return slots.length;
  }
}
