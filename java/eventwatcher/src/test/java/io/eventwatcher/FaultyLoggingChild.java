package io.eventwatcher;

import io.eventwatcher.TestSupport.Pipe;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The child JVM of {@link LoopNeverDiesTest}'s logging tests, run with {@link ThrowingLoggerFinder}
 * as the logging system. Three callback failures reach a handler that cannot report them (the
 * default one, whose logger throws, or one that throws itself, with the logger failing too); then
 * it proves the loop still runs tasks and callbacks and prints {@code alive}.
 *
 * <p>Arguments: {@code default-handler}, {@code throwing-handler}, or {@code
 * throwing-handler-at-fd-limit}: as {@code throwing-handler}, with every descriptor taken before
 * the first failure, so that the fallback path must not need to load a class (which opens a file).
 */
public final class FaultyLoggingChild {
  private FaultyLoggingChild() {}

  public static void main(String[] args) throws Exception {
    EventWatcher.Builder builder = EventWatcher.builder().threadName("faulty-logging");
    boolean atLimit = args[0].equals("throwing-handler-at-fd-limit");
    if (args[0].equals("throwing-handler") || atLimit) {
      builder.errorHandler(
          (fd, error) -> {
            throw new StackOverflowError("simulated: the handler overflowed its stack");
          });
    }
    try (EventWatcher watcher = builder.build();
        Pipe pipe = new Pipe()) {
      List<Integer> fillers = new ArrayList<>();
      pipe.fill(); // loads this test's classes while descriptors are at hand
      pipe.drain();
      CountDownLatch failures = new CountDownLatch(3);
      watcher.watch(
          pipe.r,
          WatchFlag.READ,
          fd -> {
            failures.countDown();
            if (failures.getCount() == 0) watcher.unwatch(fd, WatchFlag.READ);
            throw new NoClassDefFoundError("simulated: the callback could not load a class");
          });
      if (atLimit) {
        try {
          System.getLogger("io.eventwatcher"); // loads the failing logging system now
        } catch (Throwable expected) {
          // It throws on every use: the reports will fall back to the fd-2 line.
        }
        takeEveryDescriptor(fillers);
      }
      pipe.fill();
      if (!failures.await(10, TimeUnit.SECONDS))
        throw new AssertionError("the callback was not called");
      CompletableFuture<Boolean> task = new CompletableFuture<>();
      watcher.runInEventWatcherLoop(() -> task.complete(watcher.inEventWatcherLoop()));
      CompletableFuture<Integer> called = new CompletableFuture<>();
      pipe.drain();
      watcher.watch(pipe.r, WatchFlag.READ, fd -> called.complete(pipe.drain()));
      pipe.fill();
      String alive =
          "alive " + task.get(10, TimeUnit.SECONDS) + " " + called.get(10, TimeUnit.SECONDS);
      for (int filler : fillers) NativeIO.close(filler);
      System.out.println(alive);
      System.out.println("callback fd " + pipe.r);
      watcher.unwatch(pipe.r, WatchFlag.READ);
    }
  }

  /** Opens eventfds until the process has no descriptor left. */
  private static void takeEveryDescriptor(List<Integer> fillers) {
    for (; ; ) {
      try {
        fillers.add(NativeIO.eventFd(0));
      } catch (Throwable exhausted) { // EMFILE, or the class of its exception failing to load
        return;
      }
    }
  }
}
