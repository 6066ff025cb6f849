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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP server with real TCP clients on loopback. */
class HttpServerTest {
  private static final int TIMEOUT_MS = 30_000;
  private static final String HELLO = "Hello from eventwatcher\n";

  private HttpServer server;

  @BeforeEach
  void start() throws IOException {
    HttpServer.Config config = new HttpServer.Config();
    config.port = 0;
    config.maxHeaderBytes = 4096;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    server = HttpServer.start(config);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  /** A parsed response: status, lower-cased headers of interest, body. */
  record Response(int status, String connection, String body) {}

  /** A raw HTTP/1.1 client connection that reads responses by Content-Length. */
  static final class Client implements AutoCloseable {
    final Socket socket = new Socket();
    final InputStream in;
    final OutputStream out;

    Client(int port) throws IOException {
      socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
      socket.setSoTimeout(TIMEOUT_MS);
      socket.setTcpNoDelay(true);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }

    void send(String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }

    Response read(boolean headRequest) throws IOException {
      String head = readHead();
      String[] lines = head.split("\r\n");
      String[] statusLine = lines[0].split(" ", 3);
      assertEquals("HTTP/1.1", statusLine[0], head);
      int length = 0;
      String connection = "";
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        String name = lines[i].substring(0, colon).toLowerCase(Locale.ROOT);
        String value = lines[i].substring(colon + 1).trim();
        if (name.equals("content-length")) length = Integer.parseInt(value);
        if (name.equals("connection")) connection = value.toLowerCase(Locale.ROOT);
      }
      byte[] body = headRequest ? new byte[0] : in.readNBytes(length);
      assertEquals(headRequest ? 0 : length, body.length, "short body");
      return new Response(
          Integer.parseInt(statusLine[1]), connection, new String(body, StandardCharsets.UTF_8));
    }

    Response read() throws IOException {
      return read(false);
    }

    private String readHead() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      int state = 0; // matched bytes of \r\n\r\n
      while (state < 4) {
        int b = in.read();
        if (b < 0) throw new IOException("EOF in response head: " + head);
        head.write(b);
        state =
            (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                ? state + 1
                : (b == '\r' ? 1 : 0);
      }
      return head.toString(StandardCharsets.US_ASCII);
    }

    /** True once the server has closed the connection (EOF or reset). */
    boolean closedByServer() throws IOException {
      try {
        return in.read() < 0;
      } catch (SocketException reset) {
        return true;
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private static final String GET = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

  @Test
  void keepAliveServesAThousandSequentialRequestsOnOneConnection() throws IOException {
    try (Client client = new Client(server.port())) {
      for (int i = 0; i < 1000; i++) {
        client.send(GET);
        Response response = client.read();
        assertEquals(200, response.status());
        assertEquals(HELLO, response.body());
      }
    }
    assertEquals(1, server.stats().connections.get());
  }

  @Test
  void answersHundredPipelinedRequestsSentInOneWriteInOrder() throws IOException {
    try (Client client = new Client(server.port())) {
      StringBuilder batch = new StringBuilder();
      for (int i = 0; i < 100; i++)
        batch.append(i % 2 == 0 ? GET : "GET /missing-" + i + " HTTP/1.1\r\nHost: t\r\n\r\n");
      client.send(batch.toString());
      for (int i = 0; i < 100; i++) {
        assertEquals(i % 2 == 0 ? 200 : 404, client.read().status(), "response " + i);
      }
    }
  }

  @Test
  void statsReportLiveCounters() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send(GET);
      client.read();
      client.send("GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
      Response stats = client.read();
      assertEquals(200, stats.status());
      assertTrue(stats.body().contains("\"requests\":2"), stats.body());
      assertTrue(stats.body().contains("\"open_connections\":1"), stats.body());
    }
  }

  @Test
  void unknownPathIs404AndConnectionStaysUsable() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send("GET /nope?x=1 HTTP/1.1\r\n\r\n");
      assertEquals(404, client.read().status());
      client.send(GET);
      assertEquals(200, client.read().status());
    }
  }

  @Test
  void malformedRequestLineIs400AndCloses() throws IOException {
    for (String bad :
        new String[] {
          "GARBAGE\r\n\r\n",
          "GET noslash HTTP/1.1\r\n\r\n",
          "GET / HTTP/9.9\r\n\r\n",
          "get / HTTP/1.1\r\n\r\n",
          "GET / HTTP/1.1\r\nno colon here\r\n\r\n"
        }) {
      try (Client client = new Client(server.port())) {
        client.send(bad);
        Response response = client.read();
        assertEquals(400, response.status(), bad);
        assertEquals("close", response.connection(), bad);
        assertTrue(client.closedByServer(), bad);
      }
    }
  }

  @Test
  void unsupportedMethodIs405() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
      assertEquals(405, client.read().status());
      assertTrue(client.closedByServer());
    }
  }

  @Test
  void oversizedHeadersAre431() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send("GET / HTTP/1.1\r\nX-Big: " + "a".repeat(5000) + "\r\n\r\n");
      assertEquals(431, client.read().status());
      assertTrue(client.closedByServer());
    }
  }

  @Test
  void connectionCloseIsHonoured() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
      Response response = client.read();
      assertEquals(200, response.status());
      assertEquals("close", response.connection());
      assertTrue(client.closedByServer());
    }
    try (Client client = new Client(server.port())) {
      client.send("GET / HTTP/1.0\r\n\r\n"); // HTTP/1.0: close unless keep-alive is asked
      assertEquals(200, client.read().status());
      assertTrue(client.closedByServer());
    }
  }

  @Test
  void headGetsHeadersWithoutBody() throws IOException {
    try (Client client = new Client(server.port())) {
      client.send("HEAD / HTTP/1.1\r\n\r\n");
      assertEquals(200, client.read(true).status());
      client.send(GET); // the next response starts right after the head: no body was sent
      assertEquals(HELLO, client.read().body());
    }
  }

  @Test
  void requestSentOneByteAtATimeIsAnswered() throws IOException {
    try (Client client = new Client(server.port())) {
      for (byte b : (GET + GET).getBytes(StandardCharsets.US_ASCII)) {
        client.out.write(b);
        client.out.flush();
      }
      assertEquals(HELLO, client.read().body());
      assertEquals(HELLO, client.read().body());
    }
  }

  @Test
  void abruptResetsDoNotDisturbTheServer() throws Exception {
    for (int i = 0; i < 50; i++) {
      Client client = new Client(server.port());
      client.send(i % 2 == 0 ? "GET / HT" : GET + GET + GET); // partial, or unread responses
      client.socket.setSoLinger(true, 0); // close sends RST
      client.close();
    }
    try (Client client = new Client(server.port())) {
      client.send(GET);
      assertEquals(200, client.read().status());
    }
    long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
    while (server.stats().openConnections.get() > 0) {
      assertTrue(System.nanoTime() < deadline, "reset connections were not closed");
      Thread.sleep(1); // polling a counter; the bound is only for a broken server
    }
  }

  /**
   * Whether a thread of this process whose native name is {@code name} sleeps in epoll_wait with no
   * timeout: state S in /proc/self/task/TID/stat, and in .../syscall epoll_wait or epoll_pwait with
   * timeout -1, or epoll_pwait2 with none (x86_64 numbers; the state alone where the kernel does
   * not show the system call). Only an event ends such a wait: a loop that spins or polls is never
   * seen so.
   */
  private static boolean asleepInEpollWaitWithoutTimeout(String name) throws IOException {
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          if (!Files.readString(task.resolve("comm")).strip().equals(name)) continue;
          String stat = Files.readString(task.resolve("stat"));
          if (stat.charAt(stat.lastIndexOf(')') + 2) != 'S') continue;
          String syscall;
          try {
            syscall = Files.readString(task.resolve("syscall")).strip();
          } catch (IOException hidden) {
            return true;
          }
          String[] fields = syscall.split(" ");
          if (fields.length < 5 || !fields[4].startsWith("0x")) continue; // not in a system call
          long timeout = Long.parseUnsignedLong(fields[4].substring(2), 16);
          boolean epollWait = fields[0].equals("232") || fields[0].equals("281");
          if (epollWait && (int) timeout == -1 || fields[0].equals("441") && timeout == 0) {
            return true;
          }
        } catch (IOException ended) {
          // the thread ended meanwhile
        }
      }
    }
    return false;
  }

  @Test
  void anIdleServerTicksOnlyWhileAConnectionIsOpen() throws Exception {
    // The default timeouts are on (a tick a second while connections are open), yet with no
    // connection the loop sleeps with no timeout: nothing wakes an idle server.
    long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
    awaitAsleepWithoutTimeout(deadline, "before any connection");
    try (Client client = new Client(server.port())) {
      client.send(GET);
      assertEquals(200, client.read(false).status());
    }
    while (server.stats().openConnections.get() > 0) {
      assertTrue(System.nanoTime() < deadline, "the connection was not closed");
      Thread.sleep(1); // polling a counter; the bound is only for a broken server
    }
    awaitAsleepWithoutTimeout(deadline, "after the last connection closed");
  }

  private static void awaitAsleepWithoutTimeout(long deadline, String when) throws Exception {
    while (!asleepInEpollWaitWithoutTimeout("http-loop-0")) {
      assertTrue(System.nanoTime() < deadline, "http-loop-0 waits with a timeout " + when);
      Thread.sleep(1); // polling the loop thread's state; the bound is only for a broken server
    }
  }

  @Test
  void closingConnectionWithUnsentResponsesDoesNotSpinTheLoop() throws Exception {
    server.close();
    HttpServer.Config config = new HttpServer.Config();
    config.port = 0;
    config.maxPendingBytes = 64 << 20; // room for every response: the client reads none for now
    // No timeouts, so no tick: a loop that does not spin then sleeps with no timeout at all.
    config.headerTimeout = config.idleTimeout = config.writeTimeout = Duration.ZERO;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    server = HttpServer.start(config);
    final int requests = 100_000; // far more responses than the kernel buffers hold
    try (Client client = new Client(server.port())) {
      byte[] batch = GET.repeat(1000).getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < requests / 1000; i++) client.out.write(batch);
      client.socket.shutdownOutput(); // EOF: the server answers everything, then closes
      long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
      while (server.stats().requests.get() < requests) {
        assertTrue(System.nanoTime() < deadline, "requests not all read");
        Thread.sleep(1); // polling a counter; the bound is only for a broken server
      }
      // Responses are pending and the fd is at EOF (always readable), yet the loop sleeps in
      // epoll_wait with no timeout: were it still watching the EOF, it would never sleep.
      while (!asleepInEpollWaitWithoutTimeout("http-loop-0")) {
        assertTrue(System.nanoTime() < deadline, "http-loop-0 never slept in epoll_wait: it spins");
        Thread.sleep(1); // polling the loop thread's state; the bound is only for a broken server
      }
      // Now read everything: every response arrives, then the server closes.
      String all = new String(client.in.readAllBytes(), StandardCharsets.US_ASCII);
      assertEquals(requests, all.split("HTTP/1.1 200 OK\r\n", -1).length - 1, "responses");
      assertTrue(all.endsWith(HELLO));
    }
  }
}
