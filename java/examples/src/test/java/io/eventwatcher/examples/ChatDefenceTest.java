package io.eventwatcher.examples;

import static io.eventwatcher.examples.ChatServerTest.awaitCount;
import static io.eventwatcher.examples.ChatServerTest.connect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.eventwatcher.examples.ChatServerTest.LineReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The chat server against idle clients, more clients than allowed, and a connection burst. */
class ChatDefenceTest {
  private static final int PATIENCE_MS = 30_000;

  private static ChatServer start(Consumer<ChatServer.Config> settings) throws IOException {
    ChatServer.Config config = new ChatServer.Config();
    config.port = 0;
    config.maxLineBytes = 1024;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    settings.accept(config);
    return ChatServer.start(config);
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** True once the server has closed the connection (EOF or reset), skipping what it relayed. */
  static boolean closedByServer(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[8192];
    try {
      while (in.read(buffer) >= 0) {
        // lines relayed before the close
      }
      return true;
    } catch (SocketException reset) {
      return true;
    }
  }

  @Test
  void anIdleClientIsDisconnectedAndActiveOnesStay() throws Exception {
    try (ChatServer server = start(config -> config.idleTimeout = Duration.ofSeconds(1));
        Socket idle = connect(server.port());
        Socket alice = connect(server.port());
        Socket bob = connect(server.port())) {
      awaitCount(server.stats().connections::get, 3);
      CompletableFuture<Boolean> idleClosed =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return closedByServer(idle);
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });
      // Alice and Bob talk in turn until the idle client is gone: they span the timeout, yet
      // neither is silent for long.
      LineReader toAlice = new LineReader(alice);
      LineReader toBob = new LineReader(bob);
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
      int turns = 0;
      while (server.stats().idleTimeouts.get() == 0) {
        alice.getOutputStream().write(ascii("alice " + turns + "\n"));
        assertEquals("alice " + turns, toBob.next());
        bob.getOutputStream().write(ascii("bob " + turns + "\n"));
        assertEquals("bob " + turns, toAlice.next());
        turns++;
        assertTrue(System.nanoTime() < deadline, "the idle client was never disconnected");
      }
      assertTrue(idleClosed.get(PATIENCE_MS, TimeUnit.MILLISECONDS));
      alice.getOutputStream().write(ascii("still here\n"));
      assertEquals("still here", toBob.next(), "an active client was disconnected");
      assertEquals(1, server.stats().idleTimeouts.get());
      assertEquals(1, server.stats().disconnections.get());
    }
  }

  @Test
  void aConnectionBeyondTheLimitIsClosedAtOnce() throws Exception {
    try (ChatServer server = start(config -> config.maxConnections = 2);
        Socket first = connect(server.port());
        Socket second = connect(server.port())) {
      awaitCount(server.stats().connections::get, 2);
      try (Socket third = connect(server.port())) {
        assertTrue(closedByServer(third));
      }
      assertEquals(1, server.stats().refused.get());
      assertEquals(2, server.stats().connections.get());
      first.getOutputStream().write(ascii("hello\n"));
      assertEquals("hello", new LineReader(second).next(), "the two admitted ones still talk");
    }
  }

  /**
   * A thousand clients connect at once while the loop is held up, so that none is accepted until
   * all have connected: all must wait in the listen backlog. With the old backlog of 128 the rest
   * had their SYNs dropped and joined seconds later, if at all; the default, the system's
   * somaxconn, holds them all. Then every one has joined: a line from one reaches the 999 others.
   */
  @Test
  void aBurstOfAThousandClientsAllJoin() throws Exception {
    final int clients = 1000;
    int somaxconn = TcpServer.defaultBacklog();
    assertTrue(somaxconn >= clients, "net.core.somaxconn " + somaxconn + " caps every backlog");
    CountDownLatch release = new CountDownLatch(1);
    List<SocketChannel> channels = new ArrayList<>();
    try (ChatServer server = start(config -> {});
        Selector selector = Selector.open()) {
      CountDownLatch held = new CountDownLatch(1);
      server
          .loops()
          .get(0)
          .watcher
          .runInEventWatcherLoop(
              () -> {
                held.countDown();
                try {
                  release.await(2 * PATIENCE_MS, TimeUnit.MILLISECONDS); // past awaitQueued's
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      held.await();
      InetSocketAddress address = new InetSocketAddress("127.0.0.1", server.port());
      for (int i = 0; i < clients; i++) {
        SocketChannel channel = SocketChannel.open();
        channels.add(channel);
        channel.configureBlocking(false);
        if (!channel.connect(address)) channel.register(selector, SelectionKey.OP_CONNECT);
      }
      awaitQueued(server.port(), clients); // all in the kernel's accept queue; none accepted yet
      assertEquals(0, server.stats().connections.get());
      release.countDown();
      while (!selector.keys().isEmpty()) {
        selector.select(PATIENCE_MS);
        for (SelectionKey key : selector.selectedKeys()) {
          ((SocketChannel) key.channel()).finishConnect();
          key.cancel();
        }
        selector.selectedKeys().clear();
        selector.selectNow(); // flush the cancelled keys
      }
      awaitCount(server.stats().connections::get, clients);

      for (SocketChannel channel : channels) channel.configureBlocking(true);
      channels.get(0).write(ByteBuffer.wrap(ascii("hello, all\n")));
      for (SocketChannel channel : channels.subList(1, clients)) {
        channel.socket().setSoTimeout(PATIENCE_MS);
        byte[] line = channel.socket().getInputStream().readNBytes(11);
        assertEquals("hello, all\n", new String(line, StandardCharsets.US_ASCII));
      }
      assertEquals(clients, server.stats().connections.get());
      assertEquals(0, server.stats().acceptFailures.get());
    } finally {
      release.countDown();
      for (SocketChannel channel : channels) channel.close();
    }
  }

  /**
   * Waits until the listening socket on {@code port} has {@code count} connections waiting to be
   * accepted: for a listener, the rx_queue column of /proc/net/tcp6 (the JDK listens on a
   * dual-stack socket) or /proc/net/tcp is its accept queue's length.
   */
  private static void awaitQueued(int port, int count) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    long queued;
    while ((queued = acceptQueue(port)) < count) {
      if (System.nanoTime() > deadline) {
        fail("only " + queued + " of " + count + " connections fit in the listen backlog");
      }
      Thread.sleep(10); // polling a kernel counter; the bound is only for a broken server
    }
  }

  private static long acceptQueue(int port) throws IOException {
    String local = String.format(Locale.ROOT, ":%04X", port);
    for (String table : new String[] {"/proc/net/tcp6", "/proc/net/tcp"}) {
      if (!Files.exists(Path.of(table))) continue;
      for (String line : Files.readAllLines(Path.of(table))) {
        String[] fields = line.trim().split("\\s+");
        // sl local_address rem_address st tx_queue:rx_queue ...; st 0A is LISTEN
        if (fields.length > 4 && fields[1].endsWith(local) && fields[3].equals("0A")) {
          return Long.parseLong(fields[4].substring(fields[4].indexOf(':') + 1), 16);
        }
      }
    }
    return -1;
  }
}
