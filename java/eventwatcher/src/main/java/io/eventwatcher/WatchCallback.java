package io.eventwatcher;

/**
 * Called when a watched file descriptor is ready. Readiness is level-triggered: while the fd stays
 * ready, the callback is called again on every loop turn, so it must make progress (read, write, or
 * unwatch). Calls may be spurious; use non-blocking fds and treat "would block" as not ready.
 *
 * <p>Runs on the watcher's loop thread, or on its executor when one is configured; a callback for a
 * given (fd, flag) never runs twice at once. Anything it throws goes to the watcher's error handler
 * and the registration stays.
 */
@FunctionalInterface
public interface WatchCallback {
  /**
   * Handles readiness of {@code fd}.
   *
   * @param fd the ready file descriptor
   * @throws Exception passed to the watcher's error handler
   */
  void run(int fd) throws Exception;
}
