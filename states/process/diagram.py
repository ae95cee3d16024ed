"""The process drawn as SVG, with where the case stands marked on it.

A bureau user reads a process as its main path plus the side roads (returned for correction,
objection) and the ends; drawing it that way beats a general graph layout at phone width.
The state a case is in is drawn in the brand's blue with 「当前」 above it — red is the colour
of errors and overdue work, and a case waiting at a step has done nothing wrong; a case that
has ended is drawn at its end with 「已办结」 (green for a success, grey for any other end).
The drawing keeps its natural size (the page scrolls it sideways on a phone rather than
shrinking its words), and says in words, for a screen reader, what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from itertools import pairwise

from states.process.spec import TERMINAL_NEGATIVE, ProcessSpec

BOX_W, BOX_H, GAP_X, GAP_Y, PER_ROW = 132, 40, 28, 40, 4
TOP = 22  # room above the first row for a marker
MARKER_W, MARKER_H = 48, 18


@dataclass(frozen=True)
class Look:
    fill: str
    stroke: str
    text: str
    marker: str = ""  # the words above the box: 当前, 已办结


PLAIN = Look("#ffffff", "#888888", "#222222")
END = Look("#f4f4f4", "#888888", "#222222")  # a final state the case is not in
CURRENT = Look("#1d4f91", "#153a6b", "#ffffff", "当前")
ENDED = Look("#1e6b35", "#14532a", "#ffffff", "已办结")
ENDED_OTHERWISE = Look("#5f6670", "#474d55", "#ffffff", "已办结")


def _look(spec: ProcessSpec, state: str, current: str | None) -> tuple[Look, str]:
    """How a state is drawn, and its class in the drawing (current, ended or none)."""
    final = spec.is_final(state)
    if state != current:
        return (END if final else PLAIN), ""
    if not final:
        return CURRENT, "current"
    negative = TERMINAL_NEGATIVE in spec.states[state].tags
    return (ENDED_OTHERWISE if negative else ENDED), "ended"


def _box(x: int, y: int, label: str, look: Look, kind: str, *, dashed: bool) -> str:
    marked = bool(look.marker)
    dash = ' stroke-dasharray="4 3"' if dashed and not marked else ""
    weight = ' font-weight="bold"' if marked else ""
    out = (
        f'<g class="state{" " + kind if kind else ""}">'
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{look.fill}" '
        f'stroke="{look.stroke}" stroke-width="{2 if marked else 1}"{dash}/>'
        f'<text x="{x + BOX_W // 2}" y="{y + BOX_H // 2 + 5}" text-anchor="middle" '
        f'font-size="14" fill="{look.text}"{weight}>{escape(label)}</text>'
    )
    if marked:
        mx, my = x + 6, y - MARKER_H + 2
        out += (
            f'<rect x="{mx}" y="{my}" width="{MARKER_W}" height="{MARKER_H}" rx="4" '
            f'fill="{look.stroke}"/>'
            f'<text x="{mx + MARKER_W // 2}" y="{my + 13}" text-anchor="middle" font-size="12" '
            f'fill="#ffffff">{escape(look.marker)}</text>'
        )
    return out + "</g>"


def _description(spec: ProcessSpec, main: list[str], side: list[str], current: str | None) -> str:
    """The drawing in words, for whoever cannot see it."""
    words = "主流程：" + " → ".join(spec.state_label(s) for s in main)
    if side:
        words += "；其他状态：" + "、".join(spec.state_label(s) for s in side)
    if current is not None and current in spec.states:
        if spec.is_final(current):
            words += f"。本事项已办结，结果：{spec.state_label(current)}"
        else:
            words += f"。本事项当前处于：{spec.state_label(current)}"
    return words + "。"


def diagram_svg(spec: ProcessSpec, current: str | None = None) -> str:
    main = list(spec.main_path)
    side = [s for s in spec.states if s not in main]
    parts: list[str] = []
    pos: list[tuple[int, int]] = []
    for i in range(len(main)):
        row, col = divmod(i, PER_ROW)
        col = col if row % 2 == 0 else PER_ROW - 1 - col  # snake, so arrows stay short
        pos.append((10 + col * (BOX_W + GAP_X), TOP + row * (BOX_H + GAP_Y)))
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
        look, kind = _look(spec, state, current)
        parts.append(_box(x, y, spec.state_label(state), look, kind, dashed=False))
    rows = -(-len(main) // PER_ROW)
    y = TOP + rows * (BOX_H + GAP_Y) - GAP_Y + 24
    parts.append(f'<text x="10" y="{y}" font-size="12" fill="#5f6670">其他状态</text>')
    side_gap = BOX_H + MARKER_H + 4
    for i, state in enumerate(side):
        row, col = divmod(i, PER_ROW)
        x, yy = 10 + col * (BOX_W + GAP_X), y + MARKER_H + 6 + row * side_gap
        look, kind = _look(spec, state, current)
        parts.append(_box(x, yy, spec.state_label(state), look, kind, dashed=True))
    height = y + MARKER_H + 6 + (-(-len(side) // PER_ROW)) * side_gap
    width = 10 + PER_ROW * (BOX_W + GAP_X) - GAP_X + 10
    title = escape(f"{spec.label}流程图")
    desc = escape(_description(spec, main, side, current))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        'aria-labelledby="diagram-title diagram-desc">'
        f'<title id="diagram-title">{title}</title><desc id="diagram-desc">{desc}</desc>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#888"/></marker>'
        "</defs>" + "".join(parts) + "</svg>"
    )
