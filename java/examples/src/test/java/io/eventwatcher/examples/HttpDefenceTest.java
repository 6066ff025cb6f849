package io.eventwatcher.examples;

import static io.eventwatcher.examples.ChatServerTest.awaitCount;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.examples.HttpServerTest.Client;
import io.eventwatcher.examples.HttpServerTest.Response;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP server against clients that hold connections without using them: slow heads, idle
 * keep-alives, clients that stop reading, more connections than allowed. Timeouts of 1 to 2 s;
 * every wait is on a socket or a counter, bounded only for a broken server.
 */
class HttpDefenceTest {
  private static final String GET = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
  private static final String HELLO = "Hello from eventwatcher\n";

  private HttpServer server;

  private HttpServer start(Consumer<HttpServer.Config> settings) throws IOException {
    HttpServer.Config config = new HttpServer.Config();
    config.port = 0;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    settings.accept(config);
    server = HttpServer.start(config);
    return server;
  }

  @AfterEach
  void stop() {
    if (server != null) server.close();
  }

  @Test
  void aHeadNotCompleteInTimeGets408AndTheConnectionCloses() throws IOException {
    start(config -> config.headerTimeout = Duration.ofSeconds(1));
    try (Client client = new Client(server.port())) {
      client.send("GET / HTTP/1.1\r\nHost: te"); // half a head, then nothing
      Response response = client.read();
      assertEquals(408, response.status());
      assertEquals("close", response.connection());
      assertTrue(client.closedByServer());
    }
    assertEquals(1, server.stats().headerTimeouts.get());
    assertEquals(0, server.stats().idleTimeouts.get());
  }

  @Test
  void anIdleKeepAliveConnectionIsClosedAndAnActiveOneIsNot() throws Exception {
    start(config -> config.idleTimeout = Duration.ofSeconds(1));
    try (Client idle = new Client(server.port());
        Client active = new Client(server.port())) {
      idle.send(GET);
      assertEquals(HELLO, idle.read().body());
      // The active client asks again and again until the idle one has been closed: it spans the
      // timeout, yet is never idle for long.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (server.stats().idleTimeouts.get() == 0) {
        active.send(GET);
        assertEquals(HELLO, active.read().body());
        assertTrue(System.nanoTime() < deadline, "the idle connection was never closed");
      }
      assertTrue(idle.closedByServer(), "closed without a response");
      active.send(GET);
      assertEquals(HELLO, active.read().body(), "the active connection was closed");
    }
    assertEquals(1, server.stats().idleTimeouts.get());
    assertEquals(0, server.stats().headerTimeouts.get());
  }

  @Test
  void normalClientsAreServedDuringAnAttackOfSlowHeads() throws Exception {
    start(config -> config.headerTimeout = Duration.ofSeconds(2));
    int attackers = attackersTheDescriptorLimitAllows();
    List<Socket> slow = new ArrayList<>();
    try {
      for (int i = 0; i < attackers; i++) {
        Socket socket = new Socket();
        slow.add(socket);
        socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 30_000);
        socket.setSoTimeout(30_000);
        socket
            .getOutputStream()
            .write("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
      }
      awaitCount(server.stats().connections::get, attackers); // all accepted and held
      for (int c = 0; c < 10; c++) {
        try (Client client = new Client(server.port())) {
          for (int r = 0; r < 10; r++) {
            client.send(GET);
            Response response = client.read();
            assertEquals(200, response.status());
            assertEquals(HELLO, response.body());
          }
        }
      }
      // Every attacker gets its 408 and the close.
      for (Socket socket : slow) {
        String answer =
            new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertTrue(answer.startsWith("HTTP/1.1 408 Request Timeout\r\n"), answer);
      }
      assertEquals(attackers, server.stats().headerTimeouts.get());
      assertEquals(attackers + 10, server.stats().connections.get());
    } finally {
      for (Socket socket : slow) socket.close();
    }
  }

  /**
   * 1,000, when this process may open the 2,000 descriptors that takes (a client and a server end
   * each) beside what the JVM and the build hold; fewer under a low soft limit (nothing is raised).
   */
  private static int attackersTheDescriptorLimitAllows() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
      if (!line.startsWith("Max open files")) continue;
      String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
      if (soft.equals("unlimited")) return 1000;
      return Math.min(1000, (Integer.parseInt(soft) - 512) / 2);
    }
    return 1000;
  }

  @Test
  void aClientThatStopsReadingIsClosedByTheWriteTimeout() throws Exception {
    start(
        config -> {
          config.writeTimeout = Duration.ofSeconds(1);
          config.maxPendingBytes = 64 << 20; // the limit is not what closes it
        });
    final int requests = 50_000; // more responses than the kernel's buffers hold
    try (Socket client = new Socket()) {
      client.setReceiveBufferSize(4096);
      client.connect(new InetSocketAddress("127.0.0.1", server.port()), 30_000);
      client.setSoTimeout(30_000);
      byte[] batch = GET.repeat(1000).getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < requests / 1000; i++) client.getOutputStream().write(batch);
      awaitCount(server.stats().requests::get, requests);
      awaitCount(server.stats().writeTimeouts::get, 1); // reading nothing, this client
      assertEquals(0, server.stats().openConnections.get());
      // What it can still read is what the kernel held when the server closed: not everything.
      int answered;
      try {
        String all = new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        answered = all.split("HTTP/1.1 200 OK\r\n", -1).length - 1;
      } catch (IOException reset) {
        answered = 0; // closed with responses unsent: a reset is the same verdict
      }
      assertTrue(answered < requests, answered + " responses: the output had drained");
    }
  }

  @Test
  void aConnectionBeyondTheLimitGets503AndIsClosed() throws Exception {
    start(config -> config.maxConnections = 2);
    Client first = new Client(server.port());
    try (Client second = new Client(server.port())) {
      for (Client client : List.of(first, second)) {
        client.send(GET);
        assertEquals(200, client.read().status());
      }
      try (Client third = new Client(server.port())) {
        Response response = third.read();
        assertEquals(503, response.status());
        assertEquals("close", response.connection());
        assertTrue(third.closedByServer());
      }
      assertEquals(1, server.stats().refused.get());
      first.close();
      awaitCount(() -> 2 - server.stats().openConnections.get(), 1);
      try (Client fourth = new Client(server.port())) {
        fourth.send(GET);
        assertEquals(HELLO, fourth.read().body(), "a place was free again");
      }
      second.send("GET /stats HTTP/1.1\r\n\r\n");
      assertTrue(second.read().body().contains("\"refused\":1"));
    } finally {
      first.close();
    }
  }
}
