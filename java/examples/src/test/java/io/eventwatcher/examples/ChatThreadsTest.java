package io.eventwatcher.examples;

import static io.eventwatcher.examples.ChatServerTest.assertComplete;
import static io.eventwatcher.examples.ChatServerTest.awaitCount;
import static io.eventwatcher.examples.ChatServerTest.connect;
import static io.eventwatcher.examples.ChatServerTest.line;
import static io.eventwatcher.examples.ChatServerTest.readLines;
import static io.eventwatcher.examples.ChatServerTest.sendChopped;
import static io.eventwatcher.examples.ChatServerTest.verifyLinesOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The chat server on two loops (--threads 2): clients of both loops hear every line exactly once
 * and in order, lines cross loops in batches, and each loop enforces the limits on its clients.
 */
class ChatThreadsTest {
  private static final int TIMEOUT_MS = 60_000;

  private static ChatServer start(Consumer<ChatServer.Config> settings) throws IOException {
    ChatServer.Config config = new ChatServer.Config();
    config.port = 0;
    config.threads = 2;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    settings.accept(config);
    return ChatServer.start(config);
  }

  /**
   * Connects until the kernel gives a connection to loop {@code loop}, and returns it. Connections
   * that land on the other loop are closed, and their disconnection awaited, so they take no part
   * in what follows; {@code configure} prepares each socket before it connects.
   */
  private static Socket connectOn(ChatServer server, int loop, Consumer<Socket> configure)
      throws Exception {
    for (int attempt = 0; attempt < 200; attempt++) { // each lands on `loop` with odds of about 1/2
      long before = accepted(server, loop);
      long total = server.stats().connections.get();
      Socket socket = new Socket();
      configure.accept(socket);
      socket.connect(new InetSocketAddress("127.0.0.1", server.port()), TIMEOUT_MS);
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(TIMEOUT_MS);
      awaitCount(server.stats().connections::get, total + 1);
      if (accepted(server, loop) > before) return socket;
      long gone = server.stats().disconnections.get();
      socket.close();
      awaitCount(server.stats().disconnections::get, gone + 1);
    }
    throw new AssertionError("200 connections in a row went to the other loop");
  }

  private static Socket connectOn(ChatServer server, int loop) throws Exception {
    return connectOn(server, loop, socket -> {});
  }

  /** Occupies {@code loop}'s thread until {@code release} opens; returns once it does. */
  private static void hold(ChatLoop loop, CountDownLatch release) throws InterruptedException {
    CountDownLatch held = new CountDownLatch(1);
    loop.watcher.execute(
        () -> {
          held.countDown();
          try {
            release.await(TIMEOUT_MS, TimeUnit.MILLISECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        });
    held.await();
  }

  private static long accepted(ChatServer server, int loop) {
    return server.loops().get(loop).connectionsAccepted();
  }

  @Test
  void clientsOfBothLoopsReceiveEveryOtherClientsLinesExactlyOnceInOrder() throws Exception {
    final int clients = 40; // the kernel's hash leaves one loop empty with odds of 2 in 2^40
    final int linesEach = 150;
    try (ChatServer server = start(config -> config.maxPendingBytes = 64 << 20)) {
      Socket[] sockets = new Socket[clients];
      for (int c = 0; c < clients; c++) sockets[c] = connect(server.port());
      awaitCount(server.stats().connections::get, clients);
      assertTrue(accepted(server, 0) > 0 && accepted(server, 1) > 0, "clients on both loops");
      ChatServerTest.assertEveryoneHearsEveryone(sockets, linesEach);
      ChatServer.Stats stats = server.stats();
      assertEquals(clients * linesEach, stats.linesReceived.get());
      assertTrue(stats.batchesRelayed.get() > 0, "lines crossed loops");
      assertTrue(
          stats.batchesRelayed.get() < stats.linesReceived.get(),
          "batches " + stats.batchesRelayed.get() + " for " + stats.linesReceived.get() + " lines");
      assertEquals(0, stats.slowClientsDropped.get());
      for (Socket socket : sockets) socket.close();
    }
  }

  @Test
  void linesOfOneTurnCrossToTheOtherLoopAsOneBatchForAllItsClients() throws Exception {
    final int lines = 200;
    try (ChatServer server = start(config -> {})) {
      Socket sender = connectOn(server, 0);
      Socket bystander = connectOn(server, 0);
      Socket first = connectOn(server, 1);
      Socket second = connectOn(server, 1);
      try {
        // Hold loop 0 while the sender writes its lines in five writes: the loop then reads them
        // all in one turn, and hands them to loop 1 as one batch for both its clients.
        CountDownLatch release = new CountDownLatch(1);
        hold(server.loops().get(0), release);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int seq = 0; seq < lines; seq++) all.writeBytes(line(0, seq));
        byte[] bytes = all.toByteArray();
        assertTrue(bytes.length < ChatLoop.BATCH_BYTES);
        int fifth = bytes.length / 5;
        for (int i = 0; i < 5; i++) {
          int end = i == 4 ? bytes.length : (i + 1) * fifth;
          sender.getOutputStream().write(bytes, i * fifth, end - i * fifth);
        }
        long before = server.stats().batchesRelayed.get();
        release.countDown();
        for (Socket receiver : List.of(bystander, first, second)) {
          assertComplete(1, readLines(receiver, lines), List.of(0), lines);
        }
        assertEquals(1, server.stats().batchesRelayed.get() - before, "one batch, one task");
      } finally {
        for (Socket socket : List.of(sender, bystander, first, second)) socket.close();
      }
    }
  }

  @Test
  void aSlowReaderIsDroppedByItsOwnLoopWhileBothLoopsReceiveEverything() throws Exception {
    ExecutorService pool = Executors.newCachedThreadPool();
    try (ChatServer server = start(config -> config.maxPendingBytes = 64 * 1024)) {
      Socket sender = connectOn(server, 0);
      Socket near = connectOn(server, 0);
      Socket far = connectOn(server, 1);
      // Keep the kernel from absorbing much on the slow client's behalf.
      Socket slow = connectOn(server, 1, socket -> setReceiveBuffer(socket, 4096));
      long gone = server.stats().disconnections.get(); // the misplaced connections' closes
      List<AtomicInteger> verified = new ArrayList<>();
      List<Future<?>> readers = new ArrayList<>();
      for (Socket reader : List.of(near, far)) {
        AtomicInteger count = new AtomicInteger();
        verified.add(count);
        readers.add(pool.submit(() -> verifyLinesOf(1, reader, count)));
      }
      int sent = ChatServerTest.sendUntilOneIsSlow(server, sender);
      for (AtomicInteger count : verified) awaitCount(count::get, sent);
      assertEquals(gone + 1, server.stats().disconnections.get(), "only the slow one was dropped");
      for (Future<?> reader : readers) assertTrue(reader.isDone() || reader.cancel(true));
      for (Socket socket : List.of(sender, near, far, slow)) socket.close();
    } finally {
      pool.shutdownNow();
    }
  }

  private static void setReceiveBuffer(Socket socket, int bytes) {
    try {
      socket.setReceiveBufferSize(bytes);
    } catch (IOException e) {
      throw new RuntimeException(e);
    }
  }

  @Test
  void aLoopStopsReadingWhileAnotherLoopHasNotTakenItsBatches() throws Exception {
    final int lines = 40_000; // about 2.4 MB: far past what loop 1 may have waiting
    ExecutorService pool = Executors.newCachedThreadPool();
    CountDownLatch release = new CountDownLatch(1);
    try (ChatServer server = start(config -> config.maxPendingBytes = 64 << 20)) {
      Socket sender = connectOn(server, 0);
      Socket reader = connectOn(server, 1);
      AtomicInteger verified = new AtomicInteger();
      Future<?> reading = pool.submit(() -> verifyLinesOf(0, reader, verified));
      ChatLoop receiving = server.loops().get(1);
      hold(receiving, release); // loop 1 takes in nothing until released
      Future<?> sending =
          pool.submit(
              () -> {
                List<byte[]> all = new ArrayList<>();
                for (int seq = 0; seq < lines; seq++) all.add(line(0, seq));
                sendChopped(sender, all, new Random(5)); // blocks once TCP pushes back
                return null;
              });
      awaitCount(server.stats().readPauses::get, 1);
      long backlog = receiving.relayBacklog();
      // Loop 0 paused at the first batch past the mark; what it had read by then follows.
      assertTrue(
          backlog <= ChatLoop.RELAY_HIGH + 2L * ChatLoop.BATCH_BYTES,
          "backlog " + backlog + " while paused");
      assertTrue(verified.get() == 0, "loop 1 was held: nothing relayed yet");
      release.countDown();
      sending.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      awaitCount(verified::get, lines); // every line, in order, once loop 1 catches up
      assertEquals(0, receiving.relayBacklog());
      assertEquals(0, server.stats().slowClientsDropped.get());
      assertTrue(reading.cancel(true) || reading.isDone());
      sender.close();
      reader.close();
    } finally {
      release.countDown();
      pool.shutdownNow();
    }
  }

  @Test
  void eachLoopDisconnectsItsOwnIdleClients() throws Exception {
    try (ChatServer server = start(config -> config.idleTimeout = Duration.ofSeconds(1))) {
      Socket idleOn0 = connectOn(server, 0);
      Socket idleOn1 = connectOn(server, 1); // misplaced ones are closed by the client: no timeout
      try {
        List<CompletableFuture<Boolean>> closed = new ArrayList<>();
        for (Socket idle : List.of(idleOn0, idleOn1)) {
          closed.add(
              CompletableFuture.supplyAsync(
                  () -> {
                    try {
                      return ChatDefenceTest.closedByServer(idle);
                    } catch (IOException e) {
                      throw new RuntimeException(e);
                    }
                  }));
        }
        for (CompletableFuture<Boolean> done : closed) {
          assertTrue(done.get(TIMEOUT_MS, TimeUnit.MILLISECONDS));
        }
        assertEquals(2, server.stats().idleTimeouts.get());
      } finally {
        idleOn0.close();
        idleOn1.close();
      }
    }
  }
}
