package io.eventwatcher.examples;

import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * The listening half that both example servers share: a non-blocking {@link ServerSocketChannel}
 * watched for READ on the server's own {@link EventWatcher} loop thread, and an orderly close.
 * Subclasses handle the accepted connections; their state belongs to the loop thread.
 */
abstract class TcpServer implements AutoCloseable {
  /** The server's event loop; its thread runs every callback of the subclass. */
  protected final EventWatcher watcher;

  private final ServerSocketChannel listener;

  /**
   * Binds {@code host:port} and starts the loop thread. Accepting starts with {@link #listen()}.
   *
   * @throws IOException if the address cannot be bound (java.net.BindException when in use)
   */
  protected TcpServer(String host, int port, int backlog, String threadName) throws IOException {
    primeForDescriptorExhaustion();
    listener = ServerSocketChannel.open();
    try {
      listener.bind(new InetSocketAddress(host, port), backlog);
      listener.configureBlocking(false);
      // Errors go to the server's own log, a stream that is already open: the default handler's
      // System.Logger may first initialise under descriptor exhaustion, and JUL then drops
      // records silently (it cannot open its configuration, so it has no handler).
      watcher =
          EventWatcher.builder()
              .threadName(threadName)
              .errorHandler(
                  (fd, error) ->
                      log((fd >= 0 ? "callback for fd " + fd : "task") + " threw: " + error))
              .build();
    } catch (IOException | RuntimeException e) {
      listener.close();
      throw e;
    }
  }

  /**
   * Starts accepting connections; the subclass's factory calls it once construction is complete.
   *
   * @throws IOException if the listener cannot be watched (the server is closed then)
   */
  protected final void listen() throws IOException {
    try {
      watcher.watch(listener, WatchFlag.READ, fd -> acceptAll());
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * The bound port (the chosen one when configured with port 0). Any thread.
   *
   * @return the port
   * @throws IOException if the listener is closed
   */
  public int port() throws IOException {
    return ((InetSocketAddress) listener.getLocalAddress()).getPort();
  }

  /**
   * Stops accepting, closes every connection and ends the loop thread. Idempotent; any thread but
   * the loop's.
   */
  @Override
  public void close() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      watcher.runInEventWatcherLoop(
          () -> {
            try {
              watcher.unwatch(listener, WatchFlag.READ); // unwatch before close, as for any fd
              listener.close();
            } catch (IOException e) {
              log("closing the listener: " + e.getMessage());
            }
            try {
              closeConnections();
            } finally {
              done.complete(null);
            }
          });
      done.join();
    } catch (RejectedExecutionException alreadyClosed) {
      // closed before
    }
    watcher.close();
  }

  /**
   * Runs, once, the code that connections need while the process may be out of descriptors, so that
   * nothing of it is first loaded then: loading a class opens its class file (or jar), which fails
   * with "Too many open files", and a connection whose read fails that way is never closed. A
   * throwaway channel's close makes the JDK initialise its channel-closing machinery, which keeps a
   * socket pair: if the first close came at the limit, every later close would fail too. A socket
   * pair exercises NativeIO's read, write, would-block and close paths.
   */
  private static void primeForDescriptorExhaustion() throws IOException {
    SocketChannel.open().close();
    int[] pair = NativeIO.socketPair();
    try {
      ByteBuffer buffer = ByteBuffer.allocateDirect(1);
      NativeIO.write(pair[0], buffer.put((byte) 1).flip());
      NativeIO.read(pair[1], buffer.clear());
      NativeIO.read(pair[1], buffer.clear()); // nothing left: would block
    } finally {
      NativeIO.close(pair[0]);
      NativeIO.close(pair[1]);
    }
  }

  private void acceptAll() {
    // The listener is level-triggered: taking one connection per call would also work, one loop
    // turn each; taking the whole backlog now saves those turns under a connection burst.
    for (; ; ) {
      SocketChannel channel = null;
      try {
        channel = listener.accept();
        if (channel == null) return; // backlog empty (EAGAIN)
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        accepted(channel);
      } catch (IOException | RuntimeException | Error e) {
        // Whatever failed (EMFILE, no direct memory for buffers...), never leak the socket.
        log("accept failed: " + e);
        closeQuietly(channel);
        if (channel == null) return; // accept itself failed: retry next turn
      }
    }
  }

  /**
   * Loop thread: unwatches a connection (both flags) and closes it, in that order. Once closed, the
   * fd number can be handed to the very next accept, so it must leave the watcher first.
   *
   * @throws IOException if unwatching or closing fails
   */
  protected final void release(int fd, SocketChannel channel) throws IOException {
    try {
      watcher.unwatch(fd, WatchFlag.READ);
      watcher.unwatch(fd, WatchFlag.WRITE);
    } finally {
      channel.close();
    }
  }

  private static void closeQuietly(SocketChannel channel) {
    if (channel == null) return;
    try {
      channel.close();
    } catch (IOException ignored) {
      // already failing; the accept error was logged
    }
  }

  /**
   * Loop thread: takes over a new connection (non-blocking, TCP_NODELAY) and watches it.
   *
   * @throws IOException if it cannot (the channel is then closed and the error logged)
   */
  protected abstract void accepted(SocketChannel channel) throws IOException;

  /** Loop thread: closes every connection; the server is shutting down. */
  protected abstract void closeConnections();

  /** Logs one line. Any thread. */
  protected abstract void log(String message);
}
