package io.eventwatcher.bench.fdio;

import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the blocking-I/O probes share: virtual threads (JDK 21+), RSS, CPU and thread counts. */
final class Threads {
  private static final Method START_VIRTUAL = startVirtualThread();

  private Threads() {}

  private static Method startVirtualThread() {
    try {
      return Thread.class.getMethod("startVirtualThread", Runnable.class);
    } catch (NoSuchMethodException e) {
      return null;
    }
  }

  /**
   * Starts a virtual thread (reflection: the benchmarks target Java 17 bytecode).
   *
   * @throws UnsupportedOperationException on a JDK without virtual threads
   */
  static Thread virtual(Runnable task) {
    if (START_VIRTUAL == null) {
      throw new UnsupportedOperationException(
          "virtual threads need JDK 21+, this is " + Runtime.version());
    }
    try {
      return (Thread) START_VIRTUAL.invoke(null, task);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts a platform daemon thread. */
  static Thread platform(Runnable task) {
    Thread thread = new Thread(task);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }

  /** The process's resident set (VmRSS) in MiB. */
  static double rssMiB() throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
    }
    return -1;
  }

  /** OS threads of this process now (/proc/self/task): carriers and every platform thread. */
  static int osThreads() throws java.io.IOException {
    try (var tasks = Files.list(Path.of("/proc/self/task"))) {
      return (int) tasks.count();
    }
  }

  /** CPU time of the whole JVM process so far, in ms (user + system). */
  static double processCpuMs() {
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    return os.getProcessCpuTime() / 1e6;
  }

  /** The most OS threads the JVM had at once (platform threads; virtual ones are not counted). */
  static int peakPlatformThreads() {
    return ManagementFactory.getThreadMXBean().getPeakThreadCount();
  }
}
