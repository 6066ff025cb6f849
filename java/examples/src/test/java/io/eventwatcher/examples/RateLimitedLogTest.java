package io.eventwatcher.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The rate-limited log, on a clock the test moves. */
class RateLimitedLogTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final List<String> lines = new ArrayList<>();
  private long now = 1_000 * SECOND;
  private final RateLimitedLog log = new RateLimitedLog(lines::add, SECOND, () -> now);

  @Test
  void aRepeatedMessageIsPrintedOnceAnIntervalWithTheCountHeldBack() {
    for (int i = 0; i < 1234; i++) log.log("accept failed: Too many open files");
    assertEquals(List.of("accept failed: Too many open files"), lines);
    now += SECOND - 1;
    log.log("accept failed: Too many open files");
    assertEquals(1, lines.size(), "printed again within the interval");
    now += 1;
    log.log("accept failed: Too many open files");
    assertEquals(
        List.of(
            "accept failed: Too many open files",
            "accept failed: Too many open files (1234 more suppressed)"),
        lines);
    now += SECOND;
    log.log("accept failed: Too many open files");
    assertEquals("accept failed: Too many open files", lines.get(2), "nothing held back");
  }

  @Test
  void distinctMessagesAreLimitedApart() {
    log.log("a");
    log.log("b");
    log.log("a");
    log.log("b");
    log.log("b");
    assertEquals(List.of("a", "b"), lines);
    log.flush();
    assertEquals(List.of("a", "b", "a (1 more suppressed)", "b (2 more suppressed)"), lines);
    log.flush();
    assertEquals(4, lines.size(), "a second flush has nothing to report");
  }

  @Test
  void aFlushRestartsTheInterval() {
    log.log("a");
    log.log("a");
    log.flush();
    log.log("a"); // the flush printed a line just now
    assertEquals(List.of("a", "a (1 more suppressed)"), lines);
    log.flush();
    assertEquals("a (1 more suppressed)", lines.get(2));
  }

  @Test
  void tooManyDistinctMessagesFlushAndForgetTheOldOnes() {
    for (int i = 0; i < RateLimitedLog.MAX_TRACKED; i++) {
      log.log("message " + i);
      log.log("message " + i);
    }
    assertEquals(RateLimitedLog.MAX_TRACKED, lines.size());
    log.log("one more");
    assertEquals(2 * RateLimitedLog.MAX_TRACKED + 1, lines.size(), "held-back counts reported");
    assertEquals("message 0 (1 more suppressed)", lines.get(RateLimitedLog.MAX_TRACKED));
    assertEquals("one more", lines.get(lines.size() - 1));
    log.log("message 0"); // forgotten: printed again at once
    assertEquals("message 0", lines.get(lines.size() - 1));
  }
}
