package io.eventwatcher;

import io.eventwatcher.internal.Errno;
import io.eventwatcher.internal.Native;
import io.eventwatcher.internal.NativeLibrary;
import java.io.FileDescriptor;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.util.Objects;

/**
 * The int file descriptor behind Java objects, read in native code, so no {@code --add-opens} or
 * {@code --add-exports} flag is needed. All methods are thread-safe.
 */
public final class FileDescriptors {
  private FileDescriptors() {}

  /**
   * The fd of a {@link FileDescriptor}.
   *
   * @param descriptor an open descriptor
   * @return the fd, at least 0
   * @throws NullPointerException if descriptor is null
   * @throws IllegalArgumentException if the descriptor is not valid (closed or never opened)
   * @throws UnsupportedOperationException if the native library is unavailable
   */
  public static int fd(FileDescriptor descriptor) {
    Objects.requireNonNull(descriptor, "descriptor");
    NativeLibrary.ensureAvailable();
    int fd = Native.fdOf(descriptor);
    if (fd < 0) throw new IllegalArgumentException("FileDescriptor is not valid (closed?)");
    return fd;
  }

  /**
   * The fd of a JDK channel: SocketChannel, ServerSocketChannel, DatagramChannel,
   * Pipe.SourceChannel or Pipe.SinkChannel of the default provider.
   *
   * @param channel an open channel
   * @return the fd, at least 0
   * @throws NullPointerException if channel is null
   * @throws ClosedChannelException if the channel is closed (its old number may belong to another
   *     file by now)
   * @throws IllegalArgumentException if the channel does not come from the JDK's default provider
   * @throws UnsupportedOperationException if the native library is unavailable, or this JDK does
   *     not expose channel fds
   */
  public static int fd(SelectableChannel channel) throws ClosedChannelException {
    Objects.requireNonNull(channel, "channel");
    NativeLibrary.ensureAvailable();
    if (!channel.isOpen()) throw new ClosedChannelException();
    int fd = Native.fdOfChannel(channel);
    if (fd == -Errno.ENOSYS) {
      throw new UnsupportedOperationException("this JDK does not expose the fd of its channels");
    }
    if (fd == -Errno.EBADF) throw new ClosedChannelException(); // closed meanwhile
    if (fd < 0) {
      throw new IllegalArgumentException(
          "not a channel of the JDK's default provider: " + channel.getClass().getName());
    }
    return fd;
  }
}
