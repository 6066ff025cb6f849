package io.eventwatcher;

/**
 * The readiness a registration waits for. {@code READ} and {@code WRITE} on the same file
 * descriptor are independent registrations.
 */
public enum WatchFlag {
  /** Readable (EPOLLIN), or hang-up or error pending. */
  READ,
  /** Writable (EPOLLOUT), or hang-up or error pending. */
  WRITE
}
