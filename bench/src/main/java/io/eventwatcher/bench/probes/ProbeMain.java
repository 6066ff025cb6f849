package io.eventwatcher.bench.probes;

/**
 * What every probe's {@code main} does (here and in {@code io.eventwatcher.bench.fdio}): runs the
 * probe, reports what it threw, exits.
 */
public final class ProbeMain {
  /** A probe's body. */
  public interface Body {
    /**
     * @param args the command line
     * @return the exit status: 0 on success, 2 on bad arguments
     * @throws Exception on any other failure (exit status 1)
     */
    int run(String[] args) throws Exception;
  }

  private ProbeMain() {}

  /**
   * Runs {@code body} and exits with its status, or with 1 after printing what it threw.
   *
   * @param args the command line
   * @param body the probe
   */
  public static void run(String[] args, Body body) {
    int status;
    try {
      status = body.run(args);
    } catch (Throwable e) {
      e.printStackTrace();
      status = 1;
    }
    System.exit(status);
  }
}
