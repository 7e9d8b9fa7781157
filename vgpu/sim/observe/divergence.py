"""A picture of one warp's divergence, as SVG (no dependency).

In:  the columns a `trace.Tracer` recorded for one warp: per executed instruction (time, pc,
     active mask, SIMT stack depth, live lanes, .vk line, instruction text); a title; the source
     text of a line (for the legend).
Out: an SVG document: x is the warp's executed instructions in order (the scheduler step under
     it), y the 32 lanes; a filled cell is an active lane, coloured by the .vk line of the
     instruction; grey cells are lanes that have exited.  Above the grid the SIMT stack depth is
     drawn as a step line with a mark where an entry was pushed (a branch split the warp, v) or
     popped (paths reconverged, ^); below it, the .vk line where it changes; a legend maps
     colours to source lines.
"""
from __future__ import annotations

from html import escape

CELL = 8                  # px per lane and per column
LEFT, TOP, DEPTH_ROW = 56, 40, 10
KEY = "grey: exited lanes; red v: a stack push (the warp split); blue ^: a pop (paths reconverged)"
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#8cd17d", "#499894", "#d37295", "#a0cbe8", "#ffbe7d", "#86bcb6", "#f1ce63")


def _layout(columns) -> tuple[list, int, int]:
    """The .vk lines drawn (sorted), the deepest SIMT stack, and the y of the lane grid's top."""
    lines = sorted({c[5] for c in columns if c[5] is not None})
    depth = max((c[3] for c in columns), default=0)
    return lines, depth, TOP + (depth + 1) * DEPTH_ROW + 12


def size(columns, min_width: int = 0) -> tuple[int, int]:
    """(width, height) in px of the picture of `columns` (at least `min_width` wide)."""
    lines, _, grid_top = _layout(columns)
    height = grid_top + 32 * CELL + 40 + 16 * (len(lines) + 1) + 8
    return max(LEFT + max(len(columns), 1) * CELL + 24, min_width), height


def render(columns, title: str, source=lambda line: None) -> str:
    """The SVG text (see the module docstring)."""
    lines, depth, grid_top = _layout(columns)
    texts = [title, KEY] + [f"line {ln}: {(source(ln) or '').strip()[:100]}" for ln in lines]
    width, height = size(columns, LEFT + 14 + 7 * max(map(len, texts)))
    colour = {ln: PALETTE[i % len(PALETTE)] for i, ln in enumerate(lines)}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="10">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="4" y="16" font-size="12">{escape(title)}</text>',
           f'<text x="4" y="{TOP + 8}">stack</text>',
           f'<rect x="{LEFT}" y="{grid_top}" width="{len(columns) * CELL}" height="{32 * CELL}" '
           'fill="#ffffff" stroke="#999999" stroke-width="0.5"/>']
    for lane in range(0, 32, 4):
        out.append(f'<text x="4" y="{grid_top + lane * CELL + CELL - 1}">lane {lane}</text>')
    out += _depth(columns, TOP, depth)
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
    last = object()
    for i, c in enumerate(columns):
        x = LEFT + i * CELL + CELL - 2
        if c[5] != last:
            out.append(f'<text x="{x}" y="{axis + 4}" font-size="8" transform="rotate(90 {x} {axis + 4})">'
                       f'{c[5] if c[5] is not None else "-"}</text>')
            last = c[5]
    out.append(f'<text x="4" y="{axis + 12}">.vk line</text>')
    if columns:
        out.append(f'<text x="{LEFT}" y="{axis + 36}">step {columns[0][0]} .. {columns[-1][0]} '
                   f'({len(columns)} instructions of this warp)</text>')
    y = axis + 54
    for ln in lines:
        text = source(ln) or ""
        out.append(f'<rect x="{LEFT}" y="{y - 8}" width="{CELL}" height="{CELL}" fill="{colour[ln]}"/>')
        out.append(f'<text x="{LEFT + 14}" y="{y}">line {ln}: {escape(text.strip()[:100])}</text>')
        y += 16
    out.append(f'<text x="{LEFT}" y="{y}">{KEY}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _depth(columns, top: int, depth: int) -> list[str]:
    """The stack-depth step line and the push/pop marks above the grid."""
    out = []
    base = top + depth * DEPTH_ROW + 4
    pts = []
    prev = None
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
