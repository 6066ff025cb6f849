package io.eventwatcher.internal;

import java.io.FileDescriptor;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;

/**
 * The JNI natives, bound by RegisterNatives in JNI_OnLoad. Syscall wrappers return a count or
 * {@code -errno}; callers turn that into exceptions (see {@link Errors}). Callers must have called
 * {@link NativeLibrary#ensureAvailable()}. Watcher natives take the handle from {@link #create} and
 * follow the thread rules of {@link Reactor}.
 */
public final class Native {
  private Native() {}

  /** Flag values shared with native code. */
  static final int READ = 0;

  static final int WRITE = 1;

  /** Creates a native watcher recording into {@code batch} (2 * maxEvents ints). Any thread. */
  static native long create(int maxEvents, ByteBuffer batch) throws java.io.IOException;

  /** Makes the calling thread the loop thread (throws IllegalStateException if one runs). */
  static native void begin(long handle);

  /** Loop thread: runs one turn; returns the batch size, or -1 once stopped. */
  static native int turn(long handle) throws java.io.IOException;

  /** Loop thread: runs native tasks still queued and gives the loop up. */
  static native void end(long handle);

  /** Loop thread: registers (fd, flag) for recording. Returns 0 or -errno. */
  static native int watch(long handle, int fd, int flag);

  /** Loop thread: removes (fd, flag). Returns 0 or -errno. */
  static native int unwatch(long handle, int fd, int flag);

  /** Loop thread: suspends (fd, flag), keeping its epoll entry. Returns 0 or -errno. */
  static native int suspend(long handle, int fd, int flag);

  /** Loop thread: resumes (fd, flag); -ENOENT if the fd was closed or reused meanwhile. */
  static native int resume(long handle, int fd, int flag);

  /** Loop thread: removes every registration. Returns 0 or -errno. */
  static native int unwatchAll(long handle);

  /** Any thread (inside the handle guard): makes the loop's next turn not block. */
  static native void wake(long handle);

  /** Any thread (inside the handle guard): makes turn() return -1 after the current turn. */
  static native void stop(long handle);

  /** The loop thread, last: frees the native watcher (epoll fd, eventfd). */
  static native void destroy(long handle);

  /**
   * Native watchers currently alive (created and not destroyed). For leak checks.
   *
   * @return the count
   */
  public static native int liveWatchers();

  /**
   * read(2) into a direct buffer's memory.
   *
   * @return bytes read, 0 at EOF, or -errno
   */
  public static native int read(int fd, ByteBuffer direct, int position, int length);

  /**
   * write(2) from a direct buffer's memory.
   *
   * @return bytes written or -errno
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
   * The int inside a FileDescriptor (-1 when invalid).
   *
   * @return the fd
   */
  public static native int fdOf(FileDescriptor descriptor);

  /**
   * The fd of a JDK channel: -1 for another provider's channel, -2 if this JDK is unsupported.
   *
   * @return the fd or a negative code
   */
  public static native int fdOfChannel(SelectableChannel channel);

  /**
   * strerror(errno).
   *
   * @return the text
   */
  public static native String errorText(int errno);
}
