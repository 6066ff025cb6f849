package io.eventwatcher.internal;

/**
 * The fields of Timers, laid out by class: HotSpot places a superclass's fields before its
 * subclass's, so 64 bytes of padding between two groups keep them on different cache lines
 * (JCTools' way, without @Contended, which needs a JVM flag outside the JDK). The padding is bytes,
 * not longs: since JDK 15 a subclass's field may fill an alignment gap of its superclass, and bytes
 * leave none.
 */
final class TimersLayout {
  private TimersLayout() {}

  /** The loop thread's own fields, and those fixed at construction. */
  abstract static class LoopFields {
    final Reactor reactor;
    final TimerQueue queue = new TimerQueue();

    /** Swapped into {@code submitted} at close: submitters that meet it are refused. */
    final ScheduledTask<?> closed;

    ScheduledTask<?> deferredList; // loop thread: scheduled on it since the last wait

    LoopFields(Reactor reactor) {
      this.reactor = reactor;
      this.closed = new ScheduledTask<>(null, "closed", 0, 0, false);
    }
  }

  abstract static class Pad1 extends LoopFields {
    byte b100,
        b101,
        b102,
        b103,
        b104,
        b105,
        b106,
        b107,
        b108,
        b109,
        b110,
        b111,
        b112,
        b113,
        b114,
        b115,
        b116,
        b117,
        b118,
        b119,
        b120,
        b121,
        b122,
        b123,
        b124,
        b125,
        b126,
        b127,
        b128,
        b129,
        b130,
        b131,
        b132,
        b133,
        b134,
        b135,
        b136,
        b137,
        b138,
        b139,
        b140,
        b141,
        b142,
        b143,
        b144,
        b145,
        b146,
        b147,
        b148,
        b149,
        b150,
        b151,
        b152,
        b153,
        b154,
        b155,
        b156,
        b157,
        b158,
        b159,
        b160,
        b161,
        b162,
        b163;

    Pad1(Reactor reactor) {
      super(reactor);
    }
  }

  /** What other threads scheduled, newest first: compare-and-set by submitters. */
  abstract static class Submitted extends Pad1 {
    volatile ScheduledTask<?> submitted;

    Submitted(Reactor reactor) {
      super(reactor);
    }
  }

  abstract static class Pad2 extends Submitted {
    byte b200,
        b201,
        b202,
        b203,
        b204,
        b205,
        b206,
        b207,
        b208,
        b209,
        b210,
        b211,
        b212,
        b213,
        b214,
        b215,
        b216,
        b217,
        b218,
        b219,
        b220,
        b221,
        b222,
        b223,
        b224,
        b225,
        b226,
        b227,
        b228,
        b229,
        b230,
        b231,
        b232,
        b233,
        b234,
        b235,
        b236,
        b237,
        b238,
        b239,
        b240,
        b241,
        b242,
        b243,
        b244,
        b245,
        b246,
        b247,
        b248,
        b249,
        b250,
        b251,
        b252,
        b253,
        b254,
        b255,
        b256,
        b257,
        b258,
        b259,
        b260,
        b261,
        b262,
        b263;

    Pad2(Reactor reactor) {
      super(reactor);
    }
  }

  /** What other threads cancelled, newest first: compare-and-set by cancellers. */
  abstract static class Cancelled extends Pad2 {
    volatile ScheduledTask<?> cancelledStack;

    Cancelled(Reactor reactor) {
      super(reactor);
    }
  }

  abstract static class Pad3 extends Cancelled {
    byte b300,
        b301,
        b302,
        b303,
        b304,
        b305,
        b306,
        b307,
        b308,
        b309,
        b310,
        b311,
        b312,
        b313,
        b314,
        b315,
        b316,
        b317,
        b318,
        b319,
        b320,
        b321,
        b322,
        b323,
        b324,
        b325,
        b326,
        b327,
        b328,
        b329,
        b330,
        b331,
        b332,
        b333,
        b334,
        b335,
        b336,
        b337,
        b338,
        b339,
        b340,
        b341,
        b342,
        b343,
        b344,
        b345,
        b346,
        b347,
        b348,
        b349,
        b350,
        b351,
        b352,
        b353,
        b354,
        b355,
        b356,
        b357,
        b358,
        b359,
        b360,
        b361,
        b362,
        b363;

    Pad3(Reactor reactor) {
      super(reactor);
    }
  }

  /** The deadline the loop waits for, or AWAKE: written by the loop, read by submitters. */
  abstract static class WakeAt extends Pad3 {
    volatile long wakeAt = Long.MIN_VALUE; // Timers.AWAKE

    WakeAt(Reactor reactor) {
      super(reactor);
    }
  }
}
