package io.eventwatcher.internal;

import io.eventwatcher.ErrnoException;

/** Turns {@code -errno} results of natives into exceptions. */
public final class Errors {
  /** errno value of EAGAIN on Linux. */
  public static final int EAGAIN = 11;

  private Errors() {}

  /**
   * The exception for a failed call.
   *
   * @param operation what failed
   * @param fd the fd concerned, or -1
   * @param negativeErrno the native result, {@code -errno}
   * @return the exception, to throw
   */
  public static ErrnoException errno(String operation, int fd, int negativeErrno) {
    int errno = -negativeErrno;
    return new ErrnoException(operation, fd, errno, Native.errorText(errno));
  }
}
