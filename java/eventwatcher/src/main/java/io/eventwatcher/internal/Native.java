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

  /**
   * Creates a native watcher recording into {@code batch} ({@link #batchCapacity} ints). Any
   * thread.
   */
  static native long create(int maxEvents, ByteBuffer batch, boolean oneShot);

  /** The int entries a batch of {@code maxEvents} needs, or -EINVAL. Any thread. */
  static native int batchCapacity(int maxEvents);

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

  /**
   * Any thread (inside the handle guard): arms a one-shot interest in (fd, flag), reported with
   * {@code token}; one epoll_ctl MOD, or ADD when the fd has no entry yet. Returns 0.
   */
  static native int arm(long handle, int fd, int flag, long token);

  /** Any thread (inside the handle guard): removes (fd, flag)'s arm, if any. Returns 0. */
  static native int disarm(long handle, int fd, int flag);

  /**
   * Any thread (inside the handle guard), before the first arm: reported arms go to poller threads
   * ({@link #harvestArms}) instead of the batch, which then holds one {@code -3 - flag} entry when
   * arms of a flag are pending. Returns 0 (-EBUSY once arms exist).
   */
  static native int handOffArms(long handle);

  /**
   * The poller thread of {@code flag} (inside the handle guard): up to {@code max} reported arms
   * into {@code out} (a direct buffer of 2 * max ints: each token's low, then high half), without
   * waiting. Returns the count.
   */
  static native int harvestArms(long handle, int flag, ByteBuffer out, int max);

  /**
   * The poller thread of {@code flag} (inside the handle guard), after a harvest found nothing: the
   * loop reports the next pending arms with a {@code -3 - flag} entry. Returns 0.
   */
  static native int rearmArms(long handle, int flag);

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
   * Sets or clears O_NONBLOCK (fcntl F_SETFL).
   *
   * @return 0 or -errno (-EBADF for a closed fd)
   */
  public static native int setNonBlocking(int fd, boolean nonBlocking);

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
   * Takes {@code fd} out of {@code descriptor}: its cleaner is cancelled and it reads as closed, so
   * neither the stream it came from nor the garbage collector closes the number again.
   *
   * @return 0; -EBADF if the descriptor no longer holds fd; -ENOSYS if this JDK cannot (nothing
   *     done, see {@link #canReleaseFd})
   */
  public static native int releaseFd(FileDescriptor descriptor, int fd);

  /**
   * Whether {@link #releaseFd} works on this JDK (its FileDescriptor can cancel its cleaner).
   *
   * @return true on JDK 10 and later
   */
  public static native boolean canReleaseFd();

  /**
   * The fd of a JDK channel.
   *
   * @return the fd; -EINVAL for another provider's channel, -ENOSYS if this JDK is unsupported
   */
  public static native int fdOfChannel(SelectableChannel channel);

  /**
   * Starts a child process with posix_spawn and opens its pidfd. Strings are NUL-free bytes.
   * Redirect kinds: 0 pipe, 1 inherit, 2 read {@code paths[i]}, 3 write (truncate), 4 append.
   *
   * @param environment "NAME=value" entries, or null to inherit this process's
   * @param directory the working directory, or null to inherit
   * @param out receives {pid, pidfd, stdin's write end, stdout's read end, stderr's read end}, -1
   *     for a stream that is not piped; the pipe ends are non-blocking and close-on-exec
   * @return 0 or -errno, with no fd left open (-EINVAL for malformed arguments)
   */
  public static native int spawn(
      byte[][] argv,
      byte[][] environment,
      byte[] directory,
      int[] redirects,
      byte[][] paths,
      boolean errorToOutput,
      int[] out);

  /**
   * pidfd_send_signal(2).
   *
   * @return 0 or -errno (-ESRCH once the child has been reaped)
   */
  public static native int signal(int pidfd, int signal);

  /**
   * waitpid(pid), with WNOHANG unless {@code wait}.
   *
   * @return the exit value (the status, or 128 + the killing signal), -EAGAIN while the child runs,
   *     or -errno
   */
  public static native int reap(int pid, boolean wait);

  /**
   * Whether the kernel has pidfd_open (Linux 5.3+).
   *
   * @return 0, or -errno (-ENOSYS without it)
   */
  public static native int pidfdSupport();

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
