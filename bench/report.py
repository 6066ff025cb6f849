#!/usr/bin/env python3
"""Turns one benchmark run into BENCHMARKS.md and its SVG plots.

usage: report.py RESULTS_DIR OUTPUT_MD [--only SECTION]

RESULTS_DIR holds what bench/run.sh collected: results.tsv (RESULT lines, see bench/README.md),
jmh-*.json (JMH's JSON results) and meta.txt (key=value lines describing the run). The plots go
to a folder named `bench` beside OUTPUT_MD. Each target (issues 5 and 9) is judged from the numbers;
a missed target is followed by its analysis from bench/analysis/<target id>.md, written by hand
from a profile, so that the numbers are always generated and the explanations stay attached.
With --only SECTION (one of SECTIONS: dispatch, tasks, churn, executor, servers, memory, idle,
timers, loops, fdio) the page has that section and its targets only, as `bench/run.sh --only SECTION` measures.

Exits 1 when a workload has no result at all (a broken harness), never because of a number.
"""
import json
import re
import statistics
import sys
from pathlib import Path

import svg

IMPLS = {  # impl id -> display name, in table order
    "c-epoll": "C epoll",
    "c-eventfd": "C eventfd",
    "cpp-core": "C++ core",
    "java-api": "EventWatcher (Java)",
    "java-api-baseline": "EventWatcher (Java), baseline",
    "java-api-no-timeouts": "EventWatcher (Java), timeouts off",
    "jdk-selector": "JDK Selector",
    "jdk-stpe": "JDK STPE",
    "netty-epoll": "Netty epoll",
    "netty-wheel": "Netty HashedWheelTimer",
    "java-api-1": "EventWatcher (Java), 1 loop",
    "java-api-2": "EventWatcher (Java), 2 loops",
    "netty-epoll-1": "Netty epoll, 1 thread",
    "netty-epoll-2": "Netty epoll, 2 threads",
    "async": "execute() on the receiving loop",
    "sync-watch": "watch() from the giving loop",
    "fdchannel-virtual": "FdChannel, virtual threads",
    "jdk-pipe-virtual": "JDK Pipe channels, virtual threads",
    "fis-platform": "FileInputStream, platform threads",
    "subprocess": "Subprocess, virtual threads",
    "processbuilder": "ProcessBuilder, a thread per stream",
    "nuprocess": "NuProcess",
}
# Several loops: (the 2-loop impl, its 1-loop twin) compared by the loops_ratio of alternating rounds.
LOOP_PAIRS = (("java-api-2", "java-api-1"), ("netty-epoll-2", "netty-epoll-1"))
# Each impl keeps its colour in every plot (those added later take the next ones).
COLOURS = {IMPLS[i]: svg.PALETTE[n] for n, i in enumerate(
    ("c-epoll", "c-eventfd", "cpp-core", "java-api", "java-api-baseline", "jdk-selector", "netty-epoll",
     "jdk-stpe", "netty-wheel", "java-api-no-timeouts"))}
LIMITS = {"dispatch": "c-epoll", "task-rtt": "c-eventfd", "task-throughput": "c-eventfd",
          "churn": "c-epoll", "server": "c-epoll", "idle": "c-epoll", "timer-lateness": "c-epoll"}
JMH_IMPLS = {"javaApi": "java-api", "jdkSelector": "jdk-selector", "netty": "netty-epoll"}
JMH_WORKLOADS = {"DispatchBenchmark": "dispatch", "TaskLatencyBenchmark": "task-rtt",
                 "TaskThroughputBenchmark": "task-throughput", "ChurnBenchmark": "churn",
                 "ExecutorBenchmark": "executor", "TimerBenchmark": "timer"}
# TimerBenchmark methods: <cancel|fire><Loop|CrossThread> (the impl in the impl param) and
# wheel<Cancel|Fire>CrossThread -> workload timer-<op>-<from>.
TIMER_METHOD = re.compile(r"^(wheel)?(cancel|fire)(Loop|CrossThread)$", re.IGNORECASE)
TIMER_WORKLOADS = {"timer-cancel-loop": "schedule+cancel on the loop thread",
                   "timer-cancel-cross-thread": "schedule+cancel from another thread",
                   "timer-fire-loop": "schedule+fire on the loop thread",
                   "timer-fire-cross-thread": "schedule+fire from another thread"}
# jmh-NAME-baseline.json: the same benchmark run against the baseline library (bench/baseline.sh).
BASELINE_SUFFIX = "-baseline"
ANALYSIS_DIR = Path(__file__).resolve().parent / "analysis"


class Results:
    """(workload, impl, param, metric) -> (value, error or None). A figure measured several
    times (the native dispatch rounds) is the median of its measurements."""

    def __init__(self):
        self.values = {}
        self.samples = {}

    def add(self, workload, impl, param, metric, value, error=None):
        key = (workload, impl, str(param), metric)
        samples = self.samples.setdefault(key, [])
        samples.append(float(value))
        self.values[key] = (statistics.median(samples), error)

    def get(self, workload, impl, param, metric):
        found = self.values.get((workload, impl, str(param), metric))
        return found[0] if found else None

    def error(self, workload, impl, param, metric):
        found = self.values.get((workload, impl, str(param), metric))
        return found[1] if found else None

    def params(self, workload):
        seen = []
        for w, _, p, _ in self.values:
            if w == workload and p not in seen:
                seen.append(p)
        return sorted(seen, key=_param_order)

    def impls(self, workload):
        present = {i for w, i, _, _ in self.values if w == workload}
        return [i for i in IMPLS if i in present]


def _param_order(param):
    head = param.split("/")[0]
    return (0, float(head), param) if head.replace(".", "").isdigit() else (1, 0, param)


def load_tsv(results, path):
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) == 6 and fields[0] == "RESULT":
            results.add(*fields[1:])


def load_jmh(results, path):
    baseline = path.stem.endswith(BASELINE_SUFFIX)
    sink = _Renamed(results, {"java-api": "java-api" + BASELINE_SUFFIX}) if baseline else results
    for run in json.loads(path.read_text()):
        cls, method = run["benchmark"].split(".")[-2:]
        workload = JMH_WORKLOADS.get(cls)
        if workload is None:
            continue
        metric = run["primaryMetric"]
        score, error = metric["score"], metric.get("scoreError")
        error = None if error in (None, "NaN") or error != error else float(error)
        if workload == "churn":
            suffix = "CrossThread" if method.endswith("CrossThread") else "Loop"
            impl, param = JMH_IMPLS[method[: -len(suffix)]], "cross-thread" if suffix == "CrossThread" else "loop"
            sink.add(workload, impl, param, "ops_per_s", score, error)
        elif workload == "dispatch":
            impl, param = JMH_IMPLS[method], run["params"]["fds"]
            sink.add(workload, impl, param, "events_per_s", score, error)
            alloc = run.get("secondaryMetrics", {}).get("gc.alloc.rate.norm")
            if alloc:
                sink.add(workload, impl, param, "bytes_per_event", alloc["score"])
        elif workload == "task-rtt":
            scale = {"ns/op": 1, "us/op": 1e3, "ms/op": 1e6}[metric["scoreUnit"]]
            impl = JMH_IMPLS[method]
            sink.add(workload, impl, "1", "mean_ns", score * scale)
            for key, name in (("50.0", "p50_ns"), ("99.0", "p99_ns")):
                sink.add(workload, impl, "1", name, metric["scorePercentiles"][key] * scale)
        elif workload == "task-throughput":
            sink.add(workload, JMH_IMPLS[method], str(run["threads"]), "tasks_per_s", score, error)
        elif workload == "executor":
            sink.add(workload, JMH_IMPLS[method], run["params"]["fds"], "events_per_s", score, error)
        elif workload == "timer":
            wheel, op, where = TIMER_METHOD.match(method).groups()
            impl = "netty-wheel" if wheel else run["params"]["impl"]
            where = "cross-thread" if where == "CrossThread" else "loop"
            sink.add(f"timer-{op.lower()}-{where}", impl, run["params"]["pending"], "ops_per_s", score, error)


class _Renamed:
    """A Results.add that renames impls (for a baseline run's JSON)."""

    def __init__(self, results, names):
        self._results, self._names = results, names

    def add(self, workload, impl, *rest):
        self._results.add(workload, self._names.get(impl, impl), *rest)


def fmt(value, digits=2):
    if value is None:
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.{digits}f} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f} k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def table(results, workload, metric, higher_is_better, title_param, label=None, scale=1.0, vs_c=True):
    """Markdown rows: one per (param, impl), with ratios to the best peer and (unless vs_c is false:
    a workload with no C program) to the C limit."""
    limit = LIMITS.get(workload)
    vs_c_head, vs_c_rule = (" vs C |", "---:|") if vs_c else ("", "")
    lines = [f"| {title_param} | Implementation | {label or metric.replace('_', ' ')} | vs best |{vs_c_head}",
             f"|---:|---|---:|---:|{vs_c_rule}"]
    for param in results.params(workload):
        values = {i: results.get(workload, i, param, metric) for i in results.impls(workload)}
        values = {i: v for i, v in values.items() if v is not None}
        if not values:
            continue
        best = max(values.values()) if higher_is_better else min(values.values())
        base = values.get(limit)
        for impl, value in values.items():
            shown = fmt(value / scale)
            err = results.error(workload, impl, param, metric)
            if err:
                shown += f" ± {fmt(float(err) / scale)}"
            vs_best = f"{value / best:.2f}" if best else "–"
            to_c = (f" {value / base:.2f} |" if base else " – |") if vs_c else ""
            lines.append(f"| {param} | {IMPLS[impl]} | {shown} | {vs_best} |{to_c}")
    return "\n".join(lines)


def wide_table(results, workload, title_param, columns, judged):
    """Markdown rows: one per (param, impl) with several lower-is-better figures (columns: (metric,
    label) pairs), and the ratios to the best peer and to the C limit in the judged metric."""
    label = dict(columns)[judged]
    lines = [f"| {title_param} | Implementation | " + " | ".join(name for _, name in columns) +
             f" | {label} vs best | {label} vs C |", "|---:|---|" + "---:|" * (len(columns) + 2)]
    for param in results.params(workload):
        values = {i: results.get(workload, i, param, judged) for i in results.impls(workload)}
        values = {i: v for i, v in values.items() if v is not None}
        best, base = min(values.values(), default=None), values.get(LIMITS.get(workload))
        for impl, value in values.items():
            shown = " | ".join(fmt(results.get(workload, impl, param, m)) for m, _ in columns)
            vs_best = f"{value / best:.2f}" if best else "–"
            vs_c = f"{value / base:.2f}" if base else "–"
            lines.append(f"| {param} | {IMPLS[impl]} | {shown} | {vs_best} | {vs_c} |")
    return "\n".join(lines)


def ratio(results, workload, impl, param, metric, limit=None):
    value = results.get(workload, impl, param, metric)
    base = results.get(workload, limit or LIMITS[workload], param, metric)
    return value / base if value is not None and base else None


def targets(results):
    """The targets of issues 5 and 9: (id, target, measured text, met: True/False/None when not measured)."""
    out = []

    def dispatch_target(tid, param, goal):
        r = ratio(results, "dispatch", "java-api", param, "events_per_s")
        sel = ratio(results, "dispatch", "jdk-selector", param, "events_per_s")
        text = "not measured" if r is None else f"{r:.2f} of C" + (f" (JDK Selector {sel:.2f})" if sel else "")
        out.append((tid, f"Java dispatch at {param} ready fd{'' if param == '1' else 's'} ≥ {goal} of the C loop", text,
                    None if r is None else r >= goal))

    dispatch_target("dispatch-java-1000", "1000", 0.95)
    dispatch_target("dispatch-java-1", "1", 0.90)
    core = {p: ratio(results, "dispatch", "cpp-core", p, "events_per_s") for p in results.params("dispatch")}
    core = {p: r for p, r in core.items() if r is not None}
    out.append(("dispatch-core", "C++ core dispatch ≥ 0.97 of the C loop",
                ", ".join(f"{r:.2f} at {p}" for p, r in core.items()) or "not measured",
                all(r >= 0.97 for r in core.values()) if core else None))
    rtt = {i: ratio(results, "task-rtt", i, "1", "p50_ns") for i in ("cpp-core", "java-api")}
    rtt = {i: r for i, r in rtt.items() if r is not None}
    out.append(("task-rtt", "Task round trip p50 within 5% of the C eventfd ping-pong",
                ", ".join(f"{IMPLS[i]} {r:.2f}× C" for i, r in rtt.items()) or "not measured",
                all(r <= 1.05 for r in rtt.values()) if rtt else None))
    conns = results.params("server")
    cpu = {c: ratio(results, "server", "java-api", c, "cpu_us_per_req") for c in conns}
    cpu = {c: r for c, r in cpu.items() if r is not None}
    out.append(("server-cpu", "HTTP server CPU per request within 3% of the C responder at every connection count",
                ", ".join(f"{r:.2f}× C at {c}" for c, r in cpu.items()) or "not measured",
                all(r <= 1.03 for r in cpu.values()) if cpu else None))
    cost, spread = {}, {}
    for c in conns:
        median = results.get("server", "java-api", c, "timeouts_ratio_median")
        if median is not None:
            cost[c] = median
            spread[c] = (f" (rounds {results.get('server', 'java-api', c, 'timeouts_ratio_lo'):.2f}"
                         f"–{results.get('server', 'java-api', c, 'timeouts_ratio_hi'):.2f})")
    out.append(("server-timeouts", "HTTP server CPU per request with its timeouts on within 3% of timeouts off "
                "(median of the on/off ratios of alternating rounds)",
                ", ".join(f"{r:.3f}× at {c}{spread[c]}" for c, r in cost.items()) or "not measured",
                all(r <= 1.03 for r in cost.values()) if cost else None))
    rps = {}
    for c in conns:
        ours = results.get("server", "java-api", c, "req_per_s")
        peers = [results.get("server", p, c, "req_per_s") for p in ("jdk-selector", "netty-epoll")]
        peers = [p for p in peers if p is not None]
        if ours is not None and peers:
            rps[c] = ours / max(peers)
    out.append(("server-rps", "HTTP server requests/s not below either Java peer",
                ", ".join(f"{r:.2f}× the better Java peer at {c}" for c, r in rps.items()) or "not measured",
                all(r >= 1.0 for r in rps.values()) if rps else None))
    alloc = {p: results.get("dispatch", "java-api", p, "bytes_per_event") for p in results.params("dispatch")}
    alloc = {p: a for p, a in alloc.items() if a is not None}
    out.append(("alloc", "Zero bytes allocated per dispatched event (Java)",
                ", ".join(f"{a:.3f} B at {p}" for p, a in alloc.items()) or "not measured",
                all(a < 0.01 for a in alloc.values()) if alloc else None))
    idle = {i: results.get("idle", i, p, "loop_wakeups") for i in ("cpp-core", "java-api") for p in results.params("idle")}
    idle = {i: w for i, w in idle.items() if w is not None}
    out.append(("idle", "An idle watcher makes no wakeups",
                ", ".join(f"{IMPLS[i]} {w:.0f}" for i, w in idle.items()) or "not measured",
                all(w == 0 for w in idle.values()) if idle else None))
    return out + timer_targets(results) + loops_targets(results) + fdio_targets(results)


def fdio_targets(results):
    """The target of issue 13 (blocking I/O on any fd), as targets() returns them."""
    cases = {}
    for p in results.params("pipe-pingpong"):
        ours = results.get("pipe-pingpong", "fdchannel-virtual", p, "p50_ns")
        jdk = results.get("pipe-pingpong", "jdk-pipe-virtual", p, "p50_ns")
        if ours is not None and jdk:
            cases[p] = (ours / jdk, ours, jdk)
    text = ", ".join(f"{r:.2f}× ({fmt(o / 1000)} µs against {fmt(j / 1000)} µs)" for r, o, j in cases.values())
    return [("fdio-pingpong", "Pipe ping-pong between two virtual threads with FdChannel: round trip p50 within "
             "1.1× of the JDK's own Pipe channels on virtual threads", text or "not measured",
             all(r <= 1.1 for r, _, _ in cases.values()) if cases else None)]


def loops_ratio_text(results, workload, impl, param):
    """'1.03× (rounds 0.98–1.10)' for the loops_ratio of impl at param, or None."""
    median = results.get(workload, impl, param, "loops_ratio_median")
    if median is None:
        return None
    lo, hi = (results.get(workload, impl, param, f"loops_ratio_{e}") for e in ("lo", "hi"))
    return f"{median:.3f}×" + (f" (rounds {lo:.2f}–{hi:.2f})" if lo != hi else "")


def loops_targets(results):
    """The targets of issue 12 (several loops), as targets() returns them."""
    out = []
    for tid, workload, target, limit, unit in (
            ("loops-http", "loops-http", "HTTP server CPU per request on 2 loops ≤ 1.05× 1 loop (median of the "
             "2/1 ratios of alternating rounds)", 1.05, "connections"),
            ("loops-chat", "chat", "Chat CPU per delivered line on 2 loops ≤ 1.1× 1 loop at the same offered "
             "load (median of the 2/1 ratios of alternating rounds)", 1.1, "rounds/s")):
        # The chat's "max" rows do different amounts of work on 1 and 2 loops: shown, not judged.
        cases = {p: results.get(workload, "java-api-2", p, "loops_ratio_median") for p in results.params(workload)
                 if p != "max"}
        cases = {p: r for p, r in cases.items() if r is not None}
        text = ", ".join(f"{loops_ratio_text(results, workload, 'java-api-2', p)} at {p} {unit}" for p in cases)
        out.append((tid, target, text or "not measured", all(r <= limit for r in cases.values()) if cases else None))
    big = results.params("chat-big")
    text, met = "not measured", None
    if big:
        p = big[-1]
        get = lambda metric: results.get("chat-big", "java-api-2", p, metric)
        if get("deliveries") is not None:
            text = (f"{fmt(get('deliveries'))} deliveries to {p} clients ({get('clients_loop_0') or 0:.0f} on loop 0, "
                    f"{get('clients_loop_1') or 0:.0f} on loop 1), {fmt(get('lost_or_repeated'), 0)} lost, "
                    "repeated or out of order")
            met = (get("lost_or_repeated") == 0 and get("deliveries") > 0
                   and (get("clients_loop_0") or 0) > 0 and (get("clients_loop_1") or 0) > 0)
    out.append(("loops-chat-big", "Chat clients over 2 loops (10,000 in a full run): every line delivered exactly "
                "once, in order",
                text, met))
    return out


def best_peer(results, workload, param, metric, higher_is_better=True):
    """(impl, value) of the best Java implementation other than EventWatcher, or None."""
    peers = [(i, results.get(workload, i, param, metric)) for i in results.impls(workload)
             if i != "java-api" and not i.startswith(("c-", "cpp-"))]
    peers = [(i, v) for i, v in peers if v is not None]
    if not peers:
        return None
    return (max if higher_is_better else min)(peers, key=lambda peer: peer[1])


def timer_targets(results):
    """The timer targets of issue 10, as targets() returns them."""
    out = []
    ours = results.get("timer-cancel-loop", "java-api", "100000", "ops_per_s")
    best = best_peer(results, "timer-cancel-loop", "100000", "ops_per_s")
    text, met = "not measured (no run at 100,000 pending)", None
    if ours is not None and best:
        text = (f"{ours / best[1]:.2f}× the best Java peer: EventWatcher {fmt(ours)}/s, "
                f"{IMPLS[best[0]]} {fmt(best[1])}/s")
        met = ours >= 2 * best[1]
    out.append(("timer-cancel-loop", "Timer schedule+cancel on the loop thread at 100,000 pending ≥ 2× the best "
                "Java peer", text, met))
    ratios = []
    for workload, label in TIMER_WORKLOADS.items():
        for param in results.params(workload):
            ours = results.get(workload, "java-api", param, "ops_per_s")
            best = best_peer(results, workload, param, "ops_per_s")
            if ours is not None and best:
                ratios.append((ours / best[1], label, param))
    text, met = "not measured", None
    if ratios:
        low = min(ratios)
        below = sum(1 for r in ratios if r[0] < 1)
        text = (f"lowest {low[0]:.2f}× the best peer ({low[1]}, {low[2]} pending); below the best peer in "
                f"{below} of {len(ratios)} cases")
        met = below == 0
    out.append(("timer-peers", "Timer throughput not below the best peer in any case (schedule+cancel, "
                "schedule+fire, loop and cross-thread, every pending count)", text, met))
    samples = results.params("timer-lateness")
    p99 = results.get("timer-lateness", "java-api", samples[-1], "p99_us") if samples else None
    text, met = "not measured", None
    if p99 is not None:
        best = best_peer(results, "timer-lateness", samples[-1], "p99_us", higher_is_better=False)
        floor = results.get("timer-lateness", "c-epoll", samples[-1], "p99_us")
        text = (f"EventWatcher p99 {p99:.0f} µs" + (f"; best Java peer {IMPLS[best[0]]} {best[1]:.0f} µs" if best else "")
                + (f"; C epoll_pwait2 {floor:.0f} µs" if floor is not None else ""))
        met = p99 <= 100
    out.append(("timer-lateness", "Timer lateness p99 ≤ 100 µs (1–20 ms timers, one at a time)", text, met))
    counts = results.params("timer-memory")
    text, met = "not measured", None
    if counts:
        def per_timer(impl):
            parts = [results.get("timer-memory", impl, counts[-1], m)
                     for m in ("heap_bytes_per_timer", "native_bytes_per_timer")]
            return None if None in parts else sum(parts)
        ours, jdk = per_timer("java-api"), per_timer("jdk-stpe")
        if ours is not None and jdk is not None:
            text = f"EventWatcher {ours:.1f} B, JDK {jdk:.1f} B (heap + native, {counts[-1]} pending)"
            met = ours <= jdk
    out.append(("timer-memory", "Memory per pending timer (heap + native) not above the JDK's "
                "ScheduledThreadPoolExecutor", text, met))
    return out


def plots(results, folder):
    """Writes the SVG plots; returns {name: file name}."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}

    def save(name, text):
        (folder / name).write_text(text)
        written[name] = name

    dense = [p for p in results.params("dispatch") if "/" not in p]
    if dense:
        series = [(IMPLS[i], [results.get("dispatch", i, p, "events_per_s") for p in dense])
                  for i in results.impls("dispatch")]
        save("dispatch.svg", svg.line_chart("Dispatch throughput (higher is better)", "ready fds (log scale)",
                                            "events/s", [int(p) for p in dense], series, log_x=True,
                                            colours=COLOURS))
    impls = results.impls("task-rtt")
    if impls:
        series = [(m, [results.get("task-rtt", i, "1", f"{m}_ns") / 1e3
                       if results.get("task-rtt", i, "1", f"{m}_ns") is not None else None for i in impls])
                  for m in ("p50", "p99")]
        save("task-latency.svg", svg.bar_chart("Task round trip latency (lower is better)", "µs",
                                               [IMPLS[i] for i in impls], series))
    conns = results.params("server")
    if conns:
        for metric, name, title, label in (
                ("req_per_s", "server-rps.svg", "HTTP requests/s (higher is better)", "requests/s"),
                ("cpu_us_per_req", "server-cpu.svg", "Server CPU per request (lower is better)", "µs CPU / request")):
            series = [(IMPLS[i], [results.get("server", i, c, metric) for c in conns])
                      for i in results.impls("server")]
            save(name, svg.bar_chart(title, label, [f"{c} connections" for c in conns], series, colours=COLOURS))
    for where in ("loop", "cross-thread"):
        workload = f"timer-cancel-{where}"
        pending = results.params(workload)
        if pending:
            series = [(IMPLS[i], [results.get(workload, i, p, "ops_per_s") for p in pending])
                      for i in results.impls(workload)]
            title = f"Timer schedule+cancel, {TIMER_WORKLOADS[workload].split(' ', 1)[1]} (higher is better)"
            save(f"{workload}.svg", svg.line_chart(title, "pending timers (log scale)", "schedule+cancel/s",
                                                   [int(p) for p in pending], series, log_x=len(pending) > 1,
                                                   colours=COLOURS))
    return written


def _dispatch_section(add, results, plot_files, plot_dir_name):
    add("## 1. Dispatch throughput\n")
    add("N pipes each hold one unread byte, watched for READ, level-triggered: every fd is ready on every "
        "turn, so the loop never blocks and does no I/O. One event is one callback call; events/s per loop "
        "thread. `W/R` = W watched fds of which R are ready. Java rows are JMH scores ± the 99.9% "
        "confidence interval; native rows are the median of three runs (C and the C++ core "
        "alternating), each the mean of its timed iterations.\n")
    add(table(results, "dispatch", "events_per_s", True, "Ready fds", "events/s"))
    if "dispatch.svg" in plot_files:
        add(f"\n![Dispatch throughput]({plot_dir_name}/dispatch.svg)\n")
    sparse = [p for p in results.params("dispatch") if "/" in p]
    for p in sparse:
        ready = p.split("/")[1]
        parts = []
        for i in results.impls("dispatch"):
            a, b = results.get("dispatch", i, p, "events_per_s"), results.get("dispatch", i, ready, "events_per_s")
            if a and b:
                parts.append(f"{IMPLS[i]} {a / b:.2f}")
        if parts:
            add(f"\nWatched but idle fds cost nothing per turn: events/s with {p} (watched/ready) divided by "
                f"events/s with {ready} watched, all ready: " + ", ".join(parts) + ".\n")
    alloc = [(p, i, results.get("dispatch", i, p, "bytes_per_event")) for p in results.params("dispatch")
             for i in results.impls("dispatch")]
    alloc = [a for a in alloc if a[2] is not None]
    if alloc:
        add("\nBytes allocated per dispatched event (JMH `-prof gc`, `gc.alloc.rate.norm`, all JVM threads):\n")
        add("| Ready fds | Implementation | B/event |\n|---:|---|---:|")
        for p, i, a in alloc:
            add(f"| {p} | {IMPLS[i]} | {a:.3f} |")
        add("")


def _tasks_section(add, results, plot_files, plot_dir_name):
    add("\n## 2. Cross-thread tasks\n")
    add("Round trip: another thread submits one task and waits until the loop has run it and the task has "
        "woken the submitter. C: eventfd ping-pong (the loop in epoll_wait). JDK Selector: a queue plus "
        "`wakeup()`. Netty: `EventLoop.execute`. JMH `SampleTime` percentiles for Java.\n")
    add(table(results, "task-rtt", "p50_ns", False, "Submitters", "p50 µs", 1e3))
    add("")
    add(table(results, "task-rtt", "p99_ns", False, "Submitters", "p99 µs", 1e3))
    if "task-latency.svg" in plot_files:
        add(f"\n![Task round trip]({plot_dir_name}/task-latency.svg)\n")
    add("\nThroughput: several submitter threads, each keeping up to 1,024 tasks in flight; tasks run per "
        "second.\n")
    add(table(results, "task-throughput", "tasks_per_s", True, "Submitters", "tasks/s"))


def _churn_section(add, results, plot_files, plot_dir_name):
    add("\n## 3. Watch/unwatch churn\n")
    add("One op is a watch of one fd followed by its unwatch: from the loop thread itself (`loop`) and from "
        "another thread (`cross-thread`, each call a synchronous hand-off to the loop). C: `epoll_ctl` "
        "ADD + DEL.\n")
    add(table(results, "churn", "ops_per_s", True, "From", "watch+unwatch/s"))


def _executor_section(add, results, plot_files, plot_dir_name):
    add("\n## 3b. Executor mode\n")
    add("Callbacks run on an executor (`builder().executor(...)`, a fixed pool of 2 threads): N pipes ready "
        "forever, one op is one callback call, and a (fd, flag) has at most one call at a time, so each "
        "call costs a hand-off to the pool and a re-arm once it returns. *Baseline* is the library at the "
        "commit in bench/baseline.txt (suspend before each hand-off and resume after it through a loop task, "
        "two `epoll_ctl` per call); the current library arms one-shot, so the kernel disarms the fd as it "
        "reports it and the landing re-arms with one `epoll_ctl`. The churn rows above carry the same "
        "baseline for cross-thread watch+unwatch.\n")
    add(table(results, "executor", "events_per_s", True, "Ready fds", "calls/s"))


def _servers_section(add, results, plot_files, plot_dir_name):
    add("\n## 4. HTTP server\n")
    add("Each server answers `GET /` with the same bytes (keep-alive, pipelining): the project's "
        "`java -jar eventwatcher-examples.jar http` (EventWatcher (Java)), and minimal responders on the C++ core, "
        "plain C epoll, the JDK Selector and Netty's epoll transport (bench/ only). Each server is pinned to "
        "CPU 0 and wrk (one thread) to CPU 1; after a warm-up run, wrk loads it for the measured run. CPU is "
        "the server process's utime + stime over that run divided by the requests served, so µs per request "
        "= CPU seconds per million requests.\n")
    for metric, label, higher in (("req_per_s", "Requests/s", True), ("cpu_us_per_req", "CPU µs per request", False),
                                  ("p50_us", "Latency p50 (µs)", False), ("p99_us", "Latency p99 (µs)", False)):
        add(f"\n**{label}**\n")
        add(table(results, "server", metric, higher, "Connections", label))
    for name, title in (("server-rps.svg", "Requests/s"), ("server-cpu.svg", "CPU per request")):
        if name in plot_files:
            add(f"\n![{title}]({plot_dir_name}/{name})\n")
    errors = [(c, i, results.get("server", i, c, "errors")) for c in results.params("server")
              for i in results.impls("server")]
    errors = [e for e in errors if e[2]]
    add("\nSocket errors or non-200 responses reported by wrk: " +
        (", ".join(f"{IMPLS[i]} {e:.0f} at {c}" for c, i, e in errors) if errors else "none") + ".\n")


def _memory_section(add, results, plot_files, plot_dir_name):
    add("\n## 5. Memory per watched fd\n")
    add("Bytes added by watching each of N never-ready fds (the fds themselves excluded). Native: malloc'd "
        "bytes (C++, mallinfo2) or anonymous RSS with the Java heap pre-sized and pre-touched (Java). Heap: "
        "Java heap used after a full GC.\n")
    for metric, label in (("native_bytes_per_fd", "native B/fd"), ("heap_bytes_per_fd", "Java heap B/fd")):
        add(table(results, "memory", metric, False, "Watched fds", label))
        add("")


def _idle_section(add, results, plot_files, plot_dir_name):
    add("\n## 6. Idle\n")
    add("One watched, never-ready fd and nothing else to do: the loop thread's context switches (each "
        "is a wakeup or a preemption) and CPU time over the window, and the whole process's CPU time "
        "(for the JVMs that includes the JIT and GC threads).\n")
    for metric, label in (("loop_wakeups", "loop thread wakeups"), ("loop_cpu_ms", "loop thread CPU ms"),
                          ("process_cpu_ms", "process CPU ms")):
        add(table(results, "idle", metric, False, "Seconds", label))
        add("")


def _timers_section(add, results, plot_files, plot_dir_name):
    add("\n## 7. Timers\n")
    add("Four timer implementations (bench/src/main/java/io/eventwatcher/bench/TimerPeers.java): EventWatcher's "
        "`schedule` (a 4-ary heap on the loop thread); the JDK's `ScheduledThreadPoolExecutor(1)` (JDK STPE) with "
        "`setRemoveOnCancelPolicy(true)` (without it a cancelled task stays queued until its deadline, so "
        "schedule+cancel of far timers grows its queue without bound); Netty's `EventLoop.schedule` on its "
        "epoll loop; Netty's `HashedWheelTimer` with a 1 ms tick (its finest; the default is 100 ms) and 512 "
        "buckets.\n")
    add("Throughput (JMH `TimerBenchmark`): N timers are already pending, all due 1 to 2 hours ahead. One "
        "*schedule+cancel* is a schedule of a timer due 1 to 2 hours ahead (drawn like the pending ones, so it "
        "lands among them) and its cancel; one *schedule+fire* is a schedule of a timer due at once and its "
        "run (it passes every pending timer). *Loop thread*: 10,000 ops in one task on the implementation's "
        "thread (`execute`), the benchmark thread waiting for it; *another thread*: the benchmark thread "
        "schedules and cancels itself, and each batch of 10,000 cancels ends with a round trip to the loop "
        "(Netty's loop is woken by neither a far schedule nor a cancel from another thread, so without it its "
        "task queue would grow all iteration). The wheel runs no tasks of ours: its loop-thread rows are n/a. "
        "Scores ± the 99.9% confidence interval.\n")
    for workload, label in TIMER_WORKLOADS.items():
        op = label.split(" ", 1)[0]
        add(f"\n**{label[0].upper() + label[1:]}** ({op}/s)\n")
        add(table(results, workload, "ops_per_s", True, "Pending", f"{op}/s", vs_c=False))
        if workload.endswith("-loop") and results.params(workload):
            add("\nNetty HashedWheelTimer: n/a (its worker thread runs only the wheel).")
    for name in ("timer-cancel-loop.svg", "timer-cancel-cross-thread.svg"):
        if name in plot_files:
            add(f"\n![Timer schedule+cancel]({plot_dir_name}/{name})\n")
    add("\nLateness (`TimerLatenessProbe`): timers with random delays of 1 to 20 ms, scheduled one at a time "
        "from another thread on an otherwise idle implementation; lateness is the run's `System.nanoTime()` "
        "minus (the caller's `System.nanoTime()` before `schedule` + the delay), in µs. C: one thread waiting "
        "in `epoll_pwait2` with a nanosecond timeout (default timer slack), the floor for a loop's wait on "
        "this machine (bench/native/epoll_lateness.c).\n")
    add(wide_table(results, "timer-lateness", "Samples", [("p50_us", "p50 µs"), ("p99_us", "p99 µs"),
                                                          ("max_us", "max µs")], "p99_us"))
    add("\nMemory per pending timer (`TimerMemoryProbe`, MemoryProbe's method): what N pending timers, sharing "
        "one task object, add to the Java heap after a full GC, and to anonymous RSS with the heap pre-touched "
        "and the JIT off (none of the four has a native part), divided by N.\n")
    for metric, label in (("heap_bytes_per_timer", "Java heap B/timer"), ("native_bytes_per_timer",
                                                                        "native B/timer")):
        add(table(results, "timer-memory", metric, False, "Pending timers", label, vs_c=False))
        add("")


def _loops_section(add, results, plot_files, plot_dir_name):
    add("\n## 8. Several loops\n")
    add("`http --threads 1` and `--threads 2` (one SO_REUSEPORT listener per loop, connections never cross "
        "loops), beside the Netty responder of section 4 on an `EpollEventLoopGroup` of 1 and 2 threads (the "
        "listener on one loop handing each accepted connection round-robin to the group). Nothing is pinned: "
        "the second loop needs the second core, which wrk (one thread) shares with it. All four servers are up at "
        "once and measured in alternating rounds; each row is the server's median round, and **2/1** is the "
        "median (and range) of the per-round ratio of CPU per request, 2 loops over 1.\n")
    for metric, label, higher in (("req_per_s", "Requests/s", True), ("cpu_us_per_req", "CPU µs per request", False),
                                  ("p99_us", "Latency p99 (µs)", False)):
        add(f"\n**{label}**\n")
        add(table(results, "loops-http", metric, higher, "Connections", label, vs_c=False))
    add("\n| Connections | Implementation | CPU per request, 2/1 |\n|---:|---|---:|")
    for c in results.params("loops-http"):
        for two, _ in LOOP_PAIRS:
            text = loops_ratio_text(results, "loops-http", two, c)
            if text:
                add(f"| {c} | {IMPLS[two].split(',')[0]} | {text} |")
    add("\nChat fan-out (`bench/.../probes/ChatLoad.java`): 100 clients of `chat --threads 1` and `--threads 2`, "
        "20 of them talking, in rounds (each talker sends one 64-byte line, 1,980 deliveries a round), up to 4 "
        "rounds in flight. *Rounds/s* is the offered load, the talkers taking turns at an even pace (line s of "
        "round r leaves at (r + s/20) / rate): the same work for 1 and 2 loops, so CPU per delivery compares like "
        "with like, and the target is judged on these rows. *max* sends every round in one burst as fast as the "
        "window allows: the capacity, where ChatLoad's one thread competes with the loops for the two cores and "
        "1 and 2 loops do different amounts of work (shown, not judged). Every client checks every line: one "
        "lost, repeated or out of order fails the run.\n")
    for metric, label, higher in (("deliveries_per_s", "Deliveries/s", True),
                                  ("cpu_ns_per_delivery", "Server CPU ns per delivered line", False)):
        add(f"\n**{label}**\n")
        add(table(results, "chat", metric, higher, "Rounds/s", label, vs_c=False))
    add("\n| Rounds/s | CPU per delivery, 2/1 |\n|---:|---:|")
    for p in results.params("chat"):
        text = loops_ratio_text(results, "chat", "java-api-2", p)
        if text:
            add(f"| {p} | {text} |")
    for p in results.params("chat-big"):
        get = lambda metric: results.get("chat-big", "java-api-2", p, metric)
        add(f"\n{p} clients on `chat --threads 2` ({get('clients_loop_0') or 0:.0f} and "
            f"{get('clients_loop_1') or 0:.0f} per loop, as the kernel spread them), 10 talking as fast as the window "
            f"allows: {fmt(get('deliveries'))} deliveries in the window, {fmt(get('deliveries_per_s'))}/s, "
            f"{fmt(get('cpu_ns_per_delivery'))} ns of server CPU each; lost, repeated or out of order: "
            f"{fmt(get('lost_or_repeated'), 0)}.\n")
    add("\nHand-off (`HandoffProbe`): loop 0 of a two-loop `EventWatcherGroup` gives N descriptors to loop 1, "
        "which watches each for READ. *execute()*: one task per descriptor that watches it on the receiving "
        "loop (the group's documented way); *watch()*: the giving loop calls `watch` itself, which waits for the "
        "receiving loop to apply it. Hand-offs/s runs until the receiving loop has watched the last one; the "
        "giving loop's time is its own time per hand-off. Median of alternating rounds.\n")
    add("| Descriptors | Hand-off | Hand-offs/s | Giving loop ns per hand-off |\n|---:|---|---:|---:|")
    for p in results.params("handoff"):
        for impl in results.impls("handoff"):
            add(f"| {p} | {IMPLS[impl]} | {fmt(results.get('handoff', impl, p, 'handoffs_per_s'))} | "
                f"{fmt(results.get('handoff', impl, p, 'giving_ns_per_handoff'))} |")


def _fdio_section(add, results, plot_files, plot_dir_name):
    add("\n## 9. Blocking I/O on any fd, and child processes\n")
    add("On the Temurin 25 JDK (virtual threads), nothing pinned. **Ping-pong**: two threads pass one byte "
        "back and forth over two pipes, `FdChannel` on virtual threads (the shared watcher's virtual-thread "
        "sub-pollers unpark them, the loop thread waking an idle one) against the JDK's `Pipe` channels on virtual threads (the JDK's poller) and against platform "
        "threads blocked in `FileInputStream.read`; the JVM's CPU per round trip covers both threads and the "
        "poller. Median of alternating rounds.\n")
    for metric, label in (("p50_ns", "Round trip p50 (ns)"), ("p99_ns", "Round trip p99 (ns)"),
                          ("cpu_ns_per_round_trip", "JVM CPU ns per round trip")):
        add(f"\n**{label}**\n")
        add(table(results, "pipe-pingpong", metric, False, "Round trips", label, vs_c=False))
    kind = "a pipe" if any(results.get("parked", "fdchannel-virtual", p, "kind_is_pipe") == 1
                           for p in results.params("parked")) else "an eventfd: 2 fds per pipe would exceed the fd limit"
    add(f"\n**Parked threads**: N threads each blocked reading its own fd ({kind}), then one write into each "
        "fd: the time until the last reader has returned, the RSS the blocked threads add, and the OS threads "
        "of the process while they are blocked. `FileInputStream.read` on a platform thread is the only JDK way "
        "to block on an arbitrary fd; a virtual thread there would hold its carrier.\n")
    add("| Threads | Implementation | Wake all (ms) | RSS added (MiB) | OS threads |\n|---:|---|---:|---:|---:|")
    for p in results.params("parked"):
        for impl in results.impls("parked"):
            add(f"| {p} | {IMPLS[impl]} | {fmt(results.get('parked', impl, p, 'wake_all_ms'))} | "
                f"{fmt(results.get('parked', impl, p, 'rss_added_mib'))} | "
                f"{fmt(results.get('parked', impl, p, 'os_threads'), 0)} |")
    add("\n**Children**: N `cat` children started first, then each sent its bytes on stdin and read back on "
        "stdout (checked), all at once: `Subprocess` with a virtual thread per stream (exits reaped through "
        "pidfds on the shared loop), `ProcessBuilder` with a platform thread per stream (and the JDK's reaper "
        "threads), NuProcess with its own epoll threads and callbacks. *Wall* runs from the first start to the "
        "last echo checked, *start* is the part spent starting the children; peak threads are the JVM's OS "
        "threads at most at once.\n")
    add("| Children | Implementation | Wall (ms) | Start (ms) | JVM CPU (ms) | Peak OS threads |\n"
        "|---:|---|---:|---:|---:|---:|")
    for p in results.params("child-echo"):
        for impl in results.impls("child-echo"):
            add(f"| {p} | {IMPLS[impl]} | {fmt(results.get('child-echo', impl, p, 'wall_ms'))} | "
                f"{fmt(results.get('child-echo', impl, p, 'start_ms'))} | "
                f"{fmt(results.get('child-echo', impl, p, 'cpu_ms'))} | "
                f"{fmt(results.get('child-echo', impl, p, 'peak_threads'), 0)} |")


# Section name (bench/run.sh --only) -> (the workloads it measures, what writes its part of the page).
SECTIONS = {
    "dispatch": (["dispatch"], _dispatch_section),
    "tasks": (["task-rtt", "task-throughput"], _tasks_section),
    "churn": (["churn"], _churn_section),
    "executor": (["executor"], _executor_section),
    "servers": (["server"], _servers_section),
    "memory": (["memory"], _memory_section),
    "idle": (["idle"], _idle_section),
    "timers": ([*TIMER_WORKLOADS, "timer-lateness", "timer-memory"], _timers_section),
    "loops": (["loops-http", "chat", "chat-big", "handoff"], _loops_section),
    "fdio": (["pipe-pingpong", "parked", "child-echo"], _fdio_section),
}
# Target id -> its section; a page of one section shows that section's targets only.
TARGET_SECTIONS = {"dispatch-java-1000": "dispatch", "dispatch-java-1": "dispatch", "dispatch-core": "dispatch",
                   "alloc": "dispatch", "task-rtt": "tasks", "server-cpu": "servers", "server-rps": "servers",
                   "server-timeouts": "servers",
                   "idle": "idle", "timer-cancel-loop": "timers", "timer-peers": "timers",
                   "timer-lateness": "timers", "timer-memory": "timers",
                   "loops-http": "loops", "loops-chat": "loops", "loops-chat-big": "loops",
                   "fdio-pingpong": "fdio"}


def document(results, meta, plot_files, plot_dir_name, only=None):
    out = []
    add = out.append
    add("# Benchmarks\n")
    add("Generated by `bench/report.py` from one run of the harness: every peer was measured on the same "
        "machine in the same run, and every figure is shown with its ratio to the best peer (**vs best**) and "
        "to the plain C program that sets the limit (**vs C**). For rates higher is better; for latencies, CPU "
        "time and bytes lower is better, so a ratio above 1.00 there means slower or bigger. Workloads, "
        "peers and the result format are described in [bench/README.md](../bench/README.md).\n")
    add(f"- Command: `{meta.get('command', '?')}`")
    for key, label in (("date", "Date"), ("machine", "Machine"), ("kernel", "Kernel"), ("jdk", "JDK"),
                       ("compiler", "Compiler"), ("baseline", "Baseline"), ("netty", "Netty"), ("wrk", "wrk"), ("fd_limit", "fd limit"),
                       ("durations", "Durations"), ("separately", "Measured in a later run")):
        if key in meta:
            add(f"- {label}: {meta[key]}")
    add(f"- Raw data: [{plot_dir_name}/results.tsv]({plot_dir_name}/results.tsv) and the JMH JSON files beside it\n")

    add("## Targets\n")
    add("| Target | Measured | Met |\n|---|---|:-:|")
    judged = [t for t in targets(results) if only is None or TARGET_SECTIONS.get(t[0]) == only]
    for _, target, measured, met in judged:
        add(f"| {target} | {measured} | {'–' if met is None else ('yes' if met else '**no**')} |")
    add("")

    for name, (_, section) in SECTIONS.items():
        if only is None or name == only:
            section(add, results, plot_files, plot_dir_name)
    missed = [(tid, target) for tid, target, _, met in judged if met is False]
    if missed:
        add("\n## Missed targets\n")
        for tid, target in missed:
            note = ANALYSIS_DIR / f"{tid}.md"
            text = note.read_text().strip() if note.exists() else "No analysis written yet."
            add(f"### {target}\n\n{text}\n")
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def main(argv):
    only = None
    if len(argv) == 5 and argv[3] == "--only" and argv[4] in SECTIONS:
        only = argv[4]
    elif len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    run_dir, output = Path(argv[1]), Path(argv[2])
    results = Results()
    load_tsv(results, run_dir / "results.tsv")
    for path in sorted(run_dir.glob("jmh-*.json")):
        load_jmh(results, path)
    meta = {}
    meta_file = run_dir / "meta.txt"
    if meta_file.exists():
        for line in meta_file.read_text().splitlines():
            key, _, value = line.partition("=")
            meta[key.strip()] = value.strip()
    missing = [w for name, (workloads, _) in SECTIONS.items() if only is None or name == only
               for w in workloads if not results.params(w)]
    plot_dir_name = "bench"
    plot_dir = output.parent / plot_dir_name
    plot_files = plots(results, plot_dir)
    if plot_dir.resolve() != run_dir.resolve():
        for path in [run_dir / "results.tsv", *sorted(run_dir.glob("jmh-*.json"))]:
            (plot_dir / path.name).write_bytes(path.read_bytes())
    output.write_text(document(results, meta, plot_files, plot_dir_name, only))
    if missing:
        print(f"report: no results for {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
