package io.eventwatcher;

/**
 * The watcher that serves every {@link FdChannel} and {@link Subprocess} not given one of its own:
 * one daemon loop thread, {@code eventwatcher-shared}, started on first use and never closed, so it
 * costs nothing in a program that never uses it and never keeps the JVM alive. It only unparks
 * waiting threads and reaps exited children, so one thread serves any number of them. On JDK 21+
 * two virtual-thread sub-pollers harvest the parked threads' readiness (see the internal {@code
 * SubPoller}), the loop thread waking them only when they found nothing. A start that fails
 * (EMFILE) throws to its caller and is tried again by the next.
 */
final class SharedWatcher {
  private static volatile EventWatcher watcher;

  private SharedWatcher() {}

  /**
   * The shared watcher, started on the first call. Any thread.
   *
   * @throws java.io.UncheckedIOException if epoll or the eventfd cannot be created
   * @throws UnsupportedOperationException if the native library is unavailable
   */
  static EventWatcher get() {
    EventWatcher current = watcher;
    return current != null ? current : start();
  }

  private static synchronized EventWatcher start() {
    if (watcher == null) {
      EventWatcher started =
          EventWatcher.builder().threadName("eventwatcher-shared").daemon(true).build();
      started.reactor().pollArmsOnVirtualThreads(); // on JDK 21+: parking meets the scheduler
      watcher = started;
    }
    return watcher;
  }
}
