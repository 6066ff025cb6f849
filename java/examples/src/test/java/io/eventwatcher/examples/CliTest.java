package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.examples.Main.UsageException;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The command line: help, bad input, port in use, the demo, and signals to a real process. */
class CliTest {
  /** What one run printed and returned. */
  record Run(int status, String out, String err) {}

  static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Main.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** A usage error: status 2 and exactly one line on stderr, with no stack trace. */
  static void assertOneLineError(int status, Run run, String expectedText) {
    assertEquals(status, run.status(), run.err());
    assertEquals("", run.out());
    assertTrue(
        run.err().endsWith("\n") && run.err().indexOf('\n') == run.err().length() - 1,
        "one line: " + run.err());
    assertTrue(run.err().startsWith("eventwatcher: "), run.err());
    assertTrue(run.err().contains(expectedText), run.err());
    assertFalse(run.err().contains("\tat "), run.err());
  }

  @Test
  void helpOnEveryCommand() {
    assertTrue(run("--help").out().contains("Commands:"));
    assertTrue(run("help").out().contains("Commands:"));
    for (String command : new String[] {"chat", "http", "demo"}) {
      Run run = run(command, "--help");
      assertEquals(0, run.status(), command);
      assertTrue(run.out().startsWith("Usage: java -jar eventwatcher.jar " + command), run.out());
    }
    String http = run("http", "--help").out();
    for (String flag :
        new String[] {
          "--header-timeout SECONDS",
          "--idle-timeout SECONDS",
          "--write-timeout SECONDS",
          "--max-connections N",
          "--backlog N"
        }) {
      assertTrue(http.contains("  " + flag), flag + " in:\n" + http);
    }
    String chat = run("chat", "--help").out();
    for (String flag :
        new String[] {"--idle-timeout SECONDS", "--max-connections N", "--backlog N"}) {
      assertTrue(chat.contains("  " + flag), flag + " in:\n" + chat);
    }
    assertTrue(
        http.contains("somaxconn, " + TcpServer.defaultBacklog() + ")"), "the default backlog");
  }

  @Test
  void timeoutsTakeFractionsOfASecondAndZeroForNone() throws UsageException {
    assertEquals(Duration.ofMillis(1500), seconds("1.5"));
    assertEquals(Duration.ofMillis(250), seconds("0.25"));
    assertEquals(Duration.ofSeconds(10), seconds("10"));
    assertEquals(Duration.ZERO, seconds("0"));
    assertEquals(Duration.ofNanos(1), seconds("0.0000000001"), "rounded up: not none");
    assertEquals(Duration.ofDays(100), seconds("8640000"));
    assertEquals(
        Duration.ofSeconds(7),
        Options.parse(new String[0], "http").seconds("--x", Duration.ofSeconds(7)));
  }

  private static Duration seconds(String text) throws UsageException {
    return Options.parse(new String[] {"--idle-timeout", text}, "chat", "--idle-timeout")
        .seconds("--idle-timeout", Duration.ofSeconds(99));
  }

  @Test
  void badDefenceValuesGiveOneLineAndStatus2() {
    assertOneLineError(
        2,
        run("http", "--header-timeout", "soon"),
        "--header-timeout must be a number of seconds, got 'soon'");
    assertOneLineError(
        2, run("chat", "--idle-timeout=-1"), "--idle-timeout must be in 0..8640000 seconds");
    assertOneLineError(
        2, run("http", "--write-timeout", "8640001"), "--write-timeout must be in 0..8640000");
    assertOneLineError(
        2, run("http", "--idle-timeout", "NaN"), "--idle-timeout must be a number of seconds");
    assertOneLineError(
        2, run("http", "--max-connections", "0"), "--max-connections must be at least 1, got 0");
    assertOneLineError(
        2, run("chat", "--max-connections", "many"), "--max-connections must be an integer");
    assertOneLineError(2, run("chat", "--backlog", "-5"), "--backlog must be at least 1, got -5");
    assertOneLineError(
        2, run("chat", "--header-timeout", "1"), "unknown option '--header-timeout'");
    assertOneLineError(2, run("chat", "--write-timeout", "1"), "unknown option '--write-timeout'");
  }

  @Test
  void noCommandPrintsUsageAndFails() {
    Run run = run();
    assertEquals(2, run.status());
    assertTrue(run.err().contains("Usage:"));
  }

  @Test
  void badArgumentsGiveOneLineAndStatus2() {
    assertOneLineError(2, run("serve"), "unknown command 'serve'");
    assertOneLineError(2, run("chat", "--port", "abc"), "--port must be an integer, got 'abc'");
    assertOneLineError(2, run("http", "--port=70000"), "--port must be in 0..65535");
    assertOneLineError(2, run("chat", "--port"), "--port needs a value");
    assertOneLineError(2, run("http", "--colour", "red"), "unknown option '--colour'");
    assertOneLineError(
        2, run("chat", "--max-line-bytes", "0"), "--max-line-bytes must be at least 1");
    assertOneLineError(2, run("demo", "--port", "1"), "unknown option '--port'");
  }

  @Test
  void portInUseGivesOneLineAndStatus1() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String port = Integer.toString(taken.getLocalPort());
      assertOneLineError(1, run("chat", "--port", port), "cannot listen");
      assertOneLineError(1, run("http", "--port", port), "cannot listen");
    }
  }

  @Test
  void demoRunsToItsSummary() {
    Run run = run("demo");
    assertEquals(0, run.status(), run.err());
    assertTrue(run.out().contains("[demo] summary: 3 connections, 6 lines received"), run.out());
    assertTrue(run.out().contains("bob   received: is carol gone?"), run.out());
  }

  @Test
  void httpServerProcessStopsGracefullyOnSigterm() throws Exception {
    assertGracefulStop(
        "http",
        "TERM",
        "--header-timeout",
        "2.5",
        "--idle-timeout",
        "30",
        "--write-timeout=0.75",
        "--max-connections",
        "100",
        "--backlog",
        "64");
  }

  @Test
  void chatServerProcessStopsGracefullyOnSigint() throws Exception {
    String rest =
        assertGracefulStop(
            "chat", "INT", "--idle-timeout", "30", "--max-connections=100", "--backlog", "64");
    assertTrue(rest.contains("[chat] summary: connections=1 open=0 disconnections=1"), rest);
  }

  /**
   * Starts the command in a real JVM with these options, talks to it, signals it: exit 0 after
   * closing clients.
   *
   * @return what the process printed after the signal
   */
  private static String assertGracefulStop(String command, String signal, String... options)
      throws Exception {
    List<String> commandLine = new ArrayList<>();
    commandLine.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    commandLine.add("--enable-native-access=ALL-UNNAMED");
    commandLine.add("-cp");
    commandLine.add(System.getProperty("java.class.path"));
    commandLine.add(Main.class.getName());
    commandLine.addAll(List.of(command, "--port", "0"));
    commandLine.addAll(List.of(options));
    Process process = new ProcessBuilder(commandLine).redirectErrorStream(true).start();
    try (BufferedReader output =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String banner = output.readLine();
      Matcher port =
          Pattern.compile("listening on (?:http://)?127\\.0\\.0\\.1:(\\d+)")
              .matcher(String.valueOf(banner));
      assertTrue(port.find(), "banner: " + banner);
      try (Socket client = new Socket()) {
        client.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(port.group(1))), 10_000);
        client.setSoTimeout(10_000);
        if (command.equals("http")) {
          client
              .getOutputStream()
              .write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          // Read the whole response, so that what follows can only be the server's close.
          StringBuilder response = new StringBuilder();
          while (!response.toString().endsWith("Hello from eventwatcher\n")) {
            int b = client.getInputStream().read();
            assertTrue(b >= 0, "EOF in response: " + response);
            response.append((char) b);
          }
          assertTrue(response.toString().startsWith("HTTP/1.1 200"), response.toString());
        } else {
          assertTrue(output.readLine().contains("connected"));
        }
        Process kill =
            new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
        assertEquals(0, kill.waitFor());
        assertEquals(-1, client.getInputStream().read(), "the server should close its clients");
      }
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the server did not stop");
      assertEquals(0, process.exitValue());
      StringBuilder rest = new StringBuilder();
      for (String line; (line = output.readLine()) != null; ) rest.append(line).append('\n');
      assertTrue(rest.toString().contains("stopped"), rest.toString());
      return rest.toString();
    } finally {
      process.destroyForcibly();
    }
  }
}
