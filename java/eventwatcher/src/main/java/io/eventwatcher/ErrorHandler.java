package io.eventwatcher;

/**
 * Receives what callbacks and tasks throw. Called on the thread that ran the callback or task (the
 * loop thread, or an executor thread). If the handler itself throws, that is logged and the watcher
 * carries on.
 */
@FunctionalInterface
public interface ErrorHandler {
  /**
   * Handles an error.
   *
   * @param fd the fd whose callback threw, or -1 for a task or the loop itself
   * @param error what was thrown
   */
  void onError(int fd, Throwable error);
}
