package io.eventwatcher;

import static io.eventwatcher.TestSupport.PATIENCE_MS;
import static io.eventwatcher.TestSupport.assertNoNewFds;
import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.openFds;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.internal.Errno;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Subprocess with real children (sh, cat, sleep): exit values and signals, the three streams and
 * their redirects, environment and directory, starts that fail without leaking a descriptor, and
 * 200 children at once with no thread per child.
 */
class SubprocessTest {
  @TempDir Path temp;

  static ProcessBuilder sh(String script) {
    return new ProcessBuilder("sh", "-c", script);
  }

  /** Everything a channel yields until end of stream, as UTF-8. */
  static String readAll(FdChannel channel) throws IOException {
    try (channel) {
      return new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static void closeStreams(Subprocess child) throws IOException {
    for (FdChannel channel : new FdChannel[] {child.stdin(), child.stdout(), child.stderr()}) {
      if (channel != null) channel.close();
    }
  }

  @Test
  void reportsTheExitStatusThroughEveryAccessor() throws Exception {
    Subprocess child = Subprocess.start(sh("exit 3"));
    assertTrue(child.pid() > 0);
    assertEquals(3, child.waitFor());
    assertEquals(3, child.exitValue());
    assertEquals(3, await(child.onExit(), "onExit"));
    assertTrue(child.waitFor(1, TimeUnit.MILLISECONDS));
    assertFalse(child.isAlive());
    eventually(() -> !Files.exists(Path.of("/proc/" + child.pid())), "the child reaped");
    child.destroy(); // after the exit: nothing to signal, no error
    closeStreams(child);
  }

  @Test
  void destroyAndDestroyForciblyGive128PlusTheSignal() throws Exception {
    Subprocess terminated = Subprocess.start(new ProcessBuilder("sleep", "60"));
    Subprocess killed = Subprocess.start(new ProcessBuilder("sleep", "60"));
    assertTrue(terminated.isAlive());
    assertThrows(IllegalThreadStateException.class, terminated::exitValue);
    terminated.destroy();
    killed.destroyForcibly();
    assertEquals(128 + 15, terminated.waitFor());
    assertEquals(128 + 9, killed.waitFor());
    closeStreams(terminated);
    closeStreams(killed);
  }

  @Test
  void aChildThatExitsAtOnceIsNeverMissed() throws Exception {
    List<Subprocess> children = new ArrayList<>();
    for (int i = 0; i < 50; i++) children.add(Subprocess.start(new ProcessBuilder("true")));
    for (Subprocess child : children) {
      assertTrue(child.waitFor(PATIENCE_MS, TimeUnit.MILLISECONDS), "exit of " + child);
      assertEquals(0, child.exitValue());
      closeStreams(child);
    }
  }

  @Test
  void readsStdoutAndStderrSeparately() throws Exception {
    Subprocess child = Subprocess.start(sh("echo out; echo err >&2; exit 0"));
    assertEquals("out\n", readAll(child.stdout()));
    assertEquals("err\n", readAll(child.stderr()));
    assertEquals(0, child.waitFor());
    child.stdin().close();
  }

  @Test
  void closingStdinWhileOutputIsPendingDeliversAllOfIt() throws Exception {
    byte[] data = new byte[1 << 20];
    new Random(11).nextBytes(data);
    Subprocess child = Subprocess.start(new ProcessBuilder("cat"));
    CompletableFuture<Void> fed =
        CompletableFuture.runAsync(
            () -> {
              try (FdChannel stdin = child.stdin()) {
                stdin.write(ByteBuffer.wrap(data));
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            });
    byte[] echoed;
    try (FdChannel stdout = child.stdout()) {
      echoed = Channels.newInputStream(stdout).readAllBytes();
    }
    await(fed, "stdin written and closed");
    assertArrayEquals(data, echoed);
    assertEquals(0, child.waitFor());
    child.stderr().close();
  }

  @Test
  void honoursFileRedirectsDiscardAndInherit() throws Exception {
    File input = temp.resolve("in.txt").toFile();
    File output = temp.resolve("out.txt").toFile();
    Files.writeString(input.toPath(), "from a file\n");
    Files.writeString(output.toPath(), "kept\n");
    Subprocess child =
        Subprocess.start(
            new ProcessBuilder("cat")
                .redirectInput(input)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(output))
                .redirectError(ProcessBuilder.Redirect.DISCARD));
    assertNull(child.stdin());
    assertNull(child.stdout());
    assertNull(child.stderr());
    assertEquals(0, child.waitFor());
    assertEquals("kept\nfrom a file\n", Files.readString(output.toPath()));

    Subprocess truncating =
        Subprocess.start(sh("echo new").redirectOutput(output).redirectInput(input));
    assertEquals(0, truncating.waitFor());
    assertEquals("new\n", Files.readString(output.toPath()));
    closeStreams(truncating);

    Subprocess inheriting =
        Subprocess.start(sh("exit 0").inheritIO().redirectInput(ProcessBuilder.Redirect.PIPE));
    assertNotNull(inheriting.stdin());
    assertNull(inheriting.stdout());
    assertEquals(0, inheriting.waitFor());
    closeStreams(inheriting);
  }

  @Test
  void redirectErrorStreamMergesStderrIntoStdout() throws Exception {
    Subprocess child = Subprocess.start(sh("echo one; echo two >&2").redirectErrorStream(true));
    assertNull(child.stderr());
    assertEquals("one\ntwo\n", readAll(child.stdout()));
    assertEquals(0, child.waitFor());
    child.stdin().close();
  }

  @Test
  void honoursTheEnvironmentAndTheDirectory() throws Exception {
    ProcessBuilder builder = sh("echo \"$EW_VALUE\"; pwd; env | wc -l").directory(temp.toFile());
    builder.environment().clear();
    builder.environment().put("EW_VALUE", "héllo wörld");
    Subprocess child = Subprocess.start(builder);
    String[] lines = readAll(child.stdout()).split("\n");
    assertEquals("héllo wörld", lines[0]);
    assertEquals(temp.toRealPath().toString(), lines[1]);
    // sh adds PWD (and maybe SHLVL, _) to what it was given: only a few variables.
    assertTrue(Integer.parseInt(lines[2].trim()) <= 4, "environment not replaced: " + lines[2]);
    assertEquals(0, child.waitFor());
    closeStreams(child);
  }

  @Test
  void aFailedStartThrowsWithErrnoAndLeaksNoDescriptor() throws Exception {
    Subprocess.start(sh("exit 0")).waitFor(); // the shared watcher and its fds exist before
    Map<Integer, String> before = openFds();
    ErrnoException missing =
        assertThrows(
            ErrnoException.class,
            () -> Subprocess.start(new ProcessBuilder("/nonexistent/program")));
    assertEquals(Errno.ENOENT, missing.errno());
    assertTrue(missing.getMessage().contains("/nonexistent/program"), missing.getMessage());
    assertThrows(
        ErrnoException.class,
        () -> Subprocess.start(sh("exit 0").redirectInput(temp.resolve("absent").toFile())));
    assertThrows(
        ErrnoException.class,
        () -> Subprocess.start(sh("exit 0").directory(temp.resolve("absent").toFile())));
    assertThrows(IOException.class, () -> Subprocess.start(sh("echo \0")));
    assertThrows(IndexOutOfBoundsException.class, () -> Subprocess.start(new ProcessBuilder()));
    assertNoNewFds(before, "descriptors left open by failed starts");
  }

  @Test
  void twoHundredChildrenAtOnceUseNoThreadEach() throws Exception {
    int count = 200;
    int threadsBefore = Thread.getAllStackTraces().size();
    List<Subprocess> children = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        children.add(Subprocess.start(sh("read line; echo \"$line\"; exit " + (i % 100))));
      }
      // All 200 run, blocked reading stdin, and the JVM has no thread per child.
      int threadsDuring = Thread.getAllStackTraces().size();
      assertTrue(
          threadsDuring < threadsBefore + 5,
          "threads grew from " + threadsBefore + " to " + threadsDuring);
      for (int i = 0; i < count; i++) {
        try (FdChannel stdin = children.get(i).stdin()) {
          stdin.write(ByteBuffer.wrap(("child " + i + "\n").getBytes(StandardCharsets.UTF_8)));
        }
      }
      for (int i = 0; i < count; i++) {
        Subprocess child = children.get(i);
        assertEquals("child " + i + "\n", readAll(child.stdout()));
        assertEquals(i % 100, child.waitFor());
      }
    } finally {
      for (Subprocess child : children) {
        child.destroyForcibly();
        child.waitFor();
        child.stderr().close();
        if (child.stdout().isOpen()) child.stdout().close();
      }
    }
  }

  @Test
  void aChildOnAGivenWatcherIsReapedByIt() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      Subprocess child = Subprocess.start(sh("read line; exit 5"), watcher);
      CompletableFuture<String> reaper = new CompletableFuture<>();
      child.onExit().thenRun(() -> reaper.complete(Thread.currentThread().getName()));
      child.stdin().close(); // the child exits only now, after the stage is attached
      // Not waitFor first: a thread waiting on the exit future may run its stages itself.
      String thread = await(reaper, "onExit");
      assertTrue(thread.startsWith("eventwatcher"), thread);
      assertEquals(5, child.waitFor());
      closeStreams(child);
    }
  }

  @Test
  void aChildOutlivingItsGivenWatcherIsStillReaped() throws Exception {
    EventWatcher watcher = new EventWatcher();
    Subprocess child = Subprocess.start(sh("exec sleep 30"), watcher);
    watcher.close(); // the exit watch moves to the shared watcher
    assertTrue(child.isAlive());
    child.destroy();
    assertEquals(128 + 15, await(child.onExit(), "the exit, through the shared watcher"));
    assertEquals(128 + 15, child.exitValue());
    eventually(() -> !Files.exists(Path.of("/proc/" + child.pid())), "the child reaped");
    closeStreams(child);
  }

  @Test
  void childrenThatExitLeaveNoCloseHookBehind() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      List<Subprocess> children = new ArrayList<>();
      for (int i = 0; i < 20; i++) children.add(Subprocess.start(sh("exit 0"), watcher));
      for (Subprocess child : children) {
        assertEquals(0, child.waitFor());
        closeStreams(child);
      }
      assertEquals(0, watcher.reactor().closeHookCount(), "hooks of exited children");
    }
  }

  @Test
  void aWatcherClosedFromAStageOnTheSharedLoopStillHandsItsChildOver() throws Exception {
    EventWatcher given = new EventWatcher();
    Subprocess outliving = Subprocess.start(sh("exec sleep 30"), given);
    Subprocess trigger = Subprocess.start(sh("read line; exit 0")); // on the shared watcher
    CompletableFuture<String> closed = new CompletableFuture<>();
    trigger
        .onExit()
        .thenRun(
            () -> {
              given.close(); // on the shared loop, which the move must not wait for
              closed.complete(Thread.currentThread().getName());
            });
    trigger.stdin().close(); // the trigger exits only now, after the stage is attached
    assertTrue(await(closed, "the close, from the stage").startsWith("eventwatcher"));
    outliving.destroy();
    assertEquals(128 + 15, await(outliving.onExit(), "the moved exit watch"));
    closeStreams(trigger);
    closeStreams(outliving);
  }

  @Test
  void startOnAClosedWatcherStartsNothing() throws Exception {
    EventWatcher watcher = new EventWatcher();
    watcher.close();
    assertThrows(IllegalStateException.class, () -> Subprocess.start(sh("exit 0"), watcher));
    assertTrue(Subprocess.isSupported());
  }
}
