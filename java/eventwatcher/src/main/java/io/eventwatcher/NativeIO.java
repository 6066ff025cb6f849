package io.eventwatcher;

import io.eventwatcher.internal.Errno;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.Objects;

/**
 * I/O on raw int file descriptors, which the JDK cannot do, and factories for non-blocking fds to
 * watch. Each call is one JNI downcall plus the syscall: the fast path for servers, without the
 * locking and bookkeeping of {@code SocketChannel.read/write}. Buffers must be direct. All methods
 * are thread-safe (as the syscalls are) and throw {@link ErrnoException} (an IOException carrying
 * errno and the fd) when the syscall fails, or {@link UnsupportedOperationException} if the native
 * library is unavailable.
 */
public final class NativeIO {
  private NativeIO() {}

  /**
   * Reads into {@code dst} between its position and limit, advancing the position.
   *
   * @param fd the file descriptor
   * @param dst a direct, writable buffer
   * @return the bytes read, 0 if the fd would block (or dst has no room), -1 at end of stream
   * @throws IOException if read(2) fails
   * @throws IllegalArgumentException if dst is not direct
   * @throws ReadOnlyBufferException if dst is read-only
   */
  public static int read(int fd, ByteBuffer dst) throws IOException {
    checkDirect(dst);
    if (dst.isReadOnly()) throw new ReadOnlyBufferException();
    int position = dst.position();
    int length = dst.limit() - position;
    if (length == 0) return 0;
    int result = Native.read(fd, dst, position, length);
    if (result > 0) {
      dst.position(position + result);
      return result;
    }
    if (result == 0) return -1;
    if (result == -Errno.EAGAIN) return 0;
    throw Errno.exception("read", fd, result);
  }

  /**
   * Writes {@code src} between its position and limit, advancing the position by what was written.
   *
   * @param fd the file descriptor
   * @param src a direct buffer
   * @return the bytes written; 0 if the fd would block
   * @throws IOException if write(2) fails (EPIPE when the peer has gone)
   * @throws IllegalArgumentException if src is not direct
   */
  public static int write(int fd, ByteBuffer src) throws IOException {
    checkDirect(src);
    int position = src.position();
    int length = src.limit() - position;
    if (length == 0) return 0;
    int result = Native.write(fd, src, position, length);
    if (result >= 0) {
      src.position(position + result);
      return result;
    }
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

  private static void checkDirect(ByteBuffer buffer) {
    Objects.requireNonNull(buffer, "buffer");
    if (!buffer.isDirect()) throw new IllegalArgumentException("buffer must be direct");
    NativeLibrary.ensureAvailable();
  }

  private static int[] split(long packed, String operation) throws IOException {
    if (packed < 0) throw Errno.exception(operation, -1, (int) packed);
    return new int[] {(int) (packed >>> 32), (int) packed};
  }
}
