package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.loopThread;
import static io.eventwatcher.TestSupport.sync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.Reported;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whatever a callback, a task, the error handler or the logger throws, {@link Error}s included, the
 * loop reports what it can and goes on: it ends only through close. Each test throws a fault at the
 * loop, then proves the same loop thread still dispatches events and runs tasks.
 */
class LoopNeverDiesTest {
  /** Recursion until the stack is exhausted: a real StackOverflowError. */
  private static int recurse(int depth) {
    return recurse(depth + 1) + 1;
  }

  private static void assertStillServes(EventWatcher watcher, Thread loop) throws IOException {
    assertTrue(loop.isAlive(), "the loop thread died");
    assertSame(loop, loopThread(watcher), "a different loop thread");
    try (Pipe pipe = new Pipe()) {
      CompletableFuture<Integer> called = new CompletableFuture<>();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> called.complete(fd));
      pipe.fill();
      assertEquals(pipe.r, await(called, "a callback after the fault"));
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  private static List<Supplier<Throwable>> errors() {
    return List.of(
        () -> {
          try {
            recurse(0);
            return new AssertionError("no overflow");
          } catch (StackOverflowError real) {
            return real;
          }
        },
        () -> new OutOfMemoryError("simulated: Java heap space"),
        () -> new NoClassDefFoundError("simulated: sun/util/calendar/ZoneInfoFile"),
        () -> new ExceptionInInitializerError("simulated: a static initializer failed"),
        () -> new IOException("a checked exception"));
  }

  @Test
  void errorsThrownByCallbacksAndTasksReachTheHandlerAndTheLoopGoesOn() throws Exception {
    Reported reported = new Reported();
    try (EventWatcher watcher = EventWatcher.builder().errorHandler(reported).build()) {
      Thread loop = loopThread(watcher);
      List<Throwable> thrown = new ArrayList<>();
      for (Supplier<Throwable> error : errors()) {
        Throwable fault = error.get();
        thrown.add(fault);
        watcher.runInEventWatcherLoop(
            () -> {
              throw sneaky(fault);
            });
        try (Pipe pipe = new Pipe()) {
          Throwable callbackFault = error.get();
          thrown.add(callbackFault);
          CompletableFuture<Void> called = new CompletableFuture<>();
          watcher.watch(
              pipe.r,
              WatchFlag.READ,
              fd -> {
                watcher.unwatch(fd, WatchFlag.READ);
                called.complete(null);
                throw sneaky(callbackFault);
              });
          pipe.fill();
          await(called, "the failing callback");
          sync(watcher);
        }
      }
      eventually(() -> reported.count() == thrown.size(), "every fault reported");
      for (int i = 0; i < thrown.size(); i++)
        assertSame(thrown.get(i), reported.reports().get(i).error());
      assertStillServes(watcher, loop);
    }
  }

  @Test
  void errorsThrownByTheHandlerItselfAreLoggedAndTheLoopGoesOn() throws Exception {
    AtomicInteger handled = new AtomicInteger();
    List<Supplier<Throwable>> errors = errors();
    try (EventWatcher watcher =
        EventWatcher.builder()
            .errorHandler(
                (fd, error) -> {
                  throw sneaky(errors.get(handled.getAndIncrement() % errors.size()).get());
                })
            .build()) {
      Thread loop = loopThread(watcher);
      for (int i = 0; i < errors.size(); i++) {
        watcher.runInEventWatcherLoop(
            () -> {
              throw new IllegalStateException("task");
            });
      }
      sync(watcher);
      assertEquals(errors.size(), handled.get());
      assertStillServes(watcher, loop);
    }
  }

  @Test
  void executorCallbacksThrowingErrorsAreReportedAndRearmed() throws Exception {
    Reported reported = new Reported();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (EventWatcher watcher =
            EventWatcher.builder().executor(pool).errorHandler(reported).build();
        Pipe pipe = new Pipe()) {
      Thread loop = loopThread(watcher);
      AtomicInteger calls = new AtomicInteger();
      CompletableFuture<Void> third = new CompletableFuture<>();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            if (calls.incrementAndGet() == 3) third.complete(null);
            throw new OutOfMemoryError("simulated, on an executor thread");
          });
      pipe.fill(); // stays readable: each call is re-armed after the previous one failed
      await(third, "three calls, each after a failed one");
      watcher.unwatch(pipe.r, WatchFlag.READ);
      assertTrue(reported.count() >= 3, "reports: " + reported.reports());
      assertInstanceOf(OutOfMemoryError.class, reported.reports().get(0).error());
      assertStillServes(watcher, loop);
    } finally {
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void aDefaultHandlerWhoseLoggerFailsFallsBackToOneLineOnStderr(@TempDir Path services)
      throws Exception {
    ChildRun child = runWithFailingLogger(services, "default-handler");
    child.assertAliveWithLostReports(3);
  }

  @Test
  void aThrowingHandlerWithAFailingLoggerFallsBackToOneLineOnStderr(@TempDir Path services)
      throws Exception {
    ChildRun child = runWithFailingLogger(services, "throwing-handler");
    child.assertAliveWithLostReports(3);
  }

  @Test
  void aThrowingHandlerWhoseFirstFailureComesAtTheDescriptorLimitFallsBackAndTheLoopGoesOn(
      @TempDir Path services) throws Exception {
    ChildRun child = runWithFailingLogger(services, "throwing-handler-at-fd-limit");
    child.assertAliveWithLostReports(3);
  }

  /** What a child JVM printed. */
  private record ChildRun(int status, String stdout, String stderr) {
    void assertAliveWithLostReports(int expected) {
      String diagnostics = "status " + status + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
      assertEquals(0, status, diagnostics);
      assertTrue(stdout.startsWith("alive true "), diagnostics);
      String fd =
          stdout
              .lines()
              .filter(l -> l.startsWith("callback fd "))
              .findFirst()
              .orElseThrow()
              .substring(12);
      String line =
          "eventwatcher: an error in a callback for fd "
              + fd
              + " was lost: the error handler and the logger failed";
      assertEquals(expected, stderr.lines().filter(line::equals).count(), diagnostics);
      assertTrue(!stderr.contains("Exception in thread"), "a thread died: " + diagnostics);
    }
  }

  /**
   * Runs {@link FaultyLoggingChild} in a child JVM whose logging system is {@link
   * ThrowingLoggerFinder}, registered by a service file in {@code services} (so that this JVM's
   * logging is untouched).
   */
  private static ChildRun runWithFailingLogger(Path services, String mode) throws Exception {
    Path file = services.resolve("META-INF/services/java.lang.System$LoggerFinder");
    Files.createDirectories(file.getParent());
    Files.writeString(file, ThrowingLoggerFinder.class.getName() + "\n");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classPath = services + File.pathSeparator + System.getProperty("java.class.path");
    Process process =
        new ProcessBuilder(
                java,
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                classPath,
                FaultyLoggingChild.class.getName(),
                mode)
            .start();
    CompletableFuture<String> stderr =
        CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
    String stdout = readAll(process.getInputStream());
    assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the child JVM did not exit");
    return new ChildRun(process.exitValue(), stdout, stderr.get(30, TimeUnit.SECONDS));
  }

  private static String readAll(InputStream stream) {
    try {
      return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Throws any throwable from a lambda that may not declare it. */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> RuntimeException sneaky(Throwable error) throws E {
    throw (E) error;
  }
}
