package io.eventwatcher;

import io.eventwatcher.TestSupport.Pipe;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The child JVM of {@link LoopNeverDiesTest}'s logging tests, run with {@link ThrowingLoggerFinder}
 * as the logging system. Three callback failures reach a handler that cannot report them (the
 * default one, whose logger throws, or one that throws itself, with the logger failing too); then
 * it proves the loop still runs tasks and callbacks and prints {@code alive}.
 *
 * <p>Arguments: {@code default-handler} or {@code throwing-handler}.
 */
public final class FaultyLoggingChild {
  private FaultyLoggingChild() {}

  public static void main(String[] args) throws Exception {
    EventWatcher.Builder builder = EventWatcher.builder().threadName("faulty-logging");
    if (args[0].equals("throwing-handler")) {
      builder.errorHandler(
          (fd, error) -> {
            throw new StackOverflowError("simulated: the handler overflowed its stack");
          });
    }
    try (EventWatcher watcher = builder.build();
        Pipe pipe = new Pipe()) {
      CountDownLatch failures = new CountDownLatch(3);
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            failures.countDown();
            if (failures.getCount() == 0) watcher.unwatch(fd, WatchFlag.READ);
            throw new NoClassDefFoundError("simulated: the callback could not load a class");
          });
      pipe.fill();
      if (!failures.await(10, TimeUnit.SECONDS))
        throw new AssertionError("the callback was not called");
      CompletableFuture<Boolean> task = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(() -> task.complete(watcher.inEventWatcherLoop()));
      CompletableFuture<Integer> called = new CompletableFuture<>();
      pipe.drain();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> called.complete(pipe.drain()));
      pipe.fill();
      System.out.println(
          "alive " + task.get(10, TimeUnit.SECONDS) + " " + called.get(10, TimeUnit.SECONDS));
      System.out.println("callback fd " + pipe.r);
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }
}
