package io.eventwatcher;

import io.eventwatcher.internal.Errno;
import io.eventwatcher.internal.FdParker;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import java.io.FileDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.ScatteringByteChannel;
import java.nio.channels.spi.AbstractInterruptibleChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A blocking channel over any file descriptor that epoll can watch, as cheap to block on from a
 * virtual thread as a JDK socket: a pipe (from native code or a child process), a tty or serial
 * port, a socket from anywhere, an eventfd, timerfd, signalfd or inotify descriptor. The fd is made
 * non-blocking; a read or write that would block parks the calling thread until the fd is ready and
 * then retries. Parking costs one {@code epoll_ctl} on the parking thread (a one-shot arm, as the
 * JDK's own poller does for its sockets) and a park; a virtual thread parked here is unmounted from
 * its carrier, never pinning it. No thread is made per fd: one {@link EventWatcher} (by default a
 * shared daemon one, started on first use) unparks every waiting thread. A regular file is always
 * ready, so its reads and writes never park.
 *
 * <p><b>Blocking semantics</b> are those of the JDK's blocking channels: {@link #read(ByteBuffer)}
 * returns at least one byte, or -1 at end of stream; {@link #write(ByteBuffer)} returns once every
 * byte is written. {@link java.nio.channels.Channels#newInputStream} and {@link
 * java.nio.channels.Channels#newOutputStream} work on it, so a {@code BufferedReader} over a pipe
 * blocks a virtual thread cheaply.
 *
 * <p><b>Ownership.</b> {@link #open} takes the fd: {@link #close()} closes it, and nothing else may
 * use it meanwhile (the O_NONBLOCK flag is shared with every dup of the fd). An fd may have one
 * channel per watcher at a time, and must not also be watched with {@link EventWatcher#watch} on
 * that watcher and read from there.
 *
 * <p><b>Close and interrupt</b> behave as with JDK channels: a {@link #close()} from another thread
 * wakes threads parked in this channel, which throw {@link AsynchronousCloseException}; {@link
 * Thread#interrupt() interrupting} a thread parked here closes the channel and the thread throws
 * {@link ClosedByInterruptException} with its interrupt status set. A thread still inside an
 * operation keeps the fd open until it leaves, so the number cannot be reused under it: the fd is
 * closed by the last thread out (at once when none is inside).
 *
 * <p><b>Timeouts.</b> {@link #setReadTimeout} and {@link #setWriteTimeout} bound the time one call
 * may stay parked; when it passes, the call throws {@link InterruptedByTimeoutException} and the
 * channel stays open (a timed-out write may have written part of the buffer, as its position
 * shows). The watcher's timers end the park.
 *
 * <p><b>Threads.</b> Every method is thread-safe. Reads are serialised with each other, writes with
 * each other; a read and a write may proceed at once, each parked on its own arm. A call that would
 * park on the loop thread of the channel's watcher (in a callback, a task, or an {@code onExit}
 * stage of a {@link Subprocess}) throws {@link IllegalStateException} instead: only that thread
 * could end the park. Hand blocking calls to another thread (a virtual thread costs little).
 */
public final class FdChannel extends AbstractInterruptibleChannel
    implements ByteChannel, ScatteringByteChannel, GatheringByteChannel {
  private static final int READ = 0;
  private static final int WRITE = 1;
  private static final int CLOSED = 1 << 30;

  private final int fd;
  private final FdParker parker;
  private final ReentrantLock readLock = new ReentrantLock();
  private final ReentrantLock writeLock = new ReentrantLock();
  // CLOSED once closing, plus the number of threads inside an operation; the fd is closed when
  // it reads exactly CLOSED.
  private final AtomicInteger inside = new AtomicInteger();
  private volatile long readTimeoutNanos = -1;
  private volatile long writeTimeoutNanos = -1;

  private FdChannel(int fd, EventWatcher watcher) {
    this.fd = fd;
    this.parker = new FdParker(watcher.reactor(), fd);
  }

  /**
   * Takes {@code fd} over as a channel served by the shared watcher, and makes it non-blocking. Any
   * thread.
   *
   * @param fd an open file descriptor, which the channel now owns
   * @return the channel
   * @throws ErrnoException if the fd is not open (EBADF) or its flags cannot be set
   * @throws IllegalArgumentException if fd is negative or already has a channel
   * @throws UnsupportedOperationException if the native library is unavailable
   */
  public static FdChannel open(int fd) throws IOException {
    NativeLibrary.ensureAvailable();
    return open(fd, SharedWatcher.get());
  }

  /**
   * As {@link #open(int)}, for the fd inside {@code descriptor}, which the channel takes from it:
   * the descriptor then reads as not valid, and neither closing the stream it came from (a {@code
   * FileInputStream}, {@code FileOutputStream} or {@code RandomAccessFile}) nor collecting it
   * closes the fd, which only this channel's {@link #close()} does. That stream must not be read or
   * written after this. Any thread.
   *
   * @param descriptor a valid descriptor
   * @return the channel
   * @throws ErrnoException if its flags cannot be set, or another thread closed the descriptor
   *     meanwhile (EBADF: the fd is left alone, though it may be non-blocking now)
   * @throws IllegalArgumentException if the descriptor is not valid or the fd already has a channel
   * @throws UnsupportedOperationException if the native library is unavailable, or this JDK's
   *     FileDescriptor cannot give its fd away (then pass the int fd of a descriptor that no stream
   *     owns)
   */
  public static FdChannel open(FileDescriptor descriptor) throws IOException {
    int fd = FileDescriptors.fd(descriptor);
    if (!Native.canReleaseFd()) {
      throw new UnsupportedOperationException(
          "this JDK's FileDescriptor cannot give fd " + fd + " away");
    }
    FdChannel channel = open(fd);
    int released = Native.releaseFd(descriptor, fd);
    if (released < 0) {
      // Closed by another thread meanwhile: the number is not the caller's to give any more, so
      // the channel only leaves the table (nothing is armed yet) and leaves the fd alone.
      channel.parker.retire();
      throw Errno.exception("FdChannel.open(FileDescriptor)", fd, released);
    }
    return channel;
  }

  /**
   * As {@link #open(int)}, served by {@code watcher} instead of the shared one; closing the watcher
   * makes parked and later blocking calls throw an {@link IOException}.
   *
   * @param fd an open file descriptor, which the channel now owns
   * @param watcher the watcher whose loop unparks this channel's threads
   * @return the channel
   * @throws ErrnoException if the fd is not open (EBADF) or its flags cannot be set
   * @throws IllegalArgumentException if fd is negative or already has a channel on that watcher
   */
  public static FdChannel open(int fd, EventWatcher watcher) throws IOException {
    Objects.requireNonNull(watcher, "watcher");
    if (fd < 0) throw new IllegalArgumentException("fd must be >= 0, got " + fd);
    NativeLibrary.ensureAvailable();
    FdChannel channel = new FdChannel(fd, watcher); // refuses a second channel on the fd first
    int result = Native.setNonBlocking(fd, true);
    if (result < 0) {
      channel.parker.retire(); // nothing armed yet: only leaves the table
      throw Errno.exception("FdChannel.open (fcntl O_NONBLOCK)", fd, result);
    }
    return channel;
  }

  /**
   * The file descriptor. Any thread.
   *
   * @return the fd (closed once the channel is)
   */
  public int fd() {
    return fd;
  }

  /**
   * Reads into {@code dst}, parking until at least one byte is available. Any thread.
   *
   * @return the bytes read (0 only if dst has no room), or -1 at end of stream
   * @throws ClosedChannelException if closed before the call
   * @throws AsynchronousCloseException if closed by another thread meanwhile
   * @throws ClosedByInterruptException if the thread was interrupted (the channel is then closed)
   * @throws InterruptedByTimeoutException if the read timeout passed with nothing read
   * @throws ErrnoException if read(2) fails
   * @throws IllegalArgumentException if dst is read-only
   */
  @Override
  public int read(ByteBuffer dst) throws IOException {
    if (Objects.requireNonNull(dst, "dst").isReadOnly()) {
      throw new IllegalArgumentException("read into a read-only buffer");
    }
    if (!dst.hasRemaining()) return 0;
    readLock.lock();
    try {
      enter();
      int n = 0;
      try {
        begin();
        long timeout = readTimeoutNanos;
        long deadline = System.nanoTime() + timeout;
        while (isOpen() && (n = NativeIO.read(fd, dst)) == 0) park(READ, timeout, deadline);
      } finally {
        leave(n != 0);
      }
      return n;
    } finally {
      readLock.unlock();
    }
  }

  /**
   * Reads into {@code dsts[offset, offset + length)} in order: parks until the first buffer with
   * room gets at least one byte, then fills the following ones with what is available at once. No
   * other read runs meanwhile. Once bytes have been read they are returned: a close or interrupt
   * after that ends the call early and shows on the next one. Any thread; throws as {@link
   * #read(ByteBuffer)}.
   *
   * @param dsts the buffers
   * @param offset the first buffer to fill
   * @param length how many buffers, from offset
   * @return the bytes read, or -1 at end of stream
   */
  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, dsts.length);
    readLock.lock(); // reentrant: read(dst) and readAvailable take it again
    try {
      long total = 0;
      for (int i = offset; i < offset + length; i++) {
        ByteBuffer dst = dsts[i];
        if (!dst.hasRemaining()) continue;
        int n;
        if (total == 0) {
          n = read(dst);
        } else {
          try {
            n = readAvailable(dst);
          } catch (ClosedChannelException closedMeanwhile) { // or interrupted
            return total; // the bytes already read are the caller's; the next call throws
          }
        }
        if (n < 0) return total == 0 ? -1 : total;
        total += n;
        if (dst.hasRemaining()) break;
      }
      return total;
    } finally {
      readLock.unlock();
    }
  }

  @Override
  public long read(ByteBuffer[] dsts) throws IOException {
    return read(dsts, 0, dsts.length);
  }

  private int readAvailable(ByteBuffer dst) throws IOException {
    readLock.lock();
    try {
      enter();
      try {
        begin();
        return NativeIO.read(fd, dst);
      } finally {
        leave(true);
      }
    } finally {
      readLock.unlock();
    }
  }

  /**
   * Writes all of {@code src}, parking whenever the fd is full. Any thread.
   *
   * @return the bytes written: all that src held
   * @throws ClosedChannelException if closed before the call
   * @throws AsynchronousCloseException if closed by another thread meanwhile
   * @throws ClosedByInterruptException if the thread was interrupted (the channel is then closed)
   * @throws InterruptedByTimeoutException if the write timeout passed first (src's position says
   *     what was written)
   * @throws ErrnoException if write(2) fails (EPIPE once the reader has gone)
   */
  @Override
  public int write(ByteBuffer src) throws IOException {
    int start = Objects.requireNonNull(src, "src").position();
    if (!src.hasRemaining()) return 0;
    writeLock.lock();
    try {
      enter();
      try {
        begin();
        long timeout = writeTimeoutNanos;
        long deadline = System.nanoTime() + timeout;
        while (isOpen() && src.hasRemaining()) {
          if (NativeIO.write(fd, src) == 0) park(WRITE, timeout, deadline);
        }
      } finally {
        leave(!src.hasRemaining());
      }
      return src.position() - start;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Writes all of {@code srcs[offset, offset + length)} in order. Any thread; throws as {@link
   * #write(ByteBuffer)}.
   *
   * @return the bytes written
   */
  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, srcs.length);
    long total = 0;
    for (int i = offset; i < offset + length; i++) total += write(srcs[i]);
    return total;
  }

  @Override
  public long write(ByteBuffer[] srcs) throws IOException {
    return write(srcs, 0, srcs.length);
  }

  /**
   * Parks until the fd is readable (data, end of stream, hang-up or error), without reading. Any
   * thread; serialised with reads.
   *
   * @throws ClosedChannelException if closed before the call
   * @throws AsynchronousCloseException if closed by another thread meanwhile
   * @throws ClosedByInterruptException if the thread was interrupted (the channel is then closed)
   */
  public void awaitReadable() throws IOException {
    await(READ, readLock, -1);
  }

  /**
   * As {@link #awaitReadable()}, for at most {@code timeout}.
   *
   * @param timeout how long to wait at most, positive
   * @return true if the fd became readable, false if the time passed first
   * @throws IOException as {@link #awaitReadable()}
   * @throws IllegalArgumentException if timeout is not positive
   */
  public boolean awaitReadable(Duration timeout) throws IOException {
    return await(READ, readLock, positiveNanos(timeout));
  }

  /**
   * Parks until the fd is writable (or hung up, or in error). Any thread; serialised with writes.
   *
   * @throws IOException as {@link #awaitReadable()}
   */
  public void awaitWritable() throws IOException {
    await(WRITE, writeLock, -1);
  }

  /**
   * As {@link #awaitWritable()}, for at most {@code timeout}.
   *
   * @param timeout how long to wait at most, positive
   * @return true if the fd became writable, false if the time passed first
   * @throws IOException as {@link #awaitReadable()}
   * @throws IllegalArgumentException if timeout is not positive
   */
  public boolean awaitWritable(Duration timeout) throws IOException {
    return await(WRITE, writeLock, positiveNanos(timeout));
  }

  /**
   * Bounds how long one read may park; {@link Duration#ZERO} (the default) for no bound. Applies
   * from the next read on. Any thread.
   *
   * @param timeout the bound, or zero for none
   * @throws IllegalArgumentException if timeout is negative
   */
  public void setReadTimeout(Duration timeout) {
    readTimeoutNanos = timeoutNanos(timeout);
  }

  /**
   * The read timeout. Any thread.
   *
   * @return the timeout, {@link Duration#ZERO} for none
   */
  public Duration readTimeout() {
    return asDuration(readTimeoutNanos);
  }

  /**
   * Bounds how long one write may park in all; {@link Duration#ZERO} (the default) for no bound.
   * Any thread.
   *
   * @param timeout the bound, or zero for none
   * @throws IllegalArgumentException if timeout is negative
   */
  public void setWriteTimeout(Duration timeout) {
    writeTimeoutNanos = timeoutNanos(timeout);
  }

  /**
   * The write timeout. Any thread.
   *
   * @return the timeout, {@link Duration#ZERO} for none
   */
  public Duration writeTimeout() {
    return asDuration(writeTimeoutNanos);
  }

  @Override
  public String toString() {
    return "FdChannel[fd=" + fd + (isOpen() ? "]" : ", closed]");
  }

  /** Wakes parked threads; closes the fd now unless a thread is inside an operation. */
  @Override
  protected void implCloseChannel() throws IOException {
    parker.wakeAll();
    if (inside.getAndAdd(CLOSED) == 0) closeFd();
  }

  private boolean await(int flag, ReentrantLock lock, long timeoutNanos) throws IOException {
    lock.lock();
    try {
      enter();
      boolean ready = false;
      try {
        begin();
        if (isOpen()) ready = parker.await(flag, timeoutNanos);
      } finally {
        leave(isOpen());
      }
      return ready;
    } finally {
      lock.unlock();
    }
  }

  /** Parks once for {@code flag}; throws if the call's timeout (negative: none) has passed. */
  private void park(int flag, long timeoutNanos, long deadline) throws IOException {
    if (timeoutNanos < 0) {
      parker.await(flag, -1);
      return;
    }
    long remaining = deadline - System.nanoTime();
    if (remaining <= 0) throw new InterruptedByTimeoutException();
    parker.await(flag, remaining);
  }

  private void enter() throws ClosedChannelException {
    for (; ; ) {
      int current = inside.get();
      if ((current & CLOSED) != 0) throw new ClosedChannelException();
      if (inside.compareAndSet(current, current + 1)) return;
    }
  }

  /** Ends an operation begun with {@link #enter()} and {@code begin()}. */
  private void leave(boolean completed) throws IOException {
    try {
      end(completed);
    } finally {
      if (inside.decrementAndGet() == CLOSED) closeFd();
    }
  }

  /** Once, by the last thread out after close: disarms, then closes the fd. */
  private void closeFd() throws IOException {
    IOException failure = null;
    try {
      parker.retire();
    } catch (IOException e) {
      failure = e;
    }
    int result = Native.close(fd);
    if (result < 0) {
      IOException closeFailure = Errno.exception("close", fd, result);
      if (failure != null) closeFailure.addSuppressed(failure);
      failure = closeFailure;
    }
    if (failure != null) throw failure;
  }

  private static long positiveNanos(Duration timeout) {
    if (Objects.requireNonNull(timeout, "timeout").isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
    return saturatedNanos(timeout);
  }

  private static long timeoutNanos(Duration timeout) {
    if (Objects.requireNonNull(timeout, "timeout").isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative, got " + timeout);
    }
    return timeout.isZero() ? -1 : saturatedNanos(timeout);
  }

  private static long saturatedNanos(Duration timeout) {
    try {
      return timeout.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE / 2; // 146 years: no bound in practice, and no overflow in deadlines
    }
  }

  private static Duration asDuration(long nanos) {
    return nanos < 0 ? Duration.ZERO : Duration.ofNanos(nanos);
  }
}
