"""A picture of one warp's divergence, as SVG (no dependency).

In:  the columns a `trace.Tracer` recorded for one warp: per executed instruction (time, pc,
     active mask, SIMT stack depth, live lanes, .vk line, instruction text); a title; the source
     text of a line (for the legend); how many columns a row holds before it wraps.
Out: an SVG document: x is the warp's executed instructions in order (the scheduler step under
     it), y the 32 lanes; a filled cell is an active lane, coloured by the .vk line of the
     instruction; grey cells are lanes that have exited.  Above each row of the grid the SIMT stack
     depth is drawn as a step line with a mark where an entry was pushed (a branch split the warp,
     v) or popped (paths reconverged, ^); below it, the .vk line where it changes (at most one label
     per LABEL_GAP columns, so labels never overlap); a legend maps colours to source lines.  A long
     warp wraps into rows of `per_row` columns stacked downwards, so the picture stays readable.
"""
from __future__ import annotations

from html import escape

CELL = 8                  # px per lane and per column
LEFT, TOP, DEPTH_ROW = 56, 40, 10
PER_ROW = 200             # columns per row before the picture wraps
LABEL_GAP = 2             # columns between two line labels at least (labels are 8 px tall, rotated)
AXIS = 50                 # px under a row's grid: line labels and the step range
KEY = "grey: exited lanes; red v: a stack push (the warp split); blue ^: a pop (paths reconverged)"
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#8cd17d", "#499894", "#d37295", "#a0cbe8", "#ffbe7d", "#86bcb6", "#f1ce63")


def _rows(columns, per_row: int) -> list[list]:
    return [columns[i:i + per_row] for i in range(0, len(columns), per_row)] or [[]]


def _band(columns) -> int:
    """Height in px of one row: stack depth, lane grid, axis."""
    depth = max((c[3] for c in columns), default=0)
    return (depth + 1) * DEPTH_ROW + 12 + 32 * CELL + AXIS


def size(columns, min_width: int = 0, per_row: int = PER_ROW) -> tuple[int, int]:
    """(width, height) in px of the picture of `columns` (at least `min_width` wide)."""
    lines = {c[5] for c in columns if c[5] is not None}
    rows = _rows(columns, per_row)
    height = TOP + len(rows) * _band(columns) + 16 * (len(lines) + 1) + 12
    return max(LEFT + max(min(len(columns), per_row), 1) * CELL + 24, min_width), height


def render(columns, title: str, source=lambda line: None, per_row: int = PER_ROW) -> str:
    """The SVG text (see the module docstring)."""
    lines = sorted({c[5] for c in columns if c[5] is not None})
    texts = [title, KEY] + [f"line {ln}: {(source(ln) or '').strip()[:100]}" for ln in lines]
    width, height = size(columns, LEFT + 14 + 7 * max(map(len, texts)), per_row)
    colour = {ln: PALETTE[i % len(PALETTE)] for i, ln in enumerate(lines)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="10">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="4" y="16" font-size="12">{escape(title)}</text>']
    depth = max((c[3] for c in columns), default=0)
    band = _band(columns)
    previous = None                            # the column before a row: its stack depth continues
    for r, row in enumerate(_rows(columns, per_row)):
        top = TOP + r * band
        out += _row(row, top, depth, colour, previous)
        previous = row[-1] if row else None
    y = TOP + len(_rows(columns, per_row)) * band + 4
    for ln in lines:
        text = source(ln) or ""
        out.append(f'<rect x="{LEFT}" y="{y - 8}" width="{CELL}" height="{CELL}" fill="{colour[ln]}"/>')
        out.append(f'<text x="{LEFT + 14}" y="{y}">line {ln}: {escape(text.strip()[:100])}</text>')
        y += 16
    out.append(f'<text x="{LEFT}" y="{y}">{KEY}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _row(columns, top: int, depth: int, colour: dict, previous) -> list[str]:
    """One row of the picture: stack depth, lane grid and axis, from y = top."""
    grid_top = top + (depth + 1) * DEPTH_ROW + 12
    out = [f'<text x="4" y="{top + 8}">stack</text>',
           f'<rect x="{LEFT}" y="{grid_top}" width="{len(columns) * CELL}" height="{32 * CELL}" '
           'fill="#ffffff" stroke="#999999" stroke-width="0.5"/>']
    for lane in range(0, 32, 4):
        out.append(f'<text x="4" y="{grid_top + lane * CELL + CELL - 1}">lane {lane}</text>')
    out += _depth(columns, top, depth, previous)
    for i, (_, _, mask, _, alive, line, _) in enumerate(columns):
        x = LEFT + i * CELL
        fill = colour.get(line, "#333333")
        for lane in range(32):
            y = grid_top + lane * CELL
            if mask >> lane & 1:
                out.append(f'<rect class="on" x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{fill}" '
                           'stroke="white" stroke-width="0.5"/>')
            elif not alive >> lane & 1:
                out.append(f'<rect class="exited" x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="#dddddd"/>')
    axis = grid_top + 32 * CELL
    last, at = object(), -LABEL_GAP
    for i, c in enumerate(columns):
        if c[5] != last and i - at >= LABEL_GAP:
            x = LEFT + i * CELL + CELL - 2
            out.append(f'<text x="{x}" y="{axis + 4}" font-size="8" transform="rotate(90 {x} {axis + 4})">'
                       f'{c[5] if c[5] is not None else "-"}</text>')
            last, at = c[5], i
    out.append(f'<text x="4" y="{axis + 12}">.vk line</text>')
    if columns:
        out.append(f'<text x="{LEFT}" y="{axis + 36}">step {columns[0][0]} .. {columns[-1][0]} '
                   f'({len(columns)} instructions of this warp)</text>')
    return out


def _depth(columns, top: int, depth: int, previous) -> list[str]:
    """The stack-depth step line and the push/pop marks above a row of the grid."""
    out = []
    base = top + depth * DEPTH_ROW + 4
    pts = []
    prev = previous[3] if previous is not None else None
    for i, c in enumerate(columns):
        x0, x1 = LEFT + i * CELL, LEFT + (i + 1) * CELL
        y = base - c[3] * DEPTH_ROW
        pts += [f"{x0},{y}", f"{x1},{y}"]
        if prev is not None and c[3] != prev:
            cx = x0
            if c[3] > prev:
                out.append(f'<polygon class="push" points="{cx - 3},{y - 6} {cx + 3},{y - 6} {cx},{y - 1}" '
                           'fill="#d62728"/>')
            else:
                out.append(f'<polygon class="pop" points="{cx - 3},{y + 6} {cx + 3},{y + 6} {cx},{y + 1}" '
                           'fill="#1f77b4"/>')
        prev = c[3]
    if pts:
        out.insert(0, f'<polyline points="{" ".join(pts)}" fill="none" stroke="#555555" stroke-width="1"/>')
    return out
