"""Reports: the terminal table and the self-contained HTML timeline of recorded runs."""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional, Tuple

from fast_langgraph.profiler.runs import _KIND_AREA, _LABELS, _SAVER, _SERDE, AREAS, _Run


def _ms(seconds: Optional[float]) -> str:
    return "n/a" if seconds is None else "%.3f" % (seconds * 1e3)


def _pct(part: Optional[float], whole: float) -> str:
    return "" if part is None or whole <= 0 else "%.1f %%" % (100.0 * part / whole)


def render_text(data: Dict[str, Any], max_runs: int = 10) -> str:
    """The terminal report of :meth:`GraphProfiler.to_dict`'s data: totals, the overhead split
    by area, nodes, supersteps and the last ``max_runs`` runs."""
    t = data["totals"]
    n = data["runs_recorded"]
    if n == 0:
        return "GraphProfiler: no LangGraph run recorded (was it inside profile_run()?)"
    wall = t["wall_s"]

    def share(label: str, seconds: Optional[float]) -> str:
        if seconds is None:
            return "%-40s %12s" % (label, "n/a")
        return "%-40s %12s %12s %9s" % (label, _ms(seconds), _ms(seconds / n), _pct(seconds, wall))

    entries = ", ".join("%d %s" % (c, e) for e, c in sorted(t["entries"].items()))
    failed = ", %d failed" % t["errors"] if t["errors"] else ""
    lines = [
        "GraphProfiler: %d run%s (%s), %s ms wall, %d supersteps%s"
        % (n, "" if n == 1 else "s", entries, _ms(wall), t["supersteps"], failed),
        "",
        "%-40s %12s %12s %9s" % ("where the time went", "total ms", "per run ms", "of wall"),
        share("nodes running", t["node_time_s"]),
        share("framework overhead", t["overhead_s"]),
    ]
    lines += [share("  " + _LABELS[area], t["overhead"][area]) for area in AREAS]
    if t["consumer_s"] > 0:
        lines.append(share("stream consumer (between chunks)", t["consumer_s"]))

    lines += ["", "%-32s %8s %12s %12s %12s %9s" % ("node", "calls", "total ms", "mean ms", "max ms", "of wall")]
    for name, s in sorted(t["nodes"].items(), key=lambda kv: -kv[1]["total_s"]):
        mean = s["total_s"] / s["calls"]
        lines.append(
            "%-32s %8d %12s %12s %12s %9s"
            % (name[:32], s["calls"], _ms(s["total_s"]), _ms(mean), _ms(s["max_s"]), _pct(s["total_s"], wall))
        )
    if t["supersteps"]:
        slow = t["slowest_step"]
        lines += [
            "",
            "supersteps: %d (%.1f per run), mean %s ms, slowest %s ms (run %d, step %s)"
            % (
                t["supersteps"],
                t["supersteps"] / n,
                _ms(t["step_time_s"] / t["supersteps"]),
                _ms(slow["duration_s"]),
                slow["run"],
                slow["step"],
            ),
        ]

    kept = data["runs"][-max_runs:]
    lines += [
        "",
        "runs%s:" % ("" if len(kept) == n else " (last %d of %d)" % (len(kept), n)),
        "%5s  %-20s %-6s %-8s %10s %6s %9s %9s  %s"
        % ("#", "graph", "mode", "entry", "wall ms", "steps", "nodes", "overhead", "error"),
    ]
    for r in kept:
        lines.append(
            "%5d  %-20s %-6s %-8s %10s %6d %9s %9s  %s"
            % (
                r["index"],
                r["graph"][:20],
                r["mode"],
                r["entry"],
                _ms(r["wall_s"]),
                r["supersteps"],
                _pct(r["node_time_s"], r["wall_s"]),
                _pct(r["overhead_s"], r["wall_s"]),
                r["error"] or "",
            )
        )
    unavailable = {a: r["reason"] for a, r in data["instrumentation"].items() if not r["available"]}
    if unavailable:
        lines += ["", "not instrumented on this LangGraph (its time counts as scheduling):"]
        lines += ["  %s: %s" % (area, reason) for area, reason in sorted(unavailable.items())]
    return "\n".join(lines)


_COLORS = {
    "step": "#e8e8e8",
    "node": "#4c72b0",
    "checkpoint_serialization": "#dd8452",
    "saver_io": "#c44e52",
    "channel_updates": "#55a868",
    "consumer": "#bbbbbb",
}


def render_html(report: str, timelines: List[Tuple[Dict[str, Any], _Run]]) -> str:
    width, row_h, label_w = 1100, 18, 230
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>fast_langgraph profile</title><style>",
        "body{font:13px system-ui,sans-serif;margin:20px;color:#222}pre{background:#f6f6f6;padding:10px;overflow:auto}",
        "svg{display:block;margin:6px 0 24px}text{font:11px system-ui,sans-serif}.lg span{display:inline-block;",
        "width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}",
        "</style></head><body><h1>fast_langgraph profile</h1>",
        "<div class='lg'>",
    ]
    for key, label in (
        ("node", "node"),
        ("checkpoint_serialization", "serialization"),
        ("saver_io", "saver I/O"),
        ("channel_updates", "channel updates"),
        ("consumer", "stream consumer"),
    ):
        parts.append("<span style='background:%s'></span>%s" % (_COLORS[key], label))
    parts.append("</div><p>Hover a bar for its duration. Unshaded time in a run is scheduling.</p>")
    for summary, run in reversed(timelines):
        wall = max(run.end - run.start, 1e-9)
        scale = (width - label_w) / wall
        node_names: List[str] = []
        for name in run.nodes[0::4]:
            if name not in node_names:
                node_names.append(name)
        rows = ["supersteps"] + ["node: " + n for n in node_names]
        rows += ["serialization", "saver I/O", "channel updates"] + (["stream consumer"] if run.gaps else [])
        height = row_h * len(rows) + 24
        parts.append(
            "<h3>run %d: %s (%s, %s) &middot; %.3f ms &middot; %d supersteps%s</h3>"
            % (
                summary["index"],
                html.escape(summary["graph"]),
                summary["mode"],
                summary["entry"],
                wall * 1e3,
                summary["supersteps"],
                " &middot; " + html.escape(summary["error"]) if summary["error"] else "",
            )
        )
        parts.append("<svg width='%d' height='%d' xmlns='http://www.w3.org/2000/svg'>" % (width, height))
        for i, label in enumerate(rows):
            parts.append("<text x='0' y='%d'>%s</text>" % (i * row_h + 13, html.escape(label[:34])))
            y = (i + 1) * row_h
            parts.append("<line x1='%d' x2='%d' y1='%d' y2='%d' stroke='#eee'/>" % (label_w, width, y, y))

        def bar(row: int, a: float, b: float, color: str, title: str) -> None:
            x = label_w + (a - run.start) * scale
            w = max((b - a) * scale, 0.6)
            parts.append(
                "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>%s</title></rect>"
                % (x, row * row_h + 2, w, row_h - 4, color, html.escape(title))
            )

        flat = summary["steps"]
        for step, offset, duration in zip(flat[0::5], flat[1::5], flat[2::5]):
            a = run.start + offset
            color = _COLORS["step"] if step % 2 == 0 else "#d0d0d0"
            bar(0, a, a + duration, color, "step %d: %.3f ms" % (step, duration * 1e3))
        nodes = run.nodes
        for name, step_no, a, b in zip(nodes[0::4], nodes[1::4], nodes[2::4], nodes[3::4]):
            title = "%s (step %s): %.3f ms" % (name, step_no, (b - a) * 1e3)
            bar(1 + node_names.index(name), a, b, _COLORS["node"], title)
        base = 1 + len(node_names)
        for kind, a, b in zip(run.spans[0::3], run.spans[1::3], run.spans[2::3]):
            area = _KIND_AREA[kind]
            bar(base + kind, a, b, _COLORS[area], "%s: %.3f ms" % (_LABELS[area], (b - a) * 1e3))
        for a, b, inner in zip(run.saver[0::3], run.saver[1::3], run.saver[2::3]):
            bar(base + _SAVER, a, b, _COLORS["saver_io"], "%s: %.3f ms" % (_LABELS["saver_io"], (b - a) * 1e3))
            if inner > 0:  # serialization inside this checkpointer call (shown at its end)
                title = "serialization in a saver call: %.3f ms" % (inner * 1e3)
                bar(base + _SERDE, b - inner, b, _COLORS["checkpoint_serialization"], title)
        for a, b in zip(run.gaps[0::2], run.gaps[1::2]):
            bar(base + 3, a, b, _COLORS["consumer"], "stream consumer: %.3f ms" % ((b - a) * 1e3))
        span_px = width - label_w - 30  # the last tick label needs room
        for k in range(6):
            at = span_px * k / 5
            parts.append(
                "<text x='%.0f' y='%d' fill='#888'>%.2f ms</text>" % (label_w + at, height - 6, at / scale * 1e3)
            )
        parts.append("</svg>")
    parts.append("<h2>Report</h2><pre>%s</pre></body></html>" % html.escape(report))
    return "".join(parts)
