package example.consumer;

import io.eventwatcher.ErrnoException;
import io.eventwatcher.EventWatcher;
import io.eventwatcher.NativeIO;
import io.eventwatcher.WatchFlag;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * An application built by Maven against the installed artifact. It watches a JDK pipe, reads it
 * into a heap array, runs a timer, meets an error, and says how it sees the library's module.
 * tests/consumer/run.sh runs it on the class path and on the module path and compares its lines.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    Module module = EventWatcher.class.getModule();
    System.out.println("module: " + (module.isNamed() ? module.getName() : "unnamed"));
    System.out.println(
        "internals exported: "
            + module.isExported("io.eventwatcher.internal")
            + ", shaded loader exported: "
            + module.isExported("io.eventwatcher.shaded.nativelib"));
    Pipe pipe = Pipe.open();
    pipe.source().configureBlocking(false);
    try (EventWatcher watcher = EventWatcher.builder().threadName("consumer-loop").build()) {
      CompletableFuture<String> received = new CompletableFuture<>();
      watcher.watch(
          pipe.source(),
          WatchFlag.READ,
          fd -> {
            byte[] bytes = new byte[64];
            int n = NativeIO.read(fd, bytes, 0, bytes.length);
            watcher.unwatch(pipe.source(), WatchFlag.READ);
            received.complete(
                Thread.currentThread().getName()
                    + " read "
                    + new String(bytes, 0, n, StandardCharsets.US_ASCII));
          });
      pipe.sink().write(StandardCharsets.US_ASCII.encode("hello"));
      System.out.println(received.get(10, TimeUnit.SECONDS));
      ScheduledFuture<Boolean> timer =
          watcher.schedule(watcher::inEventWatcherLoop, 1, TimeUnit.MILLISECONDS);
      System.out.println("timer on loop thread: " + timer.get(10, TimeUnit.SECONDS));
      try {
        NativeIO.write(Integer.MAX_VALUE, new byte[1], 0, 1);
      } catch (ErrnoException e) {
        System.out.println("error: " + e.getMessage());
      }
    } finally {
      pipe.source().close();
      pipe.sink().close();
    }
  }
}
