package io.eventwatcher.internal;

import java.io.FileDescriptor;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;

/**
 * The JNI natives, bound by RegisterNatives in JNI_OnLoad. One convention for all of them: each
 * returns a result (a count, a handle, an fd) or {@code -errno}, and none throws; callers turn
 * {@code -errno} into exceptions through {@link Errno}. Callers must have called {@link
 * NativeLibrary#ensureAvailable()}. Watcher natives take the handle from {@link #create} and are
 * called as {@link NativeWatcher} states.
 */
public final class Native {
  private Native() {}

  /** Flag values shared with native code. */
  static final int READ = 0;

  static final int WRITE = 1;

  /** Creates a native watcher recording into {@code batch} (2 * maxEvents ints). Any thread. */
  static native long create(int maxEvents, ByteBuffer batch, boolean oneShot);

  /** Makes the calling thread the watcher's owner (the loop thread). Returns 0. */
  static native int begin(long handle);

  /**
   * Owner: waits up to timeoutNanos (-1: no limit; to the nanosecond where the kernel has
   * epoll_pwait2, else in milliseconds rounded up); returns the batch entries recorded.
   */
  static native int turn(long handle, long timeoutNanos);

  /** Owner: registers (fd, flag), armed unless suspended. Returns 0. */
  static native int watch(long handle, int fd, int flag, boolean suspended);

  /** Owner: removes (fd, flag). Returns 0. */
  static native int unwatch(long handle, int fd, int flag);

  /** Owner: re-arms a one-shot (fd, flag); -ENOENT if the fd was closed or reused meanwhile. */
  static native int resume(long handle, int fd, int flag);

  /** Owner: removes every registration. Returns 0. */
  static native int unwatchAll(long handle);

  /** Any thread (inside the handle guard): writes the wakeup eventfd. Returns 0. */
  static native int wake(long handle);

  /** The owner, last: frees the native watcher (epoll fd, eventfd). Returns 0. */
  static native int destroy(long handle);

  /**
   * Native watchers currently alive (created and not destroyed). For leak checks.
   *
   * @return the count
   */
  public static native int liveWatchers();

  /**
   * read(2) into a direct buffer's memory.
   *
   * @return bytes read, 0 at EOF, or -errno (-EINVAL for a bad buffer or range)
   */
  public static native int read(int fd, ByteBuffer direct, int position, int length);

  /**
   * write(2) from a direct buffer's memory.
   *
   * @return bytes written or -errno (-EINVAL for a bad buffer or range)
   */
  public static native int write(int fd, ByteBuffer direct, int position, int length);

  /**
   * close(2).
   *
   * @return 0 or -errno
   */
  public static native int close(int fd);

  /**
   * pipe2(O_NONBLOCK | O_CLOEXEC).
   *
   * @return read end in the high 32 bits, write end in the low 32, or -errno
   */
  public static native long pipe();

  /**
   * socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC).
   *
   * @return first fd in the high 32 bits, second in the low 32, or -errno
   */
  public static native long socketPair();

  /**
   * eventfd(initial, EFD_NONBLOCK | EFD_CLOEXEC).
   *
   * @return the fd or -errno
   */
  public static native int eventFd(int initial);

  /**
   * The int inside a FileDescriptor.
   *
   * @return the fd, or -EBADF for null or an invalid descriptor
   */
  public static native int fdOf(FileDescriptor descriptor);

  /**
   * The fd of a JDK channel.
   *
   * @return the fd; -EINVAL for another provider's channel, -ENOSYS if this JDK is unsupported
   */
  public static native int fdOfChannel(SelectableChannel channel);

  /**
   * Copies the errno values of {@link Errno} into {@code out}.
   *
   * @return how many values there are
   */
  static native int errnoValues(int[] out);

  /**
   * strerror(errno).
   *
   * @return the text
   */
  static native String errorText(int errno);

  /**
   * Writes one fixed line to fd 2 saying that an error report for {@code fd} was lost (and how many
   * more were suppressed), without allocating or opening anything. Any thread.
   *
   * @return 0
   */
  static native int reportLost(int fd, int suppressed);
}
