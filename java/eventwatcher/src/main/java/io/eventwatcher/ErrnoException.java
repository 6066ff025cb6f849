package io.eventwatcher;

import java.io.IOException;

/** An operating-system call failed: carries the errno value and the file descriptor concerned. */
public final class ErrnoException extends IOException {
  private static final long serialVersionUID = 1L;

  /** The errno value of the failed call. */
  private final int errno;

  /** The file descriptor the call concerned, or -1 if none. */
  private final int fd;

  /**
   * Creates the exception; the message reads {@code "<operation> failed for fd <fd>: <text> (errno
   * <n>)"}.
   *
   * @param operation what failed, for example {@code "watch(READ)"}
   * @param fd the file descriptor, or -1 if none
   * @param errno the errno value
   * @param text the system's description of errno
   */
  public ErrnoException(String operation, int fd, int errno, String text) {
    super(
        operation
            + " failed"
            + (fd >= 0 ? " for fd " + fd : "")
            + ": "
            + text
            + " (errno "
            + errno
            + ")");
    this.errno = errno;
    this.fd = fd;
  }

  /**
   * The errno value (for example 9, EBADF).
   *
   * @return errno
   */
  public int errno() {
    return errno;
  }

  /**
   * The file descriptor the call concerned, or -1.
   *
   * @return the fd
   */
  public int fd() {
    return fd;
  }
}
