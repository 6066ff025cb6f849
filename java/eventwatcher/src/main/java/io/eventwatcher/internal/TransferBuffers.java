package io.eventwatcher.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Direct buffers that carry heap-buffer and {@code byte[]} I/O across JNI: the syscall needs memory
 * the GC does not move, so the bytes are copied through one of these, as the JDK's channels do.
 *
 * <p>Why a shared pool and not a buffer per thread (the JDK's cache): with virtual threads a
 * per-thread buffer is one per virtual thread, 10,000 parked readers holding 10,000 direct buffers.
 * Here at most {@link #SLOTS} buffers of {@value #SIZE} bytes are kept, whatever the number of
 * threads; a taker scans the slots from a place picked by its thread's id (one compare-and-set when
 * it finds one, no lock, no allocation) and allocates only when every slot is empty, i.e. when more
 * than {@link #SLOTS} transfers run at once. A transfer moves at most {@value #SIZE} bytes per
 * call: a short read or write, which read(2) and write(2) allow anyway.
 *
 * <p>Threads: any. A buffer taken belongs to its taker until {@link #give} returns it.
 */
public final class TransferBuffers {
  /** Bytes per buffer: the most one heap-buffer read or write transfers. */
  public static final int SIZE = 64 * 1024;

  private static final int SLOTS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
  private static final AtomicReferenceArray<ByteBuffer> POOL = new AtomicReferenceArray<>(SLOTS);

  private TransferBuffers() {}

  /** A cleared direct buffer of {@link #SIZE} bytes; return it with {@link #give}. */
  public static ByteBuffer take() {
    int start = start();
    for (int i = 0; i < SLOTS; i++) {
      int slot = (start + i) % SLOTS;
      ByteBuffer buffer = POOL.get(slot);
      if (buffer != null && POOL.compareAndSet(slot, buffer, null)) return buffer.clear();
    }
    return ByteBuffer.allocateDirect(SIZE);
  }

  /** Returns a buffer from {@link #take}; kept if a slot is free, else left to the GC. */
  public static void give(ByteBuffer buffer) {
    int start = start();
    for (int i = 0; i < SLOTS; i++) {
      int slot = (start + i) % SLOTS;
      if (POOL.get(slot) == null && POOL.compareAndSet(slot, null, buffer)) return;
    }
  }

  @SuppressWarnings("deprecation") // Thread.threadId() is JDK 19+; getId() is the same number
  private static int start() {
    return (int) (Thread.currentThread().getId() % SLOTS);
  }
}
