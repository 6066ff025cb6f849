package io.eventwatcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * isAvailable() / unavailabilityCause() and the constructor's message when the native library
 * cannot be used. Availability is decided once per JVM, so the unsupported case runs in a child JVM
 * that claims another architecture.
 */
class AvailabilityTest {
  /** Run in the child JVM: prints what a user would see. */
  public static final class Probe {
    public static void main(String[] args) {
      System.out.println("available=" + EventWatcher.isAvailable());
      System.out.println("cause=" + EventWatcher.unavailabilityCause());
      try (EventWatcher watcher = new EventWatcher()) {
        System.out.println("constructed, in loop: " + watcher.inEventWatcherLoop());
      } catch (UnsupportedOperationException e) {
        System.out.println("constructor: " + e.getClass().getSimpleName() + ": " + e.getMessage());
      }
    }
  }

  @Test
  void availableOnThisMachine() {
    assertTrue(EventWatcher.isAvailable(), String.valueOf(EventWatcher.unavailabilityCause()));
    assertEquals(null, EventWatcher.unavailabilityCause());
  }

  @Test
  void unsupportedArchitectureIsExplainedNotAnUnsatisfiedLinkError() throws Exception {
    String output = runProbe("-Dos.arch=aarch64");
    assertTrue(output.contains("available=false"), output);
    assertTrue(
        output.contains(
            "cause=java.lang.UnsupportedOperationException: eventwatcher ships a native library for linux x86_64 only; this is aarch64"),
        output);
    assertTrue(
        output.contains(
            "constructor: UnsupportedOperationException: eventwatcher native library is unavailable:"),
        output);
    assertTrue(output.contains("this is aarch64"), output);
  }

  private static String runProbe(String property) throws IOException, InterruptedException {
    Process process =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED",
                    property,
                    "-cp",
                    System.getProperty("java.class.path"),
                    Probe.class.getName()))
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "probe did not finish");
    assertEquals(0, process.exitValue(), output);
    return output;
  }
}
