package io.eventwatcher.internal;

import io.eventwatcher.WatchCallback;

/**
 * Callbacks run on the loop thread, one at a time: nothing to wait for, nothing to lock, and a
 * watch allocates only its {@link Registration}.
 */
final class InlineDispatch implements Dispatch {
  private final Faults faults;

  InlineDispatch(Faults faults) {
    this.faults = faults;
  }

  @Override
  public void dispatch(Registration registration) {
    registration.call(faults);
  }

  @Override
  public Registration create(Slot slot, int fd, int flag, WatchCallback callback, long turn) {
    return new Registration(fd, flag, callback, turn);
  }

  @Override
  public boolean armsLater(Registration registration) {
    return false;
  }

  @Override
  public void retired(Registration registration) {
    // A registration out of the table is never called again: dispatch looks there.
  }

  @Override
  public void awaitIdle(Registration registration) {
    // Its calls ran on the loop thread, which applied the removal: none can be running.
  }

  @Override
  public void awaitCalls() {
    // The loop thread has ended: so have its calls.
  }

  @Override
  public boolean callerIsCallback() {
    return false; // its callbacks run on the loop thread
  }
}
