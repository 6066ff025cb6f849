package io.eventwatcher;

import static io.eventwatcher.TestSupport.await;
import static io.eventwatcher.TestSupport.eventually;
import static io.eventwatcher.TestSupport.sync;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.eventwatcher.TestSupport.Counter;
import io.eventwatcher.TestSupport.Pipe;
import io.eventwatcher.TestSupport.Reported;
import io.eventwatcher.TestSupport.Reported.Report;
import io.eventwatcher.internal.Errno;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.channels.SelectableChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors of a call go to its caller: ErrnoException (errno and fd) for OS errors,
 * IllegalArgumentException or NullPointerException for bad arguments, also on the loop thread.
 * Whatever callbacks and tasks throw goes to the error handler (logged by default, on the thread
 * that ran the callback), and the watcher carries on, even if the handler itself throws.
 */
class ErrorsTest {
  @TempDir Path temp;

  @Test
  void negativeFdIsIllegalArgument() {
    try (EventWatcher watcher = new EventWatcher()) {
      assertThrows(
          IllegalArgumentException.class, () -> watcher.watch(-1, WatchFlag.READ, fd -> {}));
      assertThrows(IllegalArgumentException.class, () -> watcher.unwatch(-1, WatchFlag.WRITE));
    }
  }

  @Test
  void nullArgumentsAreNullPointer() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      assertThrows(NullPointerException.class, () -> watcher.watch(pipe.r, null, fd -> {}));
      assertThrows(NullPointerException.class, () -> watcher.watch(pipe.r, WatchFlag.READ, null));
      assertThrows(NullPointerException.class, () -> watcher.unwatch(pipe.r, null));
      assertThrows(
          NullPointerException.class,
          () -> watcher.watch((FileDescriptor) null, WatchFlag.READ, fd -> {}));
      assertThrows(
          NullPointerException.class,
          () -> watcher.watch((SelectableChannel) null, WatchFlag.READ, fd -> {}));
      assertThrows(
          NullPointerException.class, () -> watcher.unwatch((FileDescriptor) null, WatchFlag.READ));
      assertThrows(
          NullPointerException.class,
          () -> watcher.unwatch((SelectableChannel) null, WatchFlag.READ));
      assertThrows(NullPointerException.class, () -> watcher.runInEventWatcherLoop(null));
    }
  }

  /**
   * A number far above any open fd. A pipe's number, once closed, could be taken meanwhile by any
   * thread of the JVM (a class loader opening a jar), so tests of "not open" use this one.
   */
  private static final int NOT_OPEN = 987_654;

  @Test
  void closedFdIsErrnoExceptionEbadfNamingTheFd() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      ErrnoException error =
          assertThrows(
              ErrnoException.class, () -> watcher.watch(NOT_OPEN, WatchFlag.READ, fd -> {}));
      assertEquals(Errno.EBADF, error.errno(), error.getMessage());
      assertEquals(NOT_OPEN, error.fd());
      assertTrue(
          error.getMessage().contains("watch(READ) failed for fd " + NOT_OPEN), error.getMessage());
      assertTrue(error.getMessage().contains("errno " + Errno.EBADF), error.getMessage());
    }
  }

  @Test
  void regularFileIsErrnoExceptionEperm() throws Exception {
    Path file = Files.writeString(temp.resolve("regular.txt"), "data");
    try (EventWatcher watcher = new EventWatcher();
        FileInputStream in = new FileInputStream(file.toFile())) {
      ErrnoException error =
          assertThrows(
              ErrnoException.class, () -> watcher.watch(in.getFD(), WatchFlag.READ, fd -> {}));
      assertEquals(Errno.EPERM, error.errno(), error.getMessage());
      assertEquals(FileDescriptors.fd(in.getFD()), error.fd());
    }
  }

  @Test
  void errorsReachACallerOnTheLoopThreadToo() throws Exception {
    try (EventWatcher watcher = new EventWatcher()) {
      CompletableFuture<Integer> errno = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(
          () -> {
            try {
              watcher.watch(NOT_OPEN, WatchFlag.READ, fd -> {});
              errno.complete(0);
            } catch (ErrnoException e) {
              errno.complete(e.errno());
            } catch (Throwable e) {
              errno.completeExceptionally(e);
            }
          });
      assertEquals(Errno.EBADF, await(errno, "the watch on the loop thread"));
    }
  }

  @Test
  void watcherStaysUsableAfterAnError() throws Exception {
    try (EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      assertThrows(ErrnoException.class, () -> watcher.watch(NOT_OPEN, WatchFlag.READ, fd -> {}));
      pipe.fill();
      Counter counter = new Counter();
      watcher.watch(pipe.r, WatchFlag.READ, counter);
      eventually(() -> counter.calls() > 0, "a callback after a failed watch");
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  @Test
  void builderRejectsBadSettings() {
    EventWatcher.Builder builder = EventWatcher.builder();
    assertThrows(IllegalArgumentException.class, () -> builder.maxEventsPerWait(0));
    assertThrows(IllegalArgumentException.class, () -> builder.maxEventsPerWait(-5));
    assertThrows(IllegalArgumentException.class, () -> builder.maxEventsPerWait((1 << 20) + 1));
    assertThrows(NullPointerException.class, () -> builder.threadName(null));
    assertThrows(NullPointerException.class, () -> builder.executor(null));
    assertThrows(NullPointerException.class, () -> builder.errorHandler(null));
    try (EventWatcher watcher = builder.maxEventsPerWait(1 << 20).build()) {
      sync(watcher); // the largest batch is accepted
    }
  }

  @Test
  void callbackExceptionsGoToTheHandlerAndTheLoopKeepsWorking() throws Exception {
    Reported reported = new Reported();
    try (EventWatcher watcher = EventWatcher.builder().errorHandler(reported).build();
        Pipe throwing = new Pipe();
        Pipe healthy = new Pipe()) {
      throwing.fill();
      RuntimeException boom = new IllegalStateException("boom");
      AtomicInteger throwsSoFar = new AtomicInteger();
      watcher.watch(
          throwing.r,
          WatchFlag.READ,
          fd -> {
            throwsSoFar.incrementAndGet();
            throw boom;
          });
      eventually(() -> throwsSoFar.get() >= 3, "the registration to stay after a throw");
      Counter counter = new Counter();
      watcher.watch(healthy.r, WatchFlag.READ, counter);
      healthy.fill();
      eventually(() -> counter.calls() > 0, "another callback after the throws");
      watcher.unwatchAll();
      List<Report> reports = reported.reports();
      assertTrue(reports.size() >= 3, "reports: " + reports);
      for (Report report : reports) {
        assertEquals(throwing.r, report.fd());
        assertSame(boom, report.error());
      }
    }
  }

  @Test
  void checkedExceptionsAndErrorsFromCallbacksReachTheHandlerToo() throws Exception {
    Reported reported = new Reported();
    try (EventWatcher watcher = EventWatcher.builder().errorHandler(reported).build();
        Pipe checked = new Pipe();
        Pipe error = new Pipe()) {
      IOException io = new IOException("checked");
      Error fatal = new AssertionError("error");
      watcher.watch(
          checked.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            throw io;
          });
      watcher.watch(
          error.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            throw fatal;
          });
      checked.fill();
      error.fill();
      eventually(() -> reported.count() == 2, "both reports");
      List<Throwable> errors = new ArrayList<>();
      for (Report report : reported.reports()) {
        errors.add(report.error());
        assertEquals(report.error() == io ? checked.r : error.r, report.fd());
      }
      assertTrue(errors.contains(io) && errors.contains(fatal), "reported: " + errors);
      sync(watcher); // the loop survived the Error
    }
  }

  @Test
  void taskExceptionsReachTheHandlerWithFdMinusOne() {
    Reported reported = new Reported();
    try (EventWatcher watcher = EventWatcher.builder().errorHandler(reported).build()) {
      RuntimeException failure = new RuntimeException("task failed");
      watcher.runInEventWatcherLoop(
          () -> {
            throw failure;
          });
      sync(watcher);
      List<Report> reports = reported.reports();
      assertEquals(1, reports.size(), "reports: " + reports);
      assertEquals(-1, reports.get(0).fd());
      assertSame(failure, reports.get(0).error());
    }
  }

  @Test
  void handlerRunsOnTheThreadThatRanTheCallback() throws Exception {
    CompletableFuture<Thread> handlerThread = new CompletableFuture<>();
    CompletableFuture<Thread> callbackThread = new CompletableFuture<>();
    try (EventWatcher watcher =
            EventWatcher.builder()
                .errorHandler((fd, e) -> handlerThread.complete(Thread.currentThread()))
                .build();
        Pipe pipe = new Pipe()) {
      pipe.fill();
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            callbackThread.complete(Thread.currentThread());
            throw new IOException("x");
          });
      assertSame(await(callbackThread, "the callback"), await(handlerThread, "the handler"));
    }
  }

  @Test
  void throwingHandlerDoesNotStopTheLoopAndIsLogged() {
    RuntimeException handlerFailure = new RuntimeException("handler");
    RuntimeException taskFailure = new RuntimeException("task");
    try (CapturedLog log = new CapturedLog();
        EventWatcher watcher =
            EventWatcher.builder()
                .errorHandler(
                    (fd, e) -> {
                      throw handlerFailure;
                    })
                .build()) {
      watcher.runInEventWatcherLoop(
          () -> {
            throw taskFailure;
          });
      sync(watcher);
      sync(watcher);
      List<LogRecord> records = log.records();
      assertEquals(1, records.size(), "log records: " + records);
      assertEquals(Level.SEVERE, records.get(0).getLevel());
      assertTrue(
          records.get(0).getMessage().contains("error handler threw"), records.get(0).getMessage());
      assertSame(handlerFailure, records.get(0).getThrown());
      assertSame(taskFailure, handlerFailure.getSuppressed()[0]);
    }
  }

  @Test
  void defaultHandlerLogsTheErrorWithTheFd() throws Exception {
    try (CapturedLog log = new CapturedLog();
        EventWatcher watcher = new EventWatcher();
        Pipe pipe = new Pipe()) {
      RuntimeException taskFailure = new RuntimeException("task");
      IOException callbackFailure = new IOException("callback");
      watcher.runInEventWatcherLoop(
          () -> {
            throw taskFailure;
          });
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            watcher.unwatch(fd, WatchFlag.READ);
            throw callbackFailure;
          });
      pipe.fill();
      eventually(() -> log.records().size() == 2, "two log records");
      List<LogRecord> records = log.records();
      assertEquals(Level.SEVERE, records.get(0).getLevel());
      assertEquals("eventwatcher: task threw", records.get(0).getMessage());
      assertSame(taskFailure, records.get(0).getThrown());
      assertEquals(
          "eventwatcher: callback for fd " + pipe.r + " threw", records.get(1).getMessage());
      assertSame(callbackFailure, records.get(1).getThrown());
    }
  }

  @Test
  void handlerThrowingOnEveryReportIsLoggedAtMostTenTimesASecond() throws Exception {
    AtomicInteger handled = new AtomicInteger();
    try (CapturedLog log = new CapturedLog();
        EventWatcher watcher =
            EventWatcher.builder()
                .errorHandler(
                    (fd, error) -> {
                      handled.incrementAndGet();
                      throw new IllegalStateException("handler");
                    })
                .build()) {
      for (int i = 0; i < 100; i++) {
        watcher.runInEventWatcherLoop(
            () -> {
              throw new RuntimeException("task");
            });
      }
      sync(watcher);
      assertEquals(100, handled.get(), "every failure reaches the handler");
      int records = log.records().size();
      // 10 a second; a burst straddling a second's boundary may show up to 20.
      assertTrue(records >= 1 && records <= 20, records + " log records for 100 handler failures");
    }
  }

  /**
   * Captures what the library logs (System.Logger "io.eventwatcher", backed by java.util.logging)
   * and keeps it off the console.
   */
  private static final class CapturedLog extends Handler implements AutoCloseable {
    private final Logger logger = Logger.getLogger("io.eventwatcher");
    private final List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final boolean parentHandlers;

    CapturedLog() {
      parentHandlers = logger.getUseParentHandlers();
      logger.setUseParentHandlers(false);
      logger.addHandler(this);
    }

    List<LogRecord> records() {
      return List.copyOf(records);
    }

    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
      logger.removeHandler(this);
      logger.setUseParentHandlers(parentHandlers);
    }
  }
}
