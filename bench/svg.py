"""Minimal SVG charts for the benchmark report: a line chart and a grouped bar chart.

Standard library only, so that the report builds on any machine with python3. Each function
returns the SVG document as a string; colours are fixed per series name so that a peer keeps
its colour across every plot.
"""
import math
from html import escape

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 80, 190, 40, 60
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#666666",
           "#b15928"]


def colour_for(name, index, colours):
    """The series' fixed colour when `colours` names one, else the palette's index-th."""
    return (colours or {}).get(name, PALETTE[index % len(PALETTE)])


def _nice_ticks(low, high, count=5):
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = [round(first, 10)]
    while ticks[-1] < high - step * 1e-9:  # the last tick is at or above the highest value
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _format(value):
    if value == 0:
        return "0"
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def _frame(title, x_label, y_label):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2 - RIGHT / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<text x="{LEFT + (WIDTH - LEFT - RIGHT) / 2}" y="{HEIGHT - 15}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text transform="translate(18,{TOP + (HEIGHT - TOP - BOTTOM) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]


def _y_axis(parts, ticks, y_of):
    for tick in ticks:
        y = y_of(tick)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_format(tick)}</text>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="black"/>')
    parts.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}" stroke="black"/>'
    )


def _legend(parts, names, colours):
    for i, name in enumerate(names):
        y = TOP + 10 + i * 20
        x = WIDTH - RIGHT + 15
        parts.append(f'<rect x="{x}" y="{y - 9}" width="14" height="10" fill="{colour_for(name, i, colours)}"/>')
        parts.append(f'<text x="{x + 20}" y="{y}">{escape(name)}</text>')


def line_chart(title, x_label, y_label, x_values, series, log_x=False, colours=None):
    """series: list of (name, [y or None per x]). x_values are numbers, plotted evenly when
    log_x is False, on a log scale otherwise."""
    parts = _frame(title, x_label, y_label)
    all_y = [y for _, ys in series for y in ys if y is not None]
    ticks = _nice_ticks(0, max(all_y) if all_y else 1)
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(index):
        if log_x and len(x_values) > 1:
            lo, hi = math.log10(x_values[0]), math.log10(x_values[-1])
            return LEFT + 20 + (math.log10(x_values[index]) - lo) / (hi - lo) * (plot_w - 40)
        return LEFT + 20 + (index / max(1, len(x_values) - 1)) * (plot_w - 40)

    def y_of(value):
        return HEIGHT - BOTTOM - value / top * plot_h

    _y_axis(parts, ticks, y_of)
    for i, x in enumerate(x_values):
        parts.append(f'<text x="{x_of(i):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{_format(x)}</text>')
    for s, (name, ys) in enumerate(series):
        points = [(x_of(i), y_of(y)) for i, y in enumerate(ys) if y is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour_for(name, s, colours)}" stroke-width="2"/>')
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour_for(name, s, colours)}"/>')
    _legend(parts, [name for name, _ in series], colours)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def bar_chart(title, y_label, groups, series, colours=None):
    """groups: category labels along x; series: list of (name, [value or None per group])."""
    parts = _frame(title, "", y_label)
    all_y = [y for _, ys in series for y in ys if y is not None]
    ticks = _nice_ticks(0, max(all_y) if all_y else 1)
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))

    def y_of(value):
        return HEIGHT - BOTTOM - value / top * plot_h

    _y_axis(parts, ticks, y_of)
    for g, label in enumerate(groups):
        centre = LEFT + group_w * (g + 0.5)
        parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(label)}</text>')
        for s, (name, ys) in enumerate(series):
            value = ys[g]
            if value is None:
                continue
            x = LEFT + group_w * g + group_w * 0.1 + s * bar_w
            y = y_of(value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{HEIGHT - BOTTOM - y:.1f}" '
                f'fill="{colour_for(name, s, colours)}"/>'
            )
    _legend(parts, [name for name, _ in series], colours)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
