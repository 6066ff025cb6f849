package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP server in a child JVM whose RLIMIT_NOFILE is lower than the number of clients: accept
 * fails with EMFILE while they are connected. No thread may die (the JVM reports a dying thread as
 * "Exception in thread" on stderr), and once the clients leave the same server answers again.
 */
class DescriptorExhaustionTest {
  private static final int FD_LIMIT = 64;
  private static final int CLIENTS = 150; // more than FD_LIMIT; fewer than it plus the backlog
  private static final long PATIENCE_MS = 20_000;
  private static final Pattern LISTENING =
      Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

  @Test
  void theServerOutlivesDescriptorExhaustionAndServesAgain(@TempDir Path work) throws Exception {
    Path stderr = work.resolve("stderr.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process server =
        new ProcessBuilder(
                "/bin/sh",
                "-c",
                "ulimit -n " + FD_LIMIT + " && exec \"$0\" \"$@\"",
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "http",
                "--port",
                "0")
            .redirectError(stderr.toFile())
            .start();
    List<Socket> clients = new ArrayList<>();
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
      int port = port(out.readLine(), stderr);
      CompletableFuture.runAsync(() -> drain(server.getInputStream()));

      for (int i = 0; i < CLIENTS; i++) {
        Socket client = new Socket();
        clients.add(client);
        client.connect(new InetSocketAddress("127.0.0.1", port), (int) PATIENCE_MS);
      }
      awaitInFile(stderr, "Too many open files");
      assertTrue(server.isAlive(), "the server exited under descriptor exhaustion");
      for (Socket client : clients) client.close();
      clients.clear();

      assertEquals("HTTP/1.1 200 OK", firstLineOfGet(port), "the server does not answer again");
      assertTrue(server.isAlive(), "the server exited");
      assertFalse(stderr, "Exception in thread");
      server.destroy(); // SIGTERM: a graceful stop, status 0
      assertTrue(server.waitFor(PATIENCE_MS, TimeUnit.MILLISECONDS), "the server did not stop");
      assertEquals(0, server.exitValue());
    } finally {
      for (Socket client : clients) client.close();
      server.destroyForcibly();
    }
  }

  private static int port(String firstLine, Path stderr) throws IOException {
    Matcher matcher = LISTENING.matcher(firstLine == null ? "" : firstLine);
    if (!matcher.find()) fail("the server did not start: " + firstLine + "\n" + head(stderr));
    return Integer.parseInt(matcher.group(1));
  }

  /** GET / on a new connection, retried until the server has freed descriptors to accept it. */
  private static String firstLineOfGet(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
        socket.setSoTimeout(2_000);
        OutputStream request = socket.getOutputStream();
        request.write(
            "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        request.flush();
        String line =
            new BufferedReader(
                    new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                .readLine();
        if (line != null) return line;
      } catch (IOException e) {
        last = e; // not accepted yet (the old connections are still being closed)
      }
      Thread.onSpinWait();
    }
    return "no answer: " + last;
  }

  /** Waits until {@code text} appears in the file (written by the child). */
  private static void awaitInFile(Path file, String text) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    while (!contains(file, text)) {
      if (System.nanoTime() > deadline)
        fail("no '" + text + "' in the server's stderr:\n" + head(file));
      Thread.onSpinWait();
    }
  }

  private static void assertFalse(Path file, String text) throws IOException {
    if (contains(file, text)) fail("'" + text + "' in the server's stderr:\n" + head(file));
  }

  private static boolean contains(Path file, String text) throws IOException {
    try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = lines.readLine()) != null; ) {
        if (line.contains(text)) return true;
      }
      return false;
    }
  }

  private static String head(Path file) throws IOException {
    try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      StringBuilder head = new StringBuilder();
      for (int i = 0; i < 20; i++) {
        String line = lines.readLine();
        if (line == null) break;
        head.append(line).append('\n');
      }
      return head.toString();
    }
  }

  private static void drain(InputStream stream) {
    try {
      stream.transferTo(OutputStream.nullOutputStream());
    } catch (IOException ignored) {
      // the child has gone
    }
  }
}
