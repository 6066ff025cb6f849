package io.eventwatcher.internal;

import io.eventwatcher.ErrorHandler;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where errors go, so that no fault stops a loop: the watcher's error handler; if that throws
 * (anything, {@link Error}s included), the logger; if that throws too, one fixed line written to fd
 * 2 by native code without allocating or opening anything; if that fails, the report is dropped.
 * {@link #report} never throws. The logger and the fd-2 line are rate-limited (10 a second, the
 * rest counted and mentioned in the next line), so an error repeated on every event costs a line
 * now and then, not a flood. Any thread.
 */
public final class Faults {
  private static final int REPORTS_PER_SECOND = 10;

  private final ErrorHandler handler;
  private final boolean handlerIsTheLogger;
  private final RateLimit fallbackLimit = new RateLimit();

  /**
   * Everything the fallback path needs is loaded here, not on first failure: loading a class opens
   * its class file, and the first failure may come when no descriptor is left.
   */
  Faults(ErrorHandler handler) {
    this.handler = handler;
    this.handlerIsTheLogger = handler instanceof LogHandler;
  }

  /**
   * The default error handler: logs through {@link System.Logger} {@code io.eventwatcher} at ERROR,
   * at most 10 reports a second. Each call returns a handler with its own rate limit.
   *
   * @return a new logging handler
   */
  public static ErrorHandler logging() {
    try {
      // Initialises the logging system now, while descriptors are at hand: JUL reads its
      // configuration on first use, and one that first starts at EMFILE has no handler and drops
      // every record silently.
      Log.LOGGER.isLoggable(Level.ERROR);
    } catch (Throwable unusable) {
      // Reports will fall back to the fd-2 line.
    }
    return new LogHandler();
  }

  /** Hands {@code error} (thrown by the callback for {@code fd}, or -1) on; never throws. */
  void report(int fd, Throwable error) {
    try {
      handler.onError(fd, error);
    } catch (Throwable handlerFailure) {
      try {
        fallBack(fd, error, handlerFailure);
      } catch (Throwable unexpected) {
        // fallBack catches its own failures; this is belt and braces, rate-limited as well.
        int suppressed = fallbackLimit.acquire();
        if (suppressed >= 0) lastResort(fd, suppressed);
      }
    }
  }

  /**
   * The handler threw: log that, or if the logger fails too (or is the handler), write the fd-2
   * line. One rate limit covers both, so a handler that throws on every event costs a line now and
   * then.
   */
  private void fallBack(int fd, Throwable error, Throwable handlerFailure) {
    int suppressed = fallbackLimit.acquire();
    if (suppressed < 0) return;
    if (!handlerIsTheLogger) { // else the logger itself failed: do not ask it again
      try {
        handlerFailure.addSuppressed(error);
        String more = suppressed > 0 ? " (" + suppressed + " more reports suppressed)" : "";
        Log.LOGGER.log(
            Level.ERROR,
            "eventwatcher: error handler threw (reporting what the " + where(fd) + " threw)" + more,
            handlerFailure);
        return;
      } catch (Throwable loggerFailure) {
        // Down to the last resort.
      }
    }
    lastResort(fd, suppressed);
  }

  private static void lastResort(int fd, int suppressed) {
    try {
      Native.reportLost(fd, suppressed);
    } catch (Throwable dropped) {
      // Nothing is left to report with.
    }
  }

  private static String where(int fd) {
    return fd >= 0 ? "callback for fd " + fd : "task";
  }

  /** Initialised on first use, so that a logging system that cannot start fails here, caught. */
  private static final class Log {
    static final System.Logger LOGGER = System.getLogger("io.eventwatcher");
  }

  private static final class LogHandler implements ErrorHandler {
    private final RateLimit limit = new RateLimit();

    @Override
    public void onError(int fd, Throwable error) {
      int suppressed = limit.acquire();
      if (suppressed < 0) return;
      String more = suppressed > 0 ? " (" + suppressed + " more reports suppressed)" : "";
      Log.LOGGER.log(Level.ERROR, "eventwatcher: " + where(fd) + " threw" + more, error);
    }
  }

  /** At most {@link #REPORTS_PER_SECOND} per second; allocation-free. Any thread. */
  private static final class RateLimit {
    private final AtomicLong second = new AtomicLong(Long.MIN_VALUE);
    private final AtomicInteger used = new AtomicInteger();
    private final AtomicInteger suppressed = new AtomicInteger();

    /** Returns -1 if this report is over the limit, else how many were suppressed before it. */
    int acquire() {
      long now = System.nanoTime() / 1_000_000_000L;
      long current = second.get();
      if (now != current && second.compareAndSet(current, now)) used.set(0);
      if (used.incrementAndGet() > REPORTS_PER_SECOND) {
        suppressed.incrementAndGet();
        return -1;
      }
      return suppressed.getAndSet(0);
    }
  }
}
