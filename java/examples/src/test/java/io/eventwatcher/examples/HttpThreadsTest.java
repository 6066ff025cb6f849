package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.examples.HttpServerTest.Client;
import io.eventwatcher.examples.HttpServerTest.Response;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The HTTP server on two loops (--threads 2): one listener per loop on one port. */
class HttpThreadsTest {
  private static final String HELLO = "Hello from eventwatcher\n";
  private static final String GET = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";

  private static HttpServer start(int maxConnections) throws IOException {
    HttpServer.Config config = new HttpServer.Config();
    config.port = 0;
    config.threads = 2;
    config.maxConnections = maxConnections;
    config.log = new PrintStream(OutputStream.nullOutputStream());
    return HttpServer.start(config);
  }

  @Test
  void twoLoopsServeKeepAliveAndPipelinedConnectionsSpreadOverBoth() throws IOException {
    int clients = 32; // the kernel's hash leaves one loop empty with odds of 2 in 2^32
    int pipelined = 10;
    int sequential = 5;
    try (HttpServer server = start(Integer.MAX_VALUE)) {
      List<Client> open = new ArrayList<>();
      try {
        for (int i = 0; i < clients; i++) open.add(new Client(server.port()));
        for (Client client : open) client.send(GET.repeat(pipelined)); // one write each
        for (Client client : open) {
          for (int i = 0; i < pipelined; i++) {
            Response response = client.read();
            assertEquals(200, response.status());
            assertEquals(HELLO, response.body());
          }
        }
        for (Client client : open) {
          for (int i = 0; i < sequential; i++) {
            client.send(GET);
            assertEquals(HELLO, client.read().body(), "keep-alive request " + i);
          }
        }
        Client first = open.get(0);
        first.send("GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
        String stats = first.read().body();
        int requests = clients * (pipelined + sequential) + 1;
        assertTrue(stats.contains("\"requests\":" + requests), stats);
        assertTrue(stats.contains("\"connections\":" + clients), stats);
        assertTrue(stats.contains("\"open_connections\":" + clients), stats);
        assertTrue(stats.contains("\"loops\":2"), stats);
      } finally {
        for (Client client : open) client.close();
      }
      List<HttpLoop> loops = server.loops();
      assertEquals(2, loops.size());
      long zero = loops.get(0).connectionsAccepted();
      long one = loops.get(1).connectionsAccepted();
      assertEquals(clients, zero + one);
      assertTrue(zero > 0 && one > 0, "connections per loop: " + zero + " and " + one);
    }
  }

  @Test
  void theConnectionLimitIsTheServersAcrossLoops() throws IOException {
    int limit = 40; // enough that both loops take some (all on one: odds of 2 in 2^40)
    try (HttpServer server = start(limit)) {
      List<Client> open = new ArrayList<>();
      try {
        for (int i = 0; i < limit; i++) {
          Client client = new Client(server.port());
          open.add(client);
          client.send(GET);
          assertEquals(200, client.read().status(), "within the limit"); // accepted: counted
        }
        try (Client beyond = new Client(server.port())) {
          assertEquals(503, beyond.read().status());
          assertTrue(beyond.closedByServer());
        }
        assertEquals(1, server.stats().refused.get());
        assertEquals(limit, server.stats().connections.get());
        // Both loops hold connections: a limit per loop would have let the last one in.
        assertTrue(server.loops().get(0).connectionsAccepted() > 0);
        assertTrue(server.loops().get(1).connectionsAccepted() > 0);
      } finally {
        for (Client client : open) client.close();
      }
    }
  }
}
