"""The process drawn as SVG, with the case's current state highlighted.

A bureau user reads a process as its main path plus the side roads (returned for correction,
objection) and the ends; drawing it that way beats a general graph layout at phone width.
"""

from __future__ import annotations

from html import escape
from itertools import pairwise

from states.process.spec import ProcessSpec

BOX_W, BOX_H, GAP_X, GAP_Y, PER_ROW = 132, 40, 28, 34, 4


def _box(x: int, y: int, label: str, *, current: bool, dashed: bool, final: bool) -> str:
    fill = "#c8102e" if current else ("#f4f4f4" if final else "#ffffff")
    color = "#ffffff" if current else "#222222"
    stroke = "#c8102e" if current else "#888888"
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<g class="state{" current" if current else ""}">'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{2 if current else 1}"{dash}/>'
        f'<text x="{x + BOX_W // 2}" y="{y + BOX_H // 2 + 5}" text-anchor="middle" '
        f'font-size="14" fill="{color}">{escape(label)}</text></g>'
    )


def diagram_svg(spec: ProcessSpec, current: str | None = None) -> str:
    main = list(spec.main_path)
    side = [s for s in spec.states if s not in main]
    parts: list[str] = []
    pos: list[tuple[int, int]] = []
    for i in range(len(main)):
        row, col = divmod(i, PER_ROW)
        col = col if row % 2 == 0 else PER_ROW - 1 - col  # snake, so arrows stay short
        pos.append((10 + col * (BOX_W + GAP_X), 10 + row * (BOX_H + GAP_Y)))
    for (x1, y1), (x2, y2) in pairwise(pos):
        if y1 == y2:
            a, b = (x1 + BOX_W, x2) if x2 > x1 else (x1, x2 + BOX_W)
            parts.append(
                f'<line x1="{a}" y1="{y1 + BOX_H // 2}" x2="{b}" y2="{y2 + BOX_H // 2}" '
                'stroke="#888" marker-end="url(#arrow)"/>'
            )
        else:
            parts.append(
                f'<line x1="{x1 + BOX_W // 2}" y1="{y1 + BOX_H}" x2="{x2 + BOX_W // 2}" '
                f'y2="{y2}" stroke="#888" marker-end="url(#arrow)"/>'
            )
    for state, (x, y) in zip(main, pos, strict=True):
        parts.append(
            _box(
                x,
                y,
                spec.state_label(state),
                current=state == current,
                dashed=False,
                final=bool(getattr(spec.machine, state).final),
            )
        )
    rows = -(-len(main) // PER_ROW)
    y = 10 + rows * (BOX_H + GAP_Y) + 6
    parts.append(f'<text x="10" y="{y}" font-size="12" fill="#666">其他状态</text>')
    for i, state in enumerate(side):
        row, col = divmod(i, PER_ROW)
        x, yy = 10 + col * (BOX_W + GAP_X), y + 10 + row * (BOX_H + 14)
        parts.append(
            _box(
                x,
                yy,
                spec.state_label(state),
                current=state == current,
                dashed=True,
                final=bool(getattr(spec.machine, state).final),
            )
        )
    height = y + 10 + (-(-len(side) // PER_ROW)) * (BOX_H + 14) + 10
    width = 10 + PER_ROW * (BOX_W + GAP_X)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(spec.label)}流程图">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker>'
        "</defs>" + "".join(parts) + "</svg>"
    )
