package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;

/**
 * One (fd, flag) registration. Its identity matters: the {@link FdTable} holds the current
 * registration of each (fd, flag), and an event is delivered only to the registration found there
 * when the event is dispatched. Immutable, so that inline mode allocates this and nothing else per
 * watch; {@link ExecutorRegistration} adds the state of executor hand-off.
 */
class Registration {
  final int fd;
  final int flag;
  final WatchCallback callback;

  /** The loop turn during which it was made; that turn's events were fetched before it existed. */
  final long sinceTurn;

  Registration(int fd, int flag, WatchCallback callback, long sinceTurn) {
    this.fd = fd;
    this.flag = flag;
    this.callback = callback;
    this.sinceTurn = sinceTurn;
  }

  /** Calls the callback; whatever it throws goes to {@code faults}. Any thread; never throws. */
  final void call(Faults faults) {
    try {
      callback.run(fd);
    } catch (Throwable e) {
      faults.report(fd, e);
    }
  }
}
