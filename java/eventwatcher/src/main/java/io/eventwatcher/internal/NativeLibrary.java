package io.eventwatcher.internal;

import java.util.Locale;
import org.scijava.nativelib.NativeLoader;

/**
 * Loads {@code libeventwatcher_jni.so} exactly once per class loader, in this class's static
 * initialiser (the JVM runs it once). native-lib-loader extracts the library from the jar ({@code
 * natives/linux_64/}); it must never be asked twice in one JVM, because it would extract over the
 * file already mapped and crash the process.
 */
public final class NativeLibrary {
  private static final String NAME = "eventwatcher_jni";
  private static final Throwable UNAVAILABILITY_CAUSE = load();

  private NativeLibrary() {}

  private static Throwable load() {
    String os = System.getProperty("os.name", "unknown");
    String arch = System.getProperty("os.arch", "unknown");
    if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
      return new UnsupportedOperationException("eventwatcher needs Linux (epoll); this is " + os);
    }
    if (!arch.equals("amd64") && !arch.equals("x86_64")) {
      return new UnsupportedOperationException(
          "eventwatcher ships a native library for linux x86_64 only; this is " + arch);
    }
    try {
      NativeLoader.loadLibrary(NAME);
      return null;
    } catch (Throwable e) {
      return e;
    }
  }

  /**
   * Whether the native library is loaded. Thread-safe; never throws.
   *
   * @return true if usable
   */
  public static boolean isAvailable() {
    return UNAVAILABILITY_CAUSE == null;
  }

  /**
   * Why the native library is not usable, or null if it is. Thread-safe; never throws.
   *
   * @return the cause, or null
   */
  public static Throwable unavailabilityCause() {
    return UNAVAILABILITY_CAUSE;
  }

  /**
   * Throws unless the native library is loaded. Thread-safe.
   *
   * @throws UnsupportedOperationException naming the cause
   */
  public static void ensureAvailable() {
    if (UNAVAILABILITY_CAUSE != null) {
      throw new UnsupportedOperationException(
          "eventwatcher native library is unavailable: " + UNAVAILABILITY_CAUSE,
          UNAVAILABILITY_CAUSE);
    }
  }
}
