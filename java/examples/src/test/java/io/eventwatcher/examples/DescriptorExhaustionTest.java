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
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each server in a child JVM whose RLIMIT_NOFILE is lower than the number of clients: accept fails
 * with EMFILE while they are connected. While at the limit the server pauses accepting instead of
 * retrying at full speed: its CPU time stays near idle, its log gets a line a second with the count
 * held back, and the connections it has are served. No thread may die (the JVM reports a dying
 * thread as "Exception in thread" on stderr), and once the clients leave the same server serves
 * again.
 */
class DescriptorExhaustionTest {
  private static final int FD_LIMIT = 64;
  private static final int CLIENTS = 150; // more than FD_LIMIT; fewer than it plus the backlog
  private static final long PATIENCE_MS = 20_000;
  private static final String ACCEPT_FAILED = "accept failed: Too many open files";
  private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux ABI
  private static final Pattern LISTENING =
      Pattern.compile("listening on (?:http://)?127\\.0\\.0\\.1:(\\d+)");

  /** A server in a child JVM; both its output streams go to {@code log}. */
  private record Child(Process process, Path log, int port, long startedNanos) {}

  @Test
  void theHttpServerPausesAcceptingAtTheLimitAndServesAgain(@TempDir Path work) throws Exception {
    // The clients send nothing: they must hold their descriptors until the test is done.
    Child server = start(work, "http", "--header-timeout", "600");
    List<Socket> clients = new ArrayList<>();
    try {
      connectAll(server, clients);
      Socket first = clients.get(0); // accepted before the limit
      assertPausedAtTheLimit(
          server,
          () -> assertEquals("HTTP/1.1 200 OK", keepAliveGet(first, "/"), "an existing client"));
      String stats = keepAliveGet(first, "/stats");
      assertTrue(stats.matches("(?s).*\"accept_failures\":[1-9].*"), stats);
      assertTrue(stats.matches("(?s).*\"accept_pauses\":[1-9].*"), stats);

      for (Socket client : clients) client.close();
      clients.clear();
      assertEquals("HTTP/1.1 200 OK", firstLineOfGet(server.port()), "no answer again");
      assertStopsCleanly(server);
    } finally {
      for (Socket client : clients) client.close();
      server.process().destroyForcibly();
    }
  }

  @Test
  void theChatServerPausesAcceptingAtTheLimitAndServesAgain(@TempDir Path work) throws Exception {
    Child server = start(work, "chat");
    List<Socket> clients = new ArrayList<>();
    try {
      connectAll(server, clients);
      Socket first = clients.get(0); // accepted before the limit, as is the second
      Socket second = clients.get(1);
      int[] said = {0};
      assertPausedAtTheLimit(
          server,
          () -> {
            String line = "still here " + said[0]++;
            first.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            assertEquals(line, readLine(second), "an existing client");
          });

      for (Socket client : clients) client.close();
      clients.clear();
      try (Socket alice = new Socket();
          Socket bob = new Socket()) {
        alice.connect(new InetSocketAddress("127.0.0.1", server.port()), (int) PATIENCE_MS);
        bob.connect(new InetSocketAddress("127.0.0.1", server.port()), (int) PATIENCE_MS);
        assertTrue(heardOnceBothJoined(alice, bob), "the server does not relay again");
      }
      assertStopsCleanly(server);
    } finally {
      for (Socket client : clients) client.close();
      server.process().destroyForcibly();
    }
  }

  /** Starts {@code command --port 0 options...} under the descriptor limit. */
  private static Child start(Path work, String command, String... options) throws Exception {
    Path log = work.resolve(command + ".log");
    List<String> commandLine = new ArrayList<>();
    commandLine.addAll(
        List.of("/bin/sh", "-c", "ulimit -n " + FD_LIMIT + " && exec \"$0\" \"$@\""));
    commandLine.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    commandLine.addAll(
        List.of(
            "--enable-native-access=ALL-UNNAMED",
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            command,
            "--port",
            "0"));
    commandLine.addAll(List.of(options));
    Process process =
        new ProcessBuilder(commandLine)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    long started = System.nanoTime();
    long deadline = started + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    for (; ; ) {
      Matcher banner = LISTENING.matcher(head(log));
      if (banner.find()) {
        return new Child(process, log, Integer.parseInt(banner.group(1)), started);
      }
      if (!process.isAlive() || System.nanoTime() > deadline) {
        process.destroyForcibly();
        fail("the server did not start:\n" + head(log));
      }
      Thread.sleep(10); // polling a file the child writes; the bound is only for a broken server
    }
  }

  /** Connects more clients than the server has descriptors for, and waits for it to say so. */
  private static void connectAll(Child server, List<Socket> clients) throws Exception {
    for (int i = 0; i < CLIENTS; i++) {
      Socket client = new Socket();
      clients.add(client);
      client.connect(new InetSocketAddress("127.0.0.1", server.port()), (int) PATIENCE_MS);
      client.setSoTimeout((int) PATIENCE_MS);
    }
    awaitLines(server.log(), ACCEPT_FAILED, 1);
    assertTrue(server.process().isAlive(), "the server exited under descriptor exhaustion");
  }

  /** Something the test does to the server that must work. */
  private interface Check {
    void run() throws Exception;
  }

  /**
   * At the limit for two seconds at least (the log says so, at most a line a second): the server's
   * CPU time stays under a fifth of that, and {@code served} passes before each line.
   */
  private static void assertPausedAtTheLimit(Child server, Check served) throws Exception {
    long cpuBefore = cpuTicks(server.process().pid());
    long before = System.nanoTime();
    for (int lines = 2; lines <= 3; lines++) {
      served.run();
      awaitLines(server.log(), ACCEPT_FAILED, lines);
    }
    long cpu = cpuTicks(server.process().pid()) - cpuBefore;
    double seconds = (System.nanoTime() - before) / 1e9;
    assertTrue(
        cpu < 0.2 * seconds * CLOCK_TICKS_PER_SECOND,
        "at the limit the server spun: " + cpu + " clock ticks of CPU in " + seconds + " s");
    assertTrue(count(server.log(), "more suppressed)") >= 1, "no count:\n" + head(server.log()));
  }

  /** SIGTERM: a graceful stop, status 0; no thread died, and the log stayed small. */
  private static void assertStopsCleanly(Child server) throws Exception {
    Process process = server.process();
    assertTrue(process.isAlive(), "the server exited");
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - server.startedNanos()) + 1;
    process.destroy();
    assertTrue(process.waitFor(PATIENCE_MS, TimeUnit.MILLISECONDS), "the server did not stop");
    assertEquals(0, process.exitValue());
    if (count(server.log(), "Exception in thread") > 0)
      fail("a thread died:\n" + head(server.log()));
    long lines = count(server.log(), ACCEPT_FAILED);
    assertTrue(lines <= 3 * seconds, lines + " accept failures logged in " + seconds + " s");
  }

  /** GET {@code path} on a kept-alive connection: the status line for /, else the body. */
  private static String keepAliveGet(Socket socket, String path) throws IOException {
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

  private static String readLine(Socket socket) throws IOException {
    StringBuilder line = new StringBuilder();
    for (int b; (b = socket.getInputStream().read()) != '\n'; ) {
      if (b < 0) throw new IOException("EOF after: " + line);
      line.append((char) b);
    }
    return line.toString();
  }

  /**
   * Whether bob hears alice, once both are accepted: she says a line, he waits a little for it, and
   * she says it again until he does (a line said before he joined is not relayed to him).
   */
  private static boolean heardOnceBothJoined(Socket alice, Socket bob) throws IOException {
    bob.setSoTimeout(50);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PATIENCE_MS);
    while (System.nanoTime() < deadline) {
      alice.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
      try {
        if (readLine(bob).equals("hello")) return true;
      } catch (SocketTimeoutException notYet) {
        // one of them is still in the backlog: say it again
      }
    }
    return false;
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
      Thread.sleep(10); // retrying a connection; the bound is only for a broken server
    }
    return "no answer: " + last;
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
        fail(count + " lines with '" + text + "' expected in the server's log:\n" + head(file));
      Thread.sleep(10); // polling a file the child writes; the bound is only for a broken server
    }
  }

  private static long count(Path file, String text) throws IOException {
    try (BufferedReader lines = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return lines.lines().filter(line -> line.contains(text)).count();
    }
  }

  /** The first lines of the file, for failure messages. */
  private static String head(Path file) throws IOException {
    if (!Files.exists(file)) return "";
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
}
