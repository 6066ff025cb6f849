package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The chat server with real TCP clients on loopback. */
class ChatServerTest {
  private static final int TIMEOUT_MS = 60_000;

  private static ChatServer start(int maxPendingBytes, int maxLineBytes) throws IOException {
    ChatServer.Config config = new ChatServer.Config();
    config.port = 0;
    config.maxPendingBytes = maxPendingBytes;
    config.maxLineBytes = maxLineBytes;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    return ChatServer.start(config);
  }

  /**
   * Line {@code seq} of client {@code sender}: "sender:seq:payload\n", the payload's length and
   * bytes derived from both, so a receiver can check every byte.
   */
  static byte[] line(int sender, int seq) {
    Random random = new Random(sender * 1_000_003L + seq);
    StringBuilder text = new StringBuilder().append(sender).append(':').append(seq).append(':');
    int length = 1 + random.nextInt(80);
    for (int i = 0; i < length; i++) text.append((char) ('a' + random.nextInt(26)));
    return text.append('\n').toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** A blocking client socket with TCP_NODELAY, so each write goes out as its own segment. */
  static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(TIMEOUT_MS);
    return socket;
  }

  /**
   * Writes all lines as one byte stream cut at random points: lines split across writes, and
   * several lines per write.
   */
  static void sendChopped(Socket socket, List<byte[]> lines, Random random) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (byte[] line : lines) all.writeBytes(line);
    byte[] bytes = all.toByteArray();
    OutputStream out = socket.getOutputStream();
    for (int offset = 0; offset < bytes.length; ) {
      int chunk = Math.min(bytes.length - offset, 1 + random.nextInt(1500));
      out.write(bytes, offset, chunk);
      out.flush();
      offset += chunk;
    }
  }

  /** Reads newline-terminated lines from a socket, keeping partial lines between calls. */
  static final class LineReader {
    private final InputStream in;
    private final byte[] buffer = new byte[65536];
    private final ByteArrayOutputStream current = new ByteArrayOutputStream();
    private final ArrayDeque<String> ready = new ArrayDeque<>();

    LineReader(Socket socket) throws IOException {
      this.in = socket.getInputStream();
    }

    /** The next line, without its newline. */
    String next() throws IOException {
      while (ready.isEmpty()) {
        int n = in.read(buffer);
        if (n < 0) throw new IOException("EOF");
        int start = 0;
        for (int i = 0; i < n; i++) {
          if (buffer[i] != '\n') continue;
          current.write(buffer, start, i - start);
          ready.add(current.toString(StandardCharsets.US_ASCII));
          current.reset();
          start = i + 1;
        }
        current.write(buffer, start, n - start);
      }
      return ready.poll();
    }
  }

  /** Reads lines until {@code count} have arrived; returns them without their newline. */
  static List<String> readLines(Socket socket, int count) throws IOException {
    LineReader reader = new LineReader(socket);
    List<String> lines = new ArrayList<>(count);
    while (lines.size() < count) {
      try {
        lines.add(reader.next());
      } catch (IOException e) {
        throw new IOException(
            "after " + lines.size() + " of " + count + " lines: " + e.getMessage(), e);
      }
    }
    return lines;
  }

  /** Expected lines (without newline) of clients 0..199, lines 0..199, computed once. */
  private static final String[][] EXPECTED = new String[200][200];

  static {
    for (int sender = 0; sender < EXPECTED.length; sender++) {
      for (int seq = 0; seq < EXPECTED[sender].length; seq++) {
        byte[] bytes = line(sender, seq);
        EXPECTED[sender][seq] = new String(bytes, 0, bytes.length - 1, StandardCharsets.US_ASCII);
      }
    }
  }

  /**
   * Checks that {@code received} holds, per sender in {@code senders}, exactly lines 0..count-1 in
   * order, byte-exact.
   */
  static void assertComplete(
      int receiver, List<String> received, List<Integer> senders, int count) {
    int[] next = new int[EXPECTED.length];
    for (String text : received) {
      int sender = Integer.parseInt(text, 0, text.indexOf(':'), 10);
      assertTrue(sender != receiver, "client " + receiver + " received its own line");
      int seq = next[sender]++;
      if (!EXPECTED[sender][seq].equals(text)) {
        assertEquals(
            EXPECTED[sender][seq],
            text,
            "client " + receiver + ": line " + seq + " of client " + sender);
      }
    }
    for (int sender : senders) {
      if (sender != receiver)
        assertEquals(count, next[sender], "client " + receiver + " from " + sender);
    }
  }

  static void awaitCount(LongSupplier counter, long target) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
    while (counter.getAsLong() < target) {
      assertTrue(
          System.nanoTime() < deadline,
          "counter stuck at " + counter.getAsLong() + ", wanted " + target);
      Thread.sleep(
          1); // polling a counter the server advances; the bound is only for a broken server
    }
  }

  @Test
  void everyClientReceivesEveryOtherClientsLinesExactlyOnceInOrder() throws Exception {
    try (ChatServer server = start(64 << 20, 64 * 1024)) {
      Socket[] sockets = new Socket[200];
      for (int c = 0; c < sockets.length; c++) sockets[c] = connect(server.port());
      awaitCount(server.stats().connections::get, sockets.length);
      assertEveryoneHearsEveryone(sockets, 100);
      for (Socket socket : sockets) socket.close();
      assertEquals(0, server.stats().slowClientsDropped.get());
    }
  }

  /**
   * Every client sends {@code linesEach} lines, chopped at random, all at once; checks that every
   * client receives every other client's lines exactly once, in order, byte-exact. Each reader
   * checks its own lines, so verification runs in parallel.
   */
  static void assertEveryoneHearsEveryone(Socket[] sockets, int linesEach) throws Exception {
    int clients = sockets.length;
    ExecutorService pool = Executors.newFixedThreadPool(2 * clients);
    try {
      List<Integer> everyone = new ArrayList<>();
      for (int c = 0; c < clients; c++) everyone.add(c);
      List<Future<?>> received = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        final int receiver = c;
        received.add(
            pool.submit(
                () -> {
                  assertComplete(
                      receiver,
                      readLines(sockets[receiver], (clients - 1) * linesEach),
                      everyone,
                      linesEach);
                  return null;
                }));
      }
      List<Future<?>> sent = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        final int sender = c;
        sent.add(
            pool.submit(
                () -> {
                  List<byte[]> lines = new ArrayList<>();
                  for (int seq = 0; seq < linesEach; seq++) lines.add(line(sender, seq));
                  sendChopped(sockets[sender], lines, new Random(sender));
                  return null;
                }));
      }
      for (Future<?> future : sent) future.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      for (Future<?> future : received) future.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void slowClientIsDisconnectedAtItsLimitWhileOthersReceiveEverything() throws Exception {
    ExecutorService pool = Executors.newCachedThreadPool();
    try (ChatServer server = start(64 * 1024, 64 * 1024)) {
      Socket slow = new Socket();
      slow.setReceiveBufferSize(4096); // keep the kernel from absorbing much on its behalf
      slow.connect(new InetSocketAddress("127.0.0.1", server.port()), TIMEOUT_MS);
      Socket sender = connect(server.port());
      Socket reader = connect(server.port());
      awaitCount(server.stats().connections::get, 3);
      // The reader checks every line as it arrives (sender is client 1 in line()).
      AtomicInteger verified = new AtomicInteger();
      Future<?> reading = pool.submit(() -> verifyLinesOf(1, reader, verified));
      int sent = sendUntilOneIsSlow(server, sender);
      awaitCount(verified::get, sent);
      assertEquals(1, server.stats().disconnections.get(), "only the slow client was dropped");
      slow.close();
      sender.close();
      reader.close();
      assertTrue(reading.isDone() || reading.cancel(true));
    } finally {
      pool.shutdownNow();
    }
  }

  /** Reads lines 0, 1, ... of {@code sender} until interrupted, counting each once checked. */
  static Void verifyLinesOf(int sender, Socket socket, AtomicInteger count) throws IOException {
    LineReader lines = new LineReader(socket);
    for (int seq = 0; ; seq++) {
      byte[] expected = line(sender, seq);
      assertEquals(
          new String(expected, 0, expected.length - 1, StandardCharsets.US_ASCII), lines.next());
      count.incrementAndGet();
    }
  }

  /**
   * Sends lines of client 1 from {@code sender}, a thousand at a time, until the server has dropped
   * one client as slow; returns how many it sent. How much the kernel buffers for a client that
   * does not read varies (loopback autotunes send buffers to megabytes), so the test does not
   * guess. Bounded at ~200 MB.
   */
  static int sendUntilOneIsSlow(ChatServer server, Socket sender) throws IOException {
    Random random = new Random(7);
    int sent = 0;
    while (server.stats().slowClientsDropped.get() == 0 && sent < 3_000_000) {
      List<byte[]> batch = new ArrayList<>();
      for (int i = 0; i < 1000; i++) batch.add(line(1, sent + i));
      sendChopped(sender, batch, random);
      sent += batch.size();
    }
    assertEquals(1, server.stats().slowClientsDropped.get(), "the slow client was never dropped");
    return sent;
  }

  @Test
  void clientsLeavingMidStreamDoNotDisturbTheRest() throws Exception {
    final int stayers = 15;
    final int leavers = 5;
    final int linesEach = 200;
    ExecutorService pool = Executors.newCachedThreadPool();
    try (ChatServer server = start(64 << 20, 64 * 1024)) {
      Socket[] sockets = new Socket[stayers + leavers];
      for (int c = 0; c < sockets.length; c++) sockets[c] = connect(server.port());
      awaitCount(server.stats().connections::get, sockets.length);
      List<Integer> staying = new ArrayList<>();
      for (int c = 0; c < stayers; c++) staying.add(c);
      // Stayers read everything from other stayers; lines from leavers may or may not arrive,
      // so the check filters them out.
      List<Future<List<String>>> received = new ArrayList<>();
      for (int c = 0; c < stayers; c++) {
        Socket socket = sockets[c];
        received.add(
            pool.submit(() -> readUntilFromStayers(socket, stayers, (stayers - 1) * linesEach)));
      }
      List<Future<?>> sent = new ArrayList<>();
      for (int c = 0; c < sockets.length; c++) {
        final int sender = c;
        sent.add(
            pool.submit(
                () -> {
                  List<byte[]> lines = new ArrayList<>();
                  for (int seq = 0; seq < linesEach; seq++) lines.add(line(sender, seq));
                  if (sender >= stayers) {
                    // Leave mid-stream: half the lines, a torn one, then an abrupt close (RST).
                    sendChopped(
                        sockets[sender], lines.subList(0, linesEach / 2), new Random(sender));
                    sockets[sender]
                        .getOutputStream()
                        .write(Arrays.copyOf(lines.get(linesEach / 2), 5));
                    sockets[sender].setSoLinger(true, 0);
                    sockets[sender].close();
                  } else {
                    sendChopped(sockets[sender], lines, new Random(sender));
                  }
                  return null;
                }));
      }
      for (Future<?> future : sent) future.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      for (int c = 0; c < stayers; c++) {
        assertComplete(
            c, received.get(c).get(TIMEOUT_MS, TimeUnit.MILLISECONDS), staying, linesEach);
      }
      awaitCount(server.stats().disconnections::get, leavers);
      for (int c = 0; c < stayers; c++) sockets[c].close();
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Reads lines, keeping those from clients below {@code stayers}, until {@code count} are kept.
   */
  private static List<String> readUntilFromStayers(Socket socket, int stayers, int count)
      throws IOException {
    LineReader reader = new LineReader(socket);
    List<String> kept = new ArrayList<>();
    while (kept.size() < count) {
      String text = reader.next();
      if (Integer.parseInt(text.substring(0, text.indexOf(':'))) < stayers) kept.add(text);
    }
    return kept;
  }

  @Test
  void aLineMuchLongerThanTheFirstBufferArrivesWhole() throws Exception {
    try (ChatServer server = start(1 << 20, 64 * 1024);
        Socket talker = connect(server.port());
        Socket listener = connect(server.port())) {
      awaitCount(server.stats().connections::get, 2);
      byte[] line = new byte[60 * 1024 + 1]; // the inbound buffer starts at 4 KiB and grows
      for (int i = 0; i < line.length - 1; i++) line[i] = (byte) ('a' + i % 26);
      line[line.length - 1] = '\n';
      sendChopped(talker, List.of(line, line(9, 0)), new Random(3));
      assertEquals(
          List.of(
              new String(line, 0, line.length - 1, StandardCharsets.US_ASCII),
              new String(line(9, 0), StandardCharsets.US_ASCII).strip()),
          readLines(listener, 2));
    }
  }

  @Test
  void overlongLineClosesItsSender() throws Exception {
    try (ChatServer server = start(1 << 20, 1024);
        Socket talker = connect(server.port());
        Socket listener = connect(server.port())) {
      awaitCount(server.stats().connections::get, 2);
      talker.getOutputStream().write(new byte[5000]); // no newline, past 1 KiB
      try {
        assertEquals(-1, talker.getInputStream().read(), "server should close the connection");
      } catch (SocketException reset) {
        // closed with our bytes unread: a reset is the same verdict
      }
      assertEquals(1, server.stats().longLinesDropped.get());
      try (Socket other = connect(server.port())) {
        awaitCount(server.stats().connections::get, 3);
        other.getOutputStream().write(line(9, 0));
        assertEquals(
            List.of(new String(line(9, 0), StandardCharsets.US_ASCII).strip()),
            readLines(listener, 1));
      }
    }
  }
}
