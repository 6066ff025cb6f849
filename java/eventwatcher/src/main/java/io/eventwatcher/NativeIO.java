package io.eventwatcher;

import io.eventwatcher.internal.Errno;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import io.eventwatcher.internal.TransferBuffers;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * I/O on raw int file descriptors, which the JDK cannot do, and factories for non-blocking fds to
 * watch. Each call is one JNI downcall plus the syscall: the fast path for servers, without the
 * locking and bookkeeping of {@code SocketChannel.read/write}. Any buffer will do, as with the
 * JDK's channels: a direct one is passed to the syscall as it is; a heap or read-only one, and a
 * {@code byte[]}, is copied through a pooled direct buffer, so that one such call transfers at most
 * 64 KiB (a short read or write, which the syscalls allow anyway). All methods are thread-safe (as
 * the syscalls are) and throw {@link ErrnoException} (an IOException carrying errno and the fd)
 * when the syscall fails, or {@link UnsupportedOperationException} if the native library is
 * unavailable.
 */
public final class NativeIO {
  private NativeIO() {}

  /**
   * Reads into {@code dst} between its position and limit, advancing the position.
   *
   * @param fd the file descriptor
   * @param dst a writable buffer, direct or not (a heap buffer gets at most 64 KiB per call)
   * @return the bytes read, 0 if the fd would block (or dst has no room), -1 at end of stream
   * @throws IOException if read(2) fails
   * @throws ReadOnlyBufferException if dst is read-only
   * @throws NullPointerException if dst is null
   */
  public static int read(int fd, ByteBuffer dst) throws IOException {
    Objects.requireNonNull(dst, "dst");
    if (dst.isReadOnly()) throw new ReadOnlyBufferException();
    NativeLibrary.ensureAvailable();
    int position = dst.position();
    int length = dst.limit() - position;
    if (length == 0) return 0;
    if (dst.isDirect()) {
      int result = readResult(fd, Native.read(fd, dst, position, length));
      if (result > 0) dst.position(position + result);
      return result;
    }
    // A writable heap buffer always has its array.
    int result = read(fd, dst.array(), dst.arrayOffset() + position, length);
    if (result > 0) dst.position(position + result);
    return result;
  }

  /**
   * Reads into {@code dst[offset, offset + length)}, at most 64 KiB per call.
   *
   * @param fd the file descriptor
   * @param dst the array
   * @param offset where the bytes go
   * @param length the most to read
   * @return the bytes read, 0 if the fd would block (or length is 0), -1 at end of stream
   * @throws IOException if read(2) fails
   * @throws IndexOutOfBoundsException if offset and length do not fit dst
   * @throws NullPointerException if dst is null
   */
  public static int read(int fd, byte[] dst, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, Objects.requireNonNull(dst, "dst").length);
    NativeLibrary.ensureAvailable();
    if (length == 0) return 0;
    ByteBuffer via = TransferBuffers.take();
    try {
      int result = readResult(fd, Native.read(fd, via, 0, Math.min(length, via.capacity())));
      if (result > 0) via.get(0, dst, offset, result);
      return result;
    } finally {
      TransferBuffers.give(via);
    }
  }

  /** read(2)'s result as the read methods return it: bytes, 0 for EAGAIN, -1 for end of stream. */
  private static int readResult(int fd, int result) throws IOException {
    if (result > 0) return result;
    if (result == 0) return -1;
    if (result == -Errno.EAGAIN) return 0;
    throw Errno.exception("read", fd, result);
  }

  /**
   * Writes {@code src} between its position and limit, advancing the position by what was written.
   *
   * @param fd the file descriptor
   * @param src a buffer, direct or not, read-only or not (from a heap or read-only heap buffer at
   *     most 64 KiB per call)
   * @return the bytes written; 0 if the fd would block
   * @throws IOException if write(2) fails (EPIPE when the peer has gone)
   * @throws NullPointerException if src is null
   */
  public static int write(int fd, ByteBuffer src) throws IOException {
    Objects.requireNonNull(src, "src");
    NativeLibrary.ensureAvailable();
    int position = src.position();
    int length = src.limit() - position;
    if (length == 0) return 0;
    if (src.isDirect()) {
      int result = writeResult(fd, Native.write(fd, src, position, length));
      src.position(position + result);
      return result;
    }
    int result;
    if (src.hasArray()) {
      result = write(fd, src.array(), src.arrayOffset() + position, length);
    } else { // a read-only heap buffer hides its array: copy with the buffer's own bulk get
      ByteBuffer via = TransferBuffers.take();
      try {
        int chunk = Math.min(length, via.capacity());
        result = writeResult(fd, Native.write(fd, via.put(0, src, position, chunk), 0, chunk));
      } finally {
        TransferBuffers.give(via);
      }
    }
    src.position(position + result);
    return result;
  }

  /**
   * Writes {@code src[offset, offset + length)}, at most 64 KiB per call.
   *
   * @param fd the file descriptor
   * @param src the array
   * @param offset where the bytes start
   * @param length how many to write
   * @return the bytes written; 0 if the fd would block (or length is 0)
   * @throws IOException if write(2) fails (EPIPE when the peer has gone)
   * @throws IndexOutOfBoundsException if offset and length do not fit src
   * @throws NullPointerException if src is null
   */
  public static int write(int fd, byte[] src, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, Objects.requireNonNull(src, "src").length);
    NativeLibrary.ensureAvailable();
    if (length == 0) return 0;
    ByteBuffer via = TransferBuffers.take();
    try {
      int chunk = Math.min(length, via.capacity());
      via.put(0, src, offset, chunk);
      return writeResult(fd, Native.write(fd, via, 0, chunk));
    } finally {
      TransferBuffers.give(via);
    }
  }

  /** write(2)'s result as the write methods return it: bytes, 0 for EAGAIN. */
  private static int writeResult(int fd, int result) throws IOException {
    if (result >= 0) return result;
    if (result == -Errno.EAGAIN) return 0;
    throw Errno.exception("write", fd, result);
  }

  /**
   * Closes {@code fd}. Unwatch it first: see {@link EventWatcher}.
   *
   * @param fd the file descriptor
   * @throws IOException if close(2) fails (EBADF for a number that is not open)
   */
  public static void close(int fd) throws IOException {
    NativeLibrary.ensureAvailable();
    int result = Native.close(fd);
    if (result < 0) throw Errno.exception("close", fd, result);
  }

  /**
   * Creates a non-blocking, close-on-exec pipe.
   *
   * @return {read end, write end}
   * @throws IOException if pipe2(2) fails (EMFILE, ...)
   */
  public static int[] pipe() throws IOException {
    NativeLibrary.ensureAvailable();
    return split(Native.pipe(), "pipe");
  }

  /**
   * Creates a connected pair of non-blocking, close-on-exec AF_UNIX stream sockets.
   *
   * @return both ends
   * @throws IOException if socketpair(2) fails
   */
  public static int[] socketPair() throws IOException {
    NativeLibrary.ensureAvailable();
    return split(Native.socketPair(), "socketpair");
  }

  /**
   * Creates a non-blocking, close-on-exec eventfd. Write an 8-byte native-order count to signal it;
   * a read returns (and resets) the count.
   *
   * @param initialValue the initial counter, at least 0
   * @return the fd
   * @throws IOException if eventfd(2) fails
   * @throws IllegalArgumentException if initialValue is negative
   */
  public static int eventFd(int initialValue) throws IOException {
    if (initialValue < 0) throw new IllegalArgumentException("initialValue must be >= 0");
    NativeLibrary.ensureAvailable();
    int result = Native.eventFd(initialValue);
    if (result < 0) throw Errno.exception("eventfd", -1, result);
    return result;
  }

  private static int[] split(long packed, String operation) throws IOException {
    if (packed < 0) throw Errno.exception(operation, -1, (int) packed);
    return new int[] {(int) (packed >>> 32), (int) packed};
  }
}
