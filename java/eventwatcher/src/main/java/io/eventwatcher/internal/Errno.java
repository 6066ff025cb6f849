package io.eventwatcher.internal;

import io.eventwatcher.ErrnoException;

/**
 * The errno values the Java side needs, read from native code when this class initialises (never
 * hard-coded), and the one place where a {@code -errno} result becomes an exception.
 */
public final class Errno {
  private static final int[] VALUES = load();

  /** Resource temporarily unavailable: the call would block. */
  public static final int EAGAIN = VALUES[0];

  /** No such file or directory (epoll: the fd has no entry; it was closed and reused). */
  public static final int ENOENT = VALUES[1];

  /** Bad file descriptor. */
  public static final int EBADF = VALUES[2];

  /** Operation not permitted (epoll: a file it cannot watch). */
  public static final int EPERM = VALUES[3];

  /** Invalid argument. */
  public static final int EINVAL = VALUES[4];

  /** Out of memory. */
  public static final int ENOMEM = VALUES[5];

  /** Interrupted system call. */
  public static final int EINTR = VALUES[6];

  /** Broken pipe: the peer has gone. */
  public static final int EPIPE = VALUES[7];

  /** Too many open files in this process. */
  public static final int EMFILE = VALUES[8];

  /** Function not implemented. */
  public static final int ENOSYS = VALUES[9];

  /** File exists. */
  public static final int EEXIST = VALUES[10];

  /** No such process. */
  public static final int ESRCH = VALUES[11];

  private Errno() {}

  private static int[] load() {
    NativeLibrary.ensureAvailable();
    int[] values = new int[12];
    int count = Native.errnoValues(values);
    if (count != values.length) {
      throw new IllegalStateException(
          "native library exports " + count + " errno values, expected " + values.length);
    }
    return values;
  }

  /**
   * The exception for a failed call. Any thread.
   *
   * @param operation what failed, for example {@code "watch(READ)"}
   * @param fd the fd concerned, or -1
   * @param negativeErrno the native result, {@code -errno}
   * @return the exception, to throw
   */
  public static ErrnoException exception(String operation, int fd, int negativeErrno) {
    int errno = -negativeErrno;
    return new ErrnoException(operation, fd, errno, Native.errorText(errno));
  }
}
