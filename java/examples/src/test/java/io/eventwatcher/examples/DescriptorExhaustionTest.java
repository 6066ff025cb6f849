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
 * fails with EMFILE while they are connected. While at the limit the server pauses accepting
 * instead of retrying at full speed: its CPU time stays near idle, its log gets a line a second
 * with the count held back, and the connections it has are served. No thread may die (the JVM
 * reports a dying thread as "Exception in thread" on stderr), and once the clients leave the same
 * server answers again.
 */
class DescriptorExhaustionTest {
  private static final int FD_LIMIT = 64;
  private static final int CLIENTS = 150; // more than FD_LIMIT; fewer than it plus the backlog
  private static final long PATIENCE_MS = 20_000;
  private static final String ACCEPT_FAILED = "accept failed: Too many open files";
  private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux ABI
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
                "0",
                // The clients send nothing: they must hold their descriptors until the test is
                // done.
                "--header-timeout",
                "600")
            .redirectError(stderr.toFile())
            .start();
    List<Socket> clients = new ArrayList<>();
    long started = System.nanoTime();
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
      awaitLines(stderr, ACCEPT_FAILED, 1);
      assertTrue(server.isAlive(), "the server exited under descriptor exhaustion");

      // At the limit for two seconds at least: the log says so, at most a line a second. The
      // first client, accepted before the limit, is served all the while.
      Socket first = clients.get(0);
      long cpuBefore = cpuTicks(server.pid());
      long before = System.nanoTime();
      for (int lines = 2; lines <= 3; lines++) {
        assertEquals("HTTP/1.1 200 OK", keepAliveGet(first, "/"), "an existing connection");
        awaitLines(stderr, ACCEPT_FAILED, lines);
      }
      long cpu = cpuTicks(server.pid()) - cpuBefore;
      double seconds = (System.nanoTime() - before) / 1e9;
      assertTrue(
          cpu < 0.2 * seconds * CLOCK_TICKS_PER_SECOND,
          "at the limit the server spun: " + cpu + " clock ticks of CPU in " + seconds + " s");
      String stats = keepAliveGet(first, "/stats");
      assertTrue(stats.contains("\"accept_pauses\":") && !stats.contains("\"accept_pauses\":0,"));
      assertTrue(count(stderr, "more suppressed)") >= 1, "no suppressed count:\n" + head(stderr));

      for (Socket client : clients) client.close();
      clients.clear();

      assertEquals("HTTP/1.1 200 OK", firstLineOfGet(port), "the server does not answer again");
      assertTrue(server.isAlive(), "the server exited");
      assertFalse(stderr, "Exception in thread");
      long limitSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + 1;
      long lines = count(stderr, ACCEPT_FAILED);
      assertTrue(
          lines <= 3 * limitSeconds, lines + " accept failures logged in " + limitSeconds + " s");
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

  /**
   * GET {@code path} on a kept-alive connection: the status line, the rest of the response read.
   */
  private static String keepAliveGet(Socket socket, String path) throws IOException {
    socket.setSoTimeout((int) PATIENCE_MS);
    socket
        .getOutputStream()
        .write(
            ("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) return "EOF after: " + head;
      head.append((char) b);
    }
    Matcher length = Pattern.compile("Content-Length: (\\d+)").matcher(head);
    if (!length.find()) return "no Content-Length: " + head;
    String body =
        new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.UTF_8);
    return path.equals("/") ? head.substring(0, head.indexOf("\r\n")) : body;
  }

  /** utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15). */
  private static long cpuTicks(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // from field 3 on
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /** Waits until {@code count} lines of the file (written by the child) contain {@code text}. */
  private static void awaitLines(Path file, String text, int count)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    while (count(file, text) < count) {
      if (System.nanoTime() > deadline)
        fail(count + " lines with '" + text + "' expected in the server's stderr:\n" + head(file));
      Thread.sleep(10); // polling a file the child writes; the bound is only for a broken server
    }
  }

  private static void assertFalse(Path file, String text) throws IOException {
    if (count(file, text) > 0) fail("'" + text + "' in the server's stderr:\n" + head(file));
  }

  private static long count(Path file, String text) throws IOException {
    try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return lines.lines().filter(line -> line.contains(text)).count();
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
