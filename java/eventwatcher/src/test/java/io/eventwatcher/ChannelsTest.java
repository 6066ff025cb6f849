package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.flushTurns;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.internal.Errno;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.nio.channels.IllegalBlockingModeException;
import java.nio.channels.Pipe;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JDK channels and FileDescriptors: the Java-specific overloads, on loopback only. */
class ChannelsTest {
  private static final InetSocketAddress LOOPBACK_ANY_PORT =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

  @TempDir Path temp;

  @Test
  void serverSocketChannelIsReadableWhenAConnectionWaits() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
      server.bind(new InetSocketAddress("127.0.0.1", 0)).configureBlocking(false);
      CompletableFuture<SocketChannel> accepted = new CompletableFuture<>();
      CompletableFuture<Integer> seenFd = new CompletableFuture<>();
      watcher.watch(
          server,
          WatchFlag.READ,
          fd -> {
            SocketChannel connection = server.accept(); // null if spurious
            if (connection != null) {
              watcher.unwatch(server, WatchFlag.READ);
              seenFd.complete(fd);
              accepted.complete(connection);
            }
          });
      try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
          SocketChannel connection = await(accepted, "the accept callback")) {
        assertEquals(FileDescriptors.fd(server), await(seenFd, "the accept callback"));
        assertEquals(client.getLocalAddress(), connection.getRemoteAddress());
      }
    }
  }

  @Test
  void socketChannelsReadAndWriteOnLoopback() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        ServerSocketChannel server = ServerSocketChannel.open()) {
      server.bind(LOOPBACK_ANY_PORT);
      try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
          SocketChannel peer = server.accept()) {
        client.configureBlocking(false);
        peer.configureBlocking(false);
        // The client writes "ping" once writable; the peer answers "pong" once it has read it.
        ByteBuffer ping = ByteBuffer.wrap("ping".getBytes(StandardCharsets.US_ASCII));
        watcher.watch(
            client,
            WatchFlag.WRITE,
            fd -> {
              client.write(ping);
              if (!ping.hasRemaining()) watcher.unwatch(client, WatchFlag.WRITE);
            });
        ByteBuffer received = ByteBuffer.allocate(4);
        watcher.watch(
            peer,
            WatchFlag.READ,
            fd -> {
              peer.read(received);
              if (!received.hasRemaining()) {
                watcher.unwatch(peer, WatchFlag.READ);
                peer.write(ByteBuffer.wrap("pong".getBytes(StandardCharsets.US_ASCII)));
              }
            });
        ByteBuffer answer = ByteBuffer.allocate(4);
        CompletableFuture<String> reply = new CompletableFuture<>();
        watcher.watch(
            client,
            WatchFlag.READ,
            fd -> {
              if (client.read(answer) < 0 || !answer.hasRemaining()) {
                watcher.unwatch(client, WatchFlag.READ);
                reply.complete(
                    new String(answer.array(), 0, answer.position(), StandardCharsets.US_ASCII));
              }
            });
        assertEquals("pong", await(reply, "the round trip"));
        assertEquals("ping", new String(received.array(), StandardCharsets.US_ASCII));
      }
    }
  }

  @Test
  void datagramChannelIsReadableWhenADatagramArrives() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        DatagramChannel receiver = DatagramChannel.open(StandardProtocolFamily.INET);
        DatagramChannel sender = DatagramChannel.open(StandardProtocolFamily.INET)) {
      receiver.bind(new InetSocketAddress("127.0.0.1", 0)).configureBlocking(false);
      CompletableFuture<String> received = new CompletableFuture<>();
      watcher.watch(
          receiver,
          WatchFlag.READ,
          fd -> {
            ByteBuffer buffer = ByteBuffer.allocate(64);
            if (receiver.receive(buffer) != null) {
              watcher.unwatch(receiver, WatchFlag.READ);
              received.complete(
                  new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII));
            }
          });
      sender.send(
          ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), receiver.getLocalAddress());
      assertEquals("hello", await(received, "the datagram"));
    }
  }

  @Test
  void pipeChannelsSinkWritableAndSourceReadable() throws Exception {
    Pipe pipe = Pipe.open();
    try (EventWatcher watcher = new EventWatcher();
        Pipe.SourceChannel source = pipe.source();
        Pipe.SinkChannel sink = pipe.sink()) {
      source.configureBlocking(false);
      sink.configureBlocking(false);
      Counter readable = new Counter();
      watcher.watch(source, WatchFlag.READ, readable);
      CompletableFuture<Integer> written = new CompletableFuture<>();
      watcher.watch(
          sink,
          WatchFlag.WRITE,
          fd -> {
            watcher.unwatch(sink, WatchFlag.WRITE);
            written.complete(sink.write(ByteBuffer.wrap(new byte[] {42})));
          });
      assertEquals(1, await(written, "the sink's write callback"));
      eventually(() -> readable.calls() > 0, "the source's read callback");
      watcher.unwatch(source, WatchFlag.READ);
      ByteBuffer buffer = ByteBuffer.allocate(1);
      assertEquals(1, source.read(buffer));
      assertEquals(42, buffer.get(0));
      int calls = readable.calls();
      flushTurns(watcher);
      assertEquals(calls, readable.calls(), "called after unwatch(channel)");
    }
  }

  @Test
  void blockingModeChannelIsIllegalBlockingMode() throws Exception {
    Pipe pipe = Pipe.open();
    try (EventWatcher watcher = new EventWatcher();
        Pipe.SourceChannel source = pipe.source();
        Pipe.SinkChannel sink = pipe.sink()) {
      assertTrue(source.isBlocking());
      assertThrows(
          IllegalBlockingModeException.class,
          () -> watcher.watch(source, WatchFlag.READ, fd -> {}));
      // Nothing was registered: the channel may switch to non-blocking and be watched.
      source.configureBlocking(false);
      Counter counter = new Counter();
      watcher.watch(source, WatchFlag.READ, counter);
      sink.write(ByteBuffer.wrap(new byte[] {1}));
      eventually(() -> counter.calls() > 0, "the callback");
      watcher.unwatch(source, WatchFlag.READ);
    }
  }

  @Test
  void closedChannelIsClosedChannelException() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      SocketChannel channel = SocketChannel.open();
      channel.configureBlocking(false);
      channel.close();
      assertThrows(
          ClosedChannelException.class, () -> watcher.watch(channel, WatchFlag.READ, fd -> {}));
      assertThrows(ClosedChannelException.class, () -> watcher.unwatch(channel, WatchFlag.READ));
      assertThrows(ClosedChannelException.class, () -> FileDescriptors.fd(channel));
    }
  }

  @Test
  void channelFdMatchesTheFdTheCallbackReceives() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        DatagramChannel channel = DatagramChannel.open()) {
      channel.configureBlocking(false);
      int fd = FileDescriptors.fd(channel);
      assertTrue(fd > 2, "fd " + fd);
      assertEquals(fd, FileDescriptors.fd(channel), "stable");
      CompletableFuture<Integer> seen = new CompletableFuture<>();
      watcher.watch(
          channel,
          WatchFlag.WRITE,
          calledWith -> {
            watcher.unwatch(channel, WatchFlag.WRITE);
            seen.complete(calledWith);
          });
      assertEquals(fd, await(seen, "the write callback"));
      // The fd is the channel's own: /proc/self/fd/N names a socket.
      assertTrue(
          Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().startsWith("socket:"),
          "fd " + fd + " is not the channel's socket");
    }
  }

  @Test
  void distinctChannelsHaveDistinctFds() throws Exception {
    Pipe pipe = Pipe.open();
    try (Pipe.SourceChannel source = pipe.source();
        Pipe.SinkChannel sink = pipe.sink()) {
      assertNotEquals(FileDescriptors.fd(source), FileDescriptors.fd(sink));
    }
  }

  @Test
  void fileDescriptorOverloadsWatchAndUnwatch() throws Exception {
    Pipe pipe = Pipe.open();
    try (EventWatcher watcher = new EventWatcher();
        Pipe.SourceChannel source = pipe.source();
        Pipe.SinkChannel sink = pipe.sink();
        // A stream on the same pipe, through /proc: its FileDescriptor holds a new fd.
        FileInputStream stream =
            new FileInputStream("/proc/self/fd/" + FileDescriptors.fd(source))) {
      FileDescriptor descriptor = stream.getFD();
      int fd = FileDescriptors.fd(descriptor);
      assertEquals(
          Files.readSymbolicLink(Path.of("/proc/self/fd/" + FileDescriptors.fd(source))),
          Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)),
          "the descriptor's fd is not the stream's pipe");
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Integer> seen = new CompletableFuture<>();
      watcher.watch(
          descriptor,
          WatchFlag.READ,
          calledWith -> {
            calls.incrementAndGet();
            seen.complete(calledWith);
          });
      sink.write(ByteBuffer.wrap(new byte[] {1}));
      assertEquals(fd, await(seen, "the callback"));
      watcher.unwatch(descriptor, WatchFlag.READ);
      int callsAtUnwatch = calls.get();
      flushTurns(watcher);
      assertEquals(callsAtUnwatch, calls.get(), "called after unwatch(FileDescriptor)");
    }
  }

  @Test
  void regularFileDescriptorIsEpermAndStandardInIsZero() throws Exception {
    Path file = Files.writeString(temp.resolve("file.txt"), "x");
    try (EventWatcher watcher = new EventWatcher();
        RandomAccessFile random = new RandomAccessFile(file.toFile(), "r")) {
      ErrnoException error =
          assertThrows(
              ErrnoException.class, () -> watcher.watch(random.getFD(), WatchFlag.READ, fd -> {}));
      assertEquals(Errno.EPERM, error.errno());
      assertEquals(FileDescriptors.fd(random.getFD()), error.fd());
    }
    assertEquals(0, FileDescriptors.fd(FileDescriptor.in));
    assertEquals(1, FileDescriptors.fd(FileDescriptor.out));
    assertEquals(2, FileDescriptors.fd(FileDescriptor.err));
  }

  @Test
  void invalidFileDescriptorIsIllegalArgument() throws Exception {
    Path file = Files.writeString(temp.resolve("closed.txt"), "x");
    FileInputStream stream = new FileInputStream(file.toFile());
    FileDescriptor closed = stream.getFD();
    stream.close();
    try (EventWatcher watcher = new EventWatcher()) {
      assertThrows(IllegalArgumentException.class, () -> FileDescriptors.fd(new FileDescriptor()));
      assertThrows(IllegalArgumentException.class, () -> FileDescriptors.fd(closed));
      assertThrows(
          IllegalArgumentException.class,
          () -> watcher.watch(new FileDescriptor(), WatchFlag.READ, fd -> {}));
      assertThrows(IllegalArgumentException.class, () -> watcher.unwatch(closed, WatchFlag.READ));
    }
  }

  @Test
  void channelOfAnotherProviderIsIllegalArgument() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        ForeignChannel foreign = new ForeignChannel()) {
      foreign.configureBlocking(false);
      assertThrows(IllegalArgumentException.class, () -> FileDescriptors.fd(foreign));
      assertThrows(
          IllegalArgumentException.class, () -> watcher.watch(foreign, WatchFlag.READ, fd -> {}));
    }
  }

  /** A selectable channel of no JDK provider. */
  private static final class ForeignChannel
      extends java.nio.channels.spi.AbstractSelectableChannel {
    ForeignChannel() {
      super(null);
    }

    @Override
    protected void implCloseSelectableChannel() {}

    @Override
    protected void implConfigureBlocking(boolean block) {}

    @Override
    public int validOps() {
      return java.nio.channels.SelectionKey.OP_READ;
    }
  }
}
