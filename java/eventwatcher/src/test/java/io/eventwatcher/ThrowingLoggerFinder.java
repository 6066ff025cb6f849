package io.eventwatcher;

import java.util.ResourceBundle;
import java.util.function.Supplier;

/**
 * A logging system that cannot work, as JUL cannot when the process is out of descriptors and its
 * formatter must open {@code tzdb.dat}: the first {@code getLogger} throws {@link
 * ExceptionInInitializerError}; loggers made later throw {@link NoClassDefFoundError} from every
 * {@code log}. Installed only in the child JVMs of {@link LoopNeverDiesTest}, through a service
 * file that exists nowhere but on their class path.
 */
public final class ThrowingLoggerFinder extends System.LoggerFinder {
  private boolean failedOnce;

  @Override
  public synchronized System.Logger getLogger(String name, Module module) {
    if (!failedOnce) {
      failedOnce = true;
      throw new ExceptionInInitializerError("simulated: the logging system cannot open a file");
    }
    return new ThrowingLogger(name);
  }

  private record ThrowingLogger(String name) implements System.Logger {
    @Override
    public String getName() {
      return name;
    }

    @Override
    public boolean isLoggable(Level level) {
      return true;
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
      throw new NoClassDefFoundError("simulated: a class of the formatter could not be loaded");
    }

    @Override
    public void log(Level level, ResourceBundle bundle, String format, Object... params) {
      throw new NoClassDefFoundError("simulated: a class of the formatter could not be loaded");
    }

    @Override
    public void log(Level level, Supplier<String> supplier, Throwable thrown) {
      throw new NoClassDefFoundError("simulated: a class of the formatter could not be loaded");
    }
  }
}
