package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchCallback;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The bytes waiting to go out on one non-blocking socket, and the WRITE interest that goes with
 * them. Loop thread only.
 *
 * <p>Why WRITE interest is dynamic: a connected socket is writable almost all the time, and
 * watching is level-triggered, so a permanent WRITE registration would call back on every loop
 * turn: a busy loop. The interest is therefore added only while bytes are pending (the kernel's
 * send buffer was full) and removed as soon as they are all written.
 */
final class Outbound {
  private final EventWatcher watcher;
  private final int fd;
  private final WatchCallback onWritable;
  private final int limit;
  private ByteBuffer pending; // write mode: bytes [0, position) wait to be sent
  private boolean writeWatched;

  /**
   * @param limit the most bytes that may wait; {@link #queue} refuses more
   * @param onWritable the WRITE callback, which should call {@link #flush()}
   */
  Outbound(EventWatcher watcher, int fd, int limit, WatchCallback onWritable) {
    this.watcher = watcher;
    this.fd = fd;
    this.limit = limit;
    this.onWritable = onWritable;
    this.pending = ByteBuffer.allocateDirect(Math.min(4096, limit));
  }

  /** Bytes waiting. */
  int pending() {
    return pending.position();
  }

  /**
   * Queues {@code bytes} (position to limit; consumed) behind what is already pending. Nothing is
   * written yet: callers queue everything a turn produces and {@link #flush()} once, so a burst of
   * small messages costs one syscall, not one each.
   *
   * @return false, queueing nothing, if the bytes would exceed the limit
   */
  boolean queue(ByteBuffer bytes) {
    if (pending.position() + bytes.remaining() > limit) return false;
    ensureRoom(bytes.remaining());
    pending.put(bytes);
    return true;
  }

  /**
   * Writes pending bytes until done or the socket is full, then adds or drops WRITE interest.
   *
   * @return the bytes written (0 if the socket was full or nothing was pending)
   * @throws IOException if the write fails (the peer has gone)
   */
  int flush() throws IOException {
    pending.flip();
    int written = 0;
    for (int n; pending.hasRemaining() && (n = NativeIO.write(fd, pending)) > 0; ) {
      written += n; // a non-blocking write takes what fits; loop until the kernel says EAGAIN (0)
    }
    pending.compact();
    updateInterest();
    return written;
  }

  private void updateInterest() throws IOException {
    boolean want = pending.position() > 0;
    if (want == writeWatched) return;
    if (want) {
      watcher.watch(fd, WatchFlag.WRITE, onWritable);
    } else {
      watcher.unwatch(fd, WatchFlag.WRITE);
    }
    writeWatched = want;
  }

  private void ensureRoom(int more) {
    if (pending.remaining() >= more) return;
    int capacity = pending.capacity();
    while (capacity - pending.position() < more) capacity *= 2;
    ByteBuffer grown = ByteBuffer.allocateDirect(Math.min(capacity, limit));
    pending.flip();
    grown.put(pending);
    pending = grown;
  }
}
