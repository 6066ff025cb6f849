package io.eventwatcher;

/**
 * Receives what callbacks and tasks throw. Called on the thread that ran the callback or task (the
 * loop thread, or an executor thread). If the handler itself throws anything, {@link Error}s
 * included, that is logged through {@link System.Logger} {@code io.eventwatcher}; if logging fails
 * too, one fixed line naming the fd goes to the process's fd 2, written without allocating. The
 * watcher carries on in every case.
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
