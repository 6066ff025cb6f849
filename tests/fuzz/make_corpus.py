#!/usr/bin/env python3
"""Writes the seed inputs of the core fuzzer into tests/fuzz/corpus/seed-*.

Each seed is a short scenario in the encoding of fuzz_ops.hpp: operations of
four bytes (code, target, flag, kind), a Watch or Post followed by the
operation its callback or task performs. Targets index the numbers the pool
has used, in order of first use (a pipe adds its read end, then its write
end); SELF is the calling callback's own fd, HIGH_70 and friends are the
numbers Replace may move a file to, INVALID is fd -1. Run it after changing
the encoding; the fuzzer's own finds are merged into the same directory.
"""
import os

CODES = ("new_pipe new_socketpair watch unwatch unwatch_all suspend resume post "
         "feed drain fill close replace turn stop toggle_driver throw").split()
C = {name: i for i, name in enumerate(CODES)}
READ, WRITE, OWN, OTHER = 0, 1, 2, 3
SELF, INVALID = 0xC0, 0xF8
HIGH_300, HIGH_70, HIGH_141 = 0xE0, 0xE1, 0xE2
PIPE_READ, PIPE_WRITE, SOCKET, DEV_NULL, REGULAR, DIRECTORY = range(6)
NONE = None


def op(code, target=0, flag=READ, kind=0, then=NONE):
    """One operation; `then` (an op) is what a watched callback or task does."""
    data = bytes([C[code], target, flag, kind])
    if code in ("watch", "post"):
        data += then if then is not None else op("new_pipe", 0xff)  # harmless when pool is full
    return data


def nothing():
    """A callback or task action that does nothing visible (a bad target)."""
    return op("feed", INVALID)


def watch(target, flag, then=None, kind=0):
    return op("watch", target, flag, kind, then if then is not None else nothing())


def post(then=None, kind=0):
    return op("post", 0, READ, kind, then if then is not None else nothing())


T = op("turn")

SEEDS = {
    # Level-triggered reads: called while readable, not after the drain.
    "read-and-drain": [op("new_pipe"), watch(0, READ, op("drain", SELF)), op("feed", 0), T, T,
                       op("feed", 0), op("feed", 0), T, op("unwatch", 0, READ), T],
    # Write readiness: a full buffer stops Write calls, draining the peer restarts them.
    "write-fill-drain": [op("new_socketpair"), watch(0, WRITE), watch(0, READ), T, op("fill", 0),
                         T, op("drain", 1), T, op("feed", 0), T, op("unwatch_all"), T],
    "pipe-write-end": [op("new_pipe"), watch(1, WRITE), watch(1, READ), T, op("fill", 1), T,
                       op("drain", 0), T, op("close", 0), T, T],
    # Suspend and resume, and resume of an unregistered flag (ENOENT).
    "suspend-resume": [op("new_pipe"), watch(0, READ), op("feed", 0), T, op("suspend", 0, READ), T,
                       op("suspend", 0, READ), op("resume", 0, READ), T, op("resume", 0, WRITE),
                       op("resume", 0, READ), T],
    # Tasks: FIFO, posted from tasks, posted with no Driver (through the eventfd).
    "tasks": [post(post()), post(), post(post(post())), T, T, op("toggle_driver"),
              op("toggle_driver"), post(), op("toggle_driver"), post(), post(post()), T, T],
    "tasks-at-destruction": [T, op("toggle_driver"), post(), post(post())],
    # Close without unwatch; the number reused by a new pipe, then watched.
    "close-reuse-pipe": [op("new_pipe"), watch(0, READ), watch(0, WRITE), op("feed", 0), T,
                         op("close", 0), op("new_pipe"), op("feed", 0), T, T,
                         op("resume", 0, READ), watch(0, READ), op("feed", 0), T,
                         op("unwatch", 0, WRITE), T],
    # The number reused by files epoll refuses (EPERM) and by nothing (EBADF).
    "reuse-unpollable": [op("new_pipe"), watch(0, READ), watch(0, WRITE), op("replace", 0, 0, DEV_NULL),
                         T, op("unwatch", 0, READ), op("resume", 0, WRITE), watch(0, READ),
                         op("replace", 0, 0, REGULAR), watch(0, WRITE), op("suspend", 0, WRITE),
                         op("replace", 0, 0, DIRECTORY), watch(0, READ), op("close", 0),
                         watch(0, READ), op("unwatch_all"), T],
    "suspended-then-reused": [op("new_pipe"), watch(0, READ), op("suspend", 0, READ),
                              op("replace", 0, 0, PIPE_READ), op("feed", 0), op("resume", 0, READ),
                              T, watch(0, READ), op("feed", 0), T],
    # An operation that finds a closed fd removes both of its registrations.
    "orphan-rules": [op("new_socketpair"), watch(0, READ), watch(0, WRITE), op("suspend", 0, READ),
                     op("close", 0), op("resume", 0, READ), op("resume", 0, WRITE),
                     op("new_pipe"), watch(2, READ), watch(2, WRITE), op("close", 2),
                     op("unwatch", 2, READ), op("resume", 2, WRITE), watch(3, READ), watch(3, WRITE),
                     op("replace", 3, 0, DEV_NULL), op("suspend", 3, WRITE), op("resume", 3, READ),
                     op("unwatch", 3, WRITE), T],
    # Callbacks that unwatch themselves or each other inside a batch.
    "unwatch-in-batch": [op("new_pipe"), op("new_pipe"), watch(0, READ, op("unwatch", SELF, OWN)),
                         watch(2, READ, op("unwatch", 0, READ)), op("feed", 0), op("feed", 2), T, T,
                         watch(0, READ, op("unwatch_all")), watch(2, READ), op("feed", 2), T, T],
    # Callbacks that watch another fd (not called with the batch fetched before).
    "watch-in-batch": [op("new_pipe"), op("new_pipe"),
                       watch(0, READ, watch(2, READ, op("drain", SELF))), op("feed", 0),
                       op("feed", 2), T, T, T, watch(2, WRITE, watch(SELF, OWN, op("suspend", SELF, OWN))),
                       T, T],
    # Close or replace another watched fd inside the batch.
    "close-in-batch": [op("new_pipe"), op("new_pipe"), watch(0, READ, op("close", 2)),
                       watch(2, READ, op("close", 0)), op("feed", 0), op("feed", 2), T, T,
                       op("unwatch", 0, READ), op("unwatch", 2, READ), T],
    "replace-in-batch": [op("new_pipe"), op("new_pipe"), watch(0, READ, op("replace", 2, 0, PIPE_READ)),
                         watch(2, READ, op("replace", 0, 0, SOCKET)), op("feed", 0), op("feed", 2), T,
                         watch(2, READ), op("feed", 2), T, T],
    # Replacing, suspending, resuming from inside callbacks.
    "replace-self": [op("new_socketpair"), watch(0, WRITE, watch(SELF, OWN, op("resume", SELF, OTHER))),
                     watch(0, READ, op("suspend", SELF, OTHER)), op("feed", 0), T, T,
                     op("resume", 0, WRITE), T, T],
    # Exceptions from callbacks and tasks reach the error handler.
    "throw": [op("new_pipe"), watch(0, WRITE), watch(1, WRITE, op("throw")), post(op("throw")), T, T,
              op("unwatch", 1, WRITE), T],
    # stop(): turns return false until the Driver is destroyed.
    "stop": [op("new_pipe"), watch(1, WRITE), T, op("stop"), T, T, op("toggle_driver"), T,
             watch(1, READ, op("stop")), op("close", 0), T, T, op("toggle_driver"), op("stop"),
             op("toggle_driver"), T, op("toggle_driver"), T],
    # Numbers above the initial table: the table grows inside a callback.
    "high-numbers": [op("new_pipe"), op("replace", HIGH_70, 0, PIPE_READ),
                     op("replace", HIGH_300, 0, SOCKET),
                     watch(0, WRITE, watch(HIGH_300, WRITE, op("unwatch", 2, READ))), op("feed", 0), T,
                     watch(2, READ), op("replace", HIGH_141, 0, PIPE_WRITE), watch(5, WRITE), T, T],
    # Hang-up and error reach both flags, also with one flag suspended.
    "hangup": [op("new_socketpair"), watch(0, READ), watch(0, WRITE), op("feed", 0), op("close", 1),
               T, T, op("suspend", 0, READ), T, op("suspend", 0, WRITE), T, op("resume", 0, READ),
               T, op("new_pipe"), watch(2, READ), op("suspend", 2, READ), op("close", 3), T,
               op("resume", 2, READ), T],
    # Invalid arguments: fd -1, null and empty callbacks, an empty task.
    "invalid-arguments": [op("new_pipe"), watch(INVALID, READ), watch(0, READ, kind=7),
                          watch(0, READ, kind=6), post(kind=7), op("unwatch", INVALID),
                          op("suspend", INVALID), op("resume", INVALID), T],
}


def main():
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(directory, exist_ok=True)
    for name, ops in SEEDS.items():
        with open(os.path.join(directory, "seed-" + name), "wb") as out:
            out.write(b"".join(ops))


if __name__ == "__main__":
    main()
