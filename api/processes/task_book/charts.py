"""The board's charts, drawn on the server as SVG: nothing to load from anywhere, readable
at phone width. Presentation attributes only (the pages' policy forbids inline styles); the
numbers are also in the tables beside them, for those who would rather read.

- status by unit: one horizontal stacked bar per unit (逾期, 预警, 正常推进, 已办结), the
  unit's name above its bar so that long names need no room beside it;
- completions over the year: the tasks due by the end of each month (the plan) against
  those closed by then, cumulative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

# The board's colours; the same as the status tags of the pages (app.css).
COLOURS: Mapping[str, str] = {
    "red": "#c62828",
    "yellow": "#f2a900",
    "green": "#2e7d32",
    "done": "#78909c",
}
WIDTH = 360  # viewBox units: drawn at 1:1 on a phone, scaled up on a desk
FONT = 'font-family="sans-serif"'


def status_bars(rows: Sequence[tuple[str, Mapping[str, int]]], labels: Mapping[str, str]) -> Markup:
    """One stacked bar per (unit name, counts by status), to the scale of the largest."""
    biggest = max((sum(c.values()) for _, c in rows), default=0) or 1
    left, right, row_h = 4, 40, 34
    span = WIDTH - left - right
    parts: list[str] = []
    x = left
    for status, label in labels.items():  # the legend
        parts.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS[status]}"/>'
            f'<text x="{x + 14}" y="13" font-size="12" {FONT}>{escape(label)}</text>'
        )
        x += 14 + 12 * len(label) + 10
    y = 24
    for name, counts in rows:
        parts.append(f'<text x="{left}" y="{y + 11}" font-size="13" {FONT}>{escape(name)}</text>')
        bx = float(left)
        for status in labels:
            n = counts.get(status, 0)
            if not n:
                continue
            w = span * n / biggest
            parts.append(
                f'<rect x="{bx:.1f}" y="{y + 15}" width="{w:.1f}" height="12" '
                f'fill="{COLOURS[status]}"><title>{escape(name)} {escape(labels[status])} {n}'
                "</title></rect>"
            )
            bx += w
        total = sum(counts.values())
        parts.append(f'<text x="{bx + 4:.1f}" y="{y + 25}" font-size="11" {FONT}>{total}</text>')
        y += row_h
    height = y + 4
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="bars-title" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="bars-title">各单位任务状态</title>{"".join(parts)}</svg>'
    )


def completions(months: Sequence[tuple[int, int, int]], current: int | None) -> Markup:
    """The plan (dashed) and the tasks closed (solid) by the end of each month, with a
    marker at the current month."""
    height, left, top, bottom = 200, 30, 18, 24
    plot_w, plot_h = WIDTH - left - 10, height - top - bottom
    biggest = max((max(p, d) for _, p, d in months), default=0) or 1

    def point(i: int, value: int) -> tuple[float, float]:
        return left + plot_w * i / 11, top + plot_h * (1 - value / biggest)

    plan = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in (point(i, p) for i, (_, p, _) in enumerate(months))
    )
    done = [point(i, d) for i, (_, _, d) in enumerate(months) if current is None or i < current]
    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#9e9e9e"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#9e9e9e"/>',
        f'<text x="2" y="{top + 4}" font-size="11" {FONT}>{biggest}</text>',
        f'<text x="2" y="{top + plot_h}" font-size="11" {FONT}>0</text>',
    ]
    for i in range(12):
        x, _ = point(i, 0)
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="11" text-anchor="middle" {FONT}>'
            f"{i + 1}</text>"
        )
    if current is not None and 1 <= current <= 12:
        x, _ = point(current - 1, 0)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
            'stroke="#bdbdbd" stroke-dasharray="2 3"/>'
        )
    parts.append(
        f'<polyline points="{plan}" fill="none" stroke="#607d8b" stroke-width="2" '
        'stroke-dasharray="5 4"><title>计划完成（累计）</title></polyline>'
    )
    if done:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in done)
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="#1565c0" stroke-width="2.5">'
            "<title>实际完成（累计）</title></polyline>"
        )
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#1565c0"/>' for x, y in done]
    parts.append(
        f'<line x1="{left + 6}" y1="9" x2="{left + 26}" y2="9" stroke="#607d8b" '
        f'stroke-width="2" stroke-dasharray="5 4"/><text x="{left + 30}" y="13" '
        f'font-size="12" {FONT}>计划</text>'
        f'<line x1="{left + 70}" y1="9" x2="{left + 90}" y2="9" stroke="#1565c0" '
        f'stroke-width="2.5"/><text x="{left + 94}" y="13" font-size="12" {FONT}>实际完成</text>'
    )
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="line-title" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="line-title">全年任务计划完成与实际完成（累计，按月）</title>'
        f"{''.join(parts)}</svg>"
    )
