"""The per-source-line profile of a launch (`vgpuc profile`).

In:  a `LaunchResult` (its per-instruction records `pcs` and counters `stats`) and the `Program` it
     ran (for the source text).
Out: per (file, line): instructions executed (warp and thread), average active lanes, branches and
     divergent branches, global requests and sectors, shared requests, wavefronts and bank
     conflicts, local traffic; rendered as the annotated source (hottest lines marked, in colour on
     a terminal) or as JSON.
"""
from __future__ import annotations

import json

SUMMED = ("warps", "threads", "branches", "divergent", "global_requests", "global_sectors", "shared_requests",
          "shared_wavefronts", "shared_ideal", "local_requests", "local_sectors")
HOT, HOT_SHARE = 3, 0.05   # lines marked as hottest: at most 3, each with >= 5% of the warp instructions
RED, YELLOW, DIM, RESET = "\033[1;31m", "\033[33m", "\033[2m", "\033[0m"


def per_line(pcs: list[dict], main_file: str) -> dict[tuple[str, int], dict]:
    """(file, line) -> summed counters of the instructions that came from that line."""
    lines: dict[tuple[str, int], dict] = {}
    for rec in pcs:
        if rec["line"] is None:
            continue
        key = (rec["file"] or main_file, rec["line"])
        row = lines.setdefault(key, dict.fromkeys(SUMMED, 0))
        for name in SUMMED:
            row[name] += rec[name]
    for row in lines.values():
        derive(row)
    return lines


def derive(row: dict) -> None:
    """Add the ratios of a line's counters (None where the denominator is 0)."""
    def ratio(a, b):
        return row[a] / row[b] if row[b] else None
    row["active_lanes"] = ratio("threads", "warps")
    row["sectors_per_request"] = ratio("global_sectors", "global_requests")
    row["bank_conflicts"] = row["shared_wavefronts"] - row["shared_ideal"]
    row["bank_conflicts_per_request"] = ratio("bank_conflicts", "shared_requests")
    row["local_sectors_per_request"] = ratio("local_sectors", "local_requests")


def hottest(lines: dict, n: int = HOT) -> list:
    """The keys of the (at most n) lines with the most warp instructions, each with a share of at
    least HOT_SHARE of the kernel's."""
    total = sum(r["warps"] for r in lines.values())
    ranked = sorted((k for k, r in lines.items() if r["warps"] and r["warps"] >= HOT_SHARE * total),
                    key=lambda k: -lines[k]["warps"])
    return ranked[:n]


def source_lines(program, file: str) -> dict[int, str]:
    """line -> text of `file` (the program's own source, or header lines the assembler recorded)."""
    if file == program.filename and program.source is not None:
        return dict(enumerate(program.source.splitlines(), 1))
    return {ln: t for (f, ln), t in program.line_text.items() if f == file}


def to_json(result, program) -> str:
    lines = per_line(result.pcs, program.filename)
    texts = {f: source_lines(program, f) for f in {f for f, _ in lines}}
    doc = {"kernel": result.kernel, "file": program.filename, "grid": list(result.grid), "block": list(result.block),
           "shared": result.shared,
           "counters": result.stats.as_dict(),
           "hottest": [{"file": f, "line": ln} for f, ln in hottest(lines)],
           "lines": [{"file": f, "line": ln, "source": texts[f].get(ln, ""), **row}
                     for (f, ln), row in sorted(lines.items())],
           "instructions": result.pcs}
    return json.dumps(doc, indent=1)


def _fmt(x, spec: str) -> str:
    return "" if x is None else format(x, spec)


COLUMNS = (  # header, width, cell(row, the kernel's warp instructions)
    ("warp inst", 11, lambda r, total: f"{r['warps']:,}"),
    ("%", 5, lambda r, total: f"{100 * r['warps'] / total:.1f}"),
    ("thread inst", 13, lambda r, total: f"{r['threads']:,}"),
    ("lanes", 5, lambda r, total: _fmt(r["active_lanes"], ".1f")),
    ("div/br", 9, lambda r, total: f"{r['divergent']}/{r['branches']}" if r["branches"] else ""),
    ("sect/req", 8, lambda r, total: _fmt(r["sectors_per_request"], ".1f")),
    ("conf/req", 8, lambda r, total: _fmt(r["bank_conflicts_per_request"], ".1f")),
    ("local sect", 10, lambda r, total: f"{r['local_sectors']:,}" if r["local_requests"] else ""),
)


def render(result, program, color: bool = False) -> str:
    """The kernel's source with each line's counters; the hottest lines marked '>' (red on a tty)."""
    lines = per_line(result.pcs, program.filename)
    total = sum(r["warps"] for r in lines.values()) or 1
    hot = hottest(lines)
    main = program.filename
    mine = sorted(ln for f, ln in lines if f == main)
    cols = [c for c in COLUMNS if c[0] != "local sect" or any(r["local_requests"] for r in lines.values())]
    head = "  line  " + " ".join(f"{h:>{w}}" for h, w, _ in cols) + "  source"
    out = [f"profile of kernel {result.kernel} ({main}): grid {result.grid} block {result.block}", "", head]

    def row_text(key, text):
        r = lines.get(key)
        mark = ">" if key in hot else " "
        if r is None:
            cells = " ".join(" " * w for _, w, _ in cols)
        else:
            cells = " ".join(f"{fn(r, total):>{w}}" for _, w, fn in cols)
        label = f"{key[1]:>5}" if key[0] == main else f"{key[0]}:{key[1]}"
        s = f"{mark}{label:>5}  {cells}  {text}".rstrip()
        if color and r is not None:
            s = (RED if key in hot else "") + s + (RESET if key in hot else "")
        elif color:
            s = DIM + s + RESET
        return s

    if mine:
        texts = source_lines(program, main)
        for ln in range(mine[0], mine[-1] + 1):
            out.append(row_text((main, ln), texts.get(ln, "")))
    for f, ln in sorted(k for k in lines if k[0] != main):
        out.append(row_text((f, ln), source_lines(program, f).get(ln, "")))
    out += ["", "hottest lines: " + ", ".join(
        f"{ln if f == main else f'{f}:{ln}'} ({100 * lines[(f, ln)]['warps'] / total:.1f}% of warp instructions)"
        for f, ln in hot)]
    out.append("columns: warp/thread instructions executed; % of the kernel's warp instructions; lanes = average "
               "active lanes per warp instruction; div/br = divergent/executed branches; sect/req = global 32-byte "
               "sectors per request; conf/req = shared bank conflicts per request")
    return "\n".join(out)
