package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The listener's choices that need no connection: backlog, tick period, which errors pause. */
class TcpServerTest {
  @Test
  void theDefaultBacklogIsTheSystemsSomaxconn() throws IOException {
    String somaxconn;
    try (FileInputStream in = new FileInputStream("/proc/sys/net/core/somaxconn")) {
      somaxconn = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
    }
    assertEquals(Integer.parseInt(somaxconn), TcpServer.defaultBacklog());
  }

  @Test
  void anUnreadableOrNonsensicalSomaxconnFallsBackTo4096(@TempDir Path dir) throws IOException {
    assertEquals(4096, TcpServer.backlogFrom(dir.resolve("missing")));
    Path file = dir.resolve("somaxconn");
    for (String content : new String[] {"", "abc\n", "0\n", "-5\n"}) {
      Files.writeString(file, content);
      assertEquals(4096, TcpServer.backlogFrom(file), content);
    }
    Files.writeString(file, "65535\n");
    assertEquals(65535, TcpServer.backlogFrom(file));
  }

  @Test
  void theTickIsAQuarterOfTheShortestTimeoutWithin100msAnd1s() {
    assertEquals(0, TcpServer.tickPeriodFor(Duration.ZERO, Duration.ZERO), "no timeout: no tick");
    assertEquals(
        Duration.ofMillis(250).toNanos(),
        TcpServer.tickPeriodFor(Duration.ofSeconds(60), Duration.ZERO, Duration.ofSeconds(1)));
    assertEquals(
        Duration.ofSeconds(1).toNanos(),
        TcpServer.tickPeriodFor(Duration.ofSeconds(10), Duration.ofSeconds(60)));
    assertEquals(Duration.ofMillis(100).toNanos(), TcpServer.tickPeriodFor(Duration.ofMillis(50)));
  }

  @Test
  void onlyAShortageOfDescriptorsOrMemoryPausesAccepting() {
    for (String text :
        new String[] {
          "Too many open files",
          "Too many open files in system",
          "No buffer space available",
          "Cannot allocate memory"
        }) {
      assertTrue(TcpServer.outOfResources(new IOException(text)), text);
    }
    for (String text :
        new String[] {"Software caused connection abort", "Protocol error", "Interrupted"}) {
      assertFalse(TcpServer.outOfResources(new IOException(text)), text);
    }
    assertFalse(TcpServer.outOfResources(new IOException()));
  }
}
