package io.eventwatcher.internal;

/**
 * A task the watcher queues for itself (a hand-off another thread waits for, an executor
 * registration's re-arm), as opposed to one a user submitted: {@code shutdownNow} leaves these in
 * the queue, so that they still run and their waiters are answered.
 */
interface InternalTask extends Runnable {}
