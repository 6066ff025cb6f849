package io.eventwatcher.internal;

/**
 * The Java state of one fd number: its current READ and WRITE registrations and, in executor mode,
 * the registration of each flag whose call is in flight (handed to the executor and not yet
 * landed), which may no longer be current. Loop thread only, so it needs no lock.
 */
final class Slot {
  private Registration read;
  private Registration write;
  private ExecutorRegistration readInFlight;
  private ExecutorRegistration writeInFlight;

  Registration get(int flag) {
    return flag == Native.READ ? read : write;
  }

  /** Makes {@code registration} (or null) current for {@code flag}; returns the previous one. */
  Registration set(int flag, Registration registration) {
    Registration previous;
    if (flag == Native.READ) {
      previous = read;
      read = registration;
    } else {
      previous = write;
      write = registration;
    }
    return previous;
  }

  ExecutorRegistration inFlight(int flag) {
    return flag == Native.READ ? readInFlight : writeInFlight;
  }

  void setInFlight(int flag, ExecutorRegistration registration) {
    if (flag == Native.READ) {
      readInFlight = registration;
    } else {
      writeInFlight = registration;
    }
  }
}
