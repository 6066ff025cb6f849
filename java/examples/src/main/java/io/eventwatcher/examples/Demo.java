package io.eventwatcher.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.function.LongSupplier;

/**
 * What {@code ./build.sh} runs: a narrated tour of the chat server, on two loops, with three real
 * TCP clients on loopback. Every step waits for its effect (a line received, a disconnection
 * counted) before the next, so the output is the same on every run, whichever loop the kernel gives
 * each client: lines reach the clients of both loops alike, and the summary counts both loops.
 */
final class Demo {
  private static final int TIMEOUT_MS = 10_000;

  private Demo() {}

  static int run(PrintStream out) throws IOException {
    ChatServer.Config config = new ChatServer.Config();
    config.port = 0; // a free port
    config.threads = 2;
    config.log = null; // the demo narrates instead
    try (ChatServer server = ChatServer.start(config)) {
      ChatServer.Stats stats = server.stats();
      out.println(
          "[demo] chat server listening on 127.0.0.1:"
              + server.port()
              + " on "
              + server.threads()
              + " loops");
      try (Client alice = new Client("alice", server.port());
          Client bob = new Client("bob", server.port());
          Client carol = new Client("carol", server.port())) {
        awaitCount(stats.connections::get, 3, "three connections");
        out.println("[demo] alice, bob and carol connected");

        out.println();
        out.println("[demo] 1. broadcast: alice sends one line; everyone else receives it");
        alice.send("hello everyone\n");
        bob.expect("hello everyone", out);
        carol.expect("hello everyone", out);

        out.println();
        out.println("[demo] 2. fragmentation: bob sends one line in three writes");
        bob.send("this line ");
        bob.send("arrives in ");
        bob.send("three pieces\n");
        alice.expect("this line arrives in three pieces", out);
        carol.expect("this line arrives in three pieces", out);

        out.println();
        out.println("[demo] 3. several lines in one write: carol sends three lines at once");
        carol.send("one\ntwo\nthree\n");
        for (String line : new String[] {"one", "two", "three"}) {
          alice.expect(line, out);
          bob.expect(line, out);
        }

        out.println();
        out.println("[demo] 4. disconnect: carol leaves, alice speaks, only bob hears");
        carol.leave();
        awaitCount(stats.disconnections::get, 1, "carol's disconnection");
        out.println("  server saw carol leave (EOF on her socket: unwatched, then closed)");
        alice.send("is carol gone?\n");
        bob.expect("is carol gone?", out);
      }
      awaitCount(stats.disconnections::get, 3, "every disconnection");
      out.println();
      out.println(
          "[demo] summary: "
              + stats.connections.get()
              + " connections, "
              + stats.linesReceived.get()
              + " lines received, "
              + stats.bytesDelivered.get()
              + " bytes delivered, "
              + stats.disconnections.get()
              + " disconnections");
    }
    out.println("[demo] done");
    return 0;
  }

  private static void awaitCount(LongSupplier counter, long target, String what)
      throws IOException {
    long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
    while (counter.getAsLong() < target) {
      if (System.nanoTime() > deadline)
        throw new IOException("demo: timed out waiting for " + what);
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  /** A blocking TCP client that writes raw text and reads whole lines. */
  private static final class Client implements AutoCloseable {
    private final String name;
    private final Socket socket = new Socket();
    private final OutputStream output;
    private final BufferedReader input;

    Client(String name, int port) throws IOException {
      this.name = name;
      socket.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MS);
      socket.setSoTimeout(TIMEOUT_MS);
      socket.setTcpNoDelay(true);
      output = socket.getOutputStream();
      input =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
    }

    void send(String text) throws IOException {
      output.write(text.getBytes(StandardCharsets.UTF_8));
      output.flush();
    }

    void expect(String line, PrintStream out) throws IOException {
      String received = input.readLine();
      if (!line.equals(received)) {
        throw new IOException(
            "demo: " + name + " expected '" + line + "' but received '" + received + "'");
      }
      out.printf("  %-5s received: %s%n", name, received);
    }

    /** Closes the connection now; close() at the end of the try block is then a no-op. */
    void leave() throws IOException {
      socket.close();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
