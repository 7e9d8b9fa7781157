"""Debug information on machine code: where each source variable lives at each pc.

In:  the selector's debug points, carried on instructions through register allocation, spilling
     and branch clean-up: `Instr.dbg`, a list of (kind, var, location) where kind BEFORE says "from
     just before this instruction, on every path reaching it" and AFTER "from just after it, on its
     fall-through edge"; `var` indexes `KernelCode.debug_vars` (`vgpu.ir.debug.DebugVar`s); the
     location is a `Reg`, a `Mem` (a spill slot `[__spill+8]`, a local array `[__local_a]`, a kernel
     parameter `[n]`), an `Imm` (a constant) or None (optimised out from here).
Out: `table(code)`: per variable, (var, first pc, end pc exclusive, location) ranges, computed
     once (cached on the code) by a forward dataflow over the final code, like LLVM's
     LiveDebugValues: a point sets a variable's location; an instruction that writes a register
     (or a spill slot) ends every variable located there; at a join a variable keeps its location
     only where every incoming path agrees.  So a variable is never shown from a register that
     holds something else: where no location is certain it is optimised out.
     `scope_of`, `location_at` answer the debugger; `format_table` is what `--debug-info` prints.
"""
from __future__ import annotations

from bisect import bisect_right

from .debugpoints import AFTER, BEFORE
from .operands import format_imm, format_operand
from .program import Imm, Instr, KernelCode, Mem, Sym
from .reconv import successors
from .regalloc import defs_uses


def _written(ins: Instr) -> list:
    """Locations an instruction overwrites: its destination registers; a spill slot it stores to."""
    if ins.op == "st":
        m = ins.operands[0]
        return [m] if isinstance(m, Mem) and isinstance(m.base, Sym) and m.base.name == "__spill" else []
    return defs_uses(ins)[0]


def table(code: KernelCode) -> list[tuple[int, int, int, object]]:
    """(var, first pc, end pc, location) for every variable (see the module docstring), sorted."""
    if code.debug_ranges is not None:
        return code.debug_ranges
    instrs = code.instrs
    n = len(instrs)
    succ = successors(code)
    preds: list[list[int]] = [[] for _ in range(n + 1)]
    for pc, ss in enumerate(succ):
        for s in ss:
            preds[s].append(pc)
    leaders = sorted({0} | {s for pc, ss in enumerate(succ) if ss != [pc + 1] for s in ss if s < n}
                     | {pc + 1 for pc, ss in enumerate(succ) if ss != [pc + 1] and pc + 1 < n}
                     | {pc for pc in range(n) if len(preds[pc]) != 1}) if n else []
    ends = leaders[1:] + [n]
    block_of = {a: k for k, a in enumerate(leaders)}
    writes = [_written(ins) for ins in instrs]
    out_state: list[dict | None] = [None] * len(leaders)   # state on the edge to pc end (fall-through)
    jump_state: list[dict | None] = [None] * len(leaders)  # state on the branch edge

    def apply(pts, when: int, state: dict) -> None:
        for kind, v, loc in pts:
            if kind == when:
                if loc is None:
                    state.pop(v, None)
                else:
                    state[v] = loc

    def run(k: int, state: dict, record=None) -> None:
        for pc in range(leaders[k], ends[k]):
            pts = instrs[pc].dbg
            if pts:
                apply(pts, BEFORE, state)
            if record is not None:
                record(pc, state)
            for w in writes[pc]:
                for v in [v for v, loc in state.items() if loc == w]:
                    del state[v]
            jump_state[k] = dict(state)
            if pts:
                apply(pts, AFTER, state)
        out_state[k] = state

    def entry_state(k: int) -> dict | None:
        a = leaders[k]
        if a == 0 and not preds[0]:
            return {}
        got = None
        for p in preds[a]:                             # p ends its block (a is a leader)
            pk = _block_containing(leaders, p)
            s = out_state[pk] if p + 1 == a else jump_state[pk]
            if s is None:
                continue
            got = dict(s) if got is None else {v: loc for v, loc in got.items() if s.get(v) == loc}
        return got if got is not None else ({} if a == 0 else None)

    work = list(range(len(leaders)))[::-1]
    queued = set(work)
    seen_in: list[dict | None] = [None] * len(leaders)
    while work:
        k = work.pop()
        queued.discard(k)
        st = entry_state(k)
        if st is None or st == seen_in[k]:
            continue
        seen_in[k] = dict(st)
        run(k, st)
        for s in succ[ends[k] - 1]:
            if s < n:
                j = block_of[s]
                if j not in queued:
                    queued.add(j)
                    work.append(j)
    open_: dict[int, tuple[int, object]] = {}
    ranges: list[tuple[int, int, int, object]] = []

    def record(pc: int, state: dict) -> None:
        for v in [v for v in open_ if state.get(v) != open_[v][1]]:
            start, loc = open_.pop(v)
            ranges.append((v, start, pc, loc))
        for v, loc in state.items():
            if v not in open_:
                open_[v] = (pc, loc)

    for k in range(len(leaders)):
        if seen_in[k] is None:
            continue
        run(k, dict(seen_in[k]), record)
        for v, (start, loc) in open_.items():
            ranges.append((v, start, ends[k], loc))
        open_.clear()
    ranges.sort(key=lambda r: (r[0], r[1]))
    merged: list[tuple[int, int, int, object]] = []
    for r in ranges:                                 # adjacent ranges of one location join
        if merged and merged[-1][0] == r[0] and merged[-1][2] == r[1] and merged[-1][3] == r[3]:
            merged[-1] = (r[0], merged[-1][1], r[2], r[3])
        else:
            merged.append(r)
    code.debug_ranges = merged
    return merged


def _block_containing(leaders: list[int], pc: int) -> int:
    return bisect_right(leaders, pc) - 1


def strip_points(code: KernelCode) -> None:
    """Drop the per-instruction points once the table is built (the table is what is kept)."""
    for ins in code.instrs:
        if ins.dbg is not None:
            ins.dbg = None


def in_scope(code: KernelCode, var: int, file: str | None, line: int | None) -> bool:
    """Whether variable `var` is visible at a source line (its declaration to its block's end, in
    its own file: an inlined function's variables at the lines of that function)."""
    d = code.debug_vars[var]
    return line is not None and (file is None or file == d.file) and d.first <= line <= d.last


def visible(code: KernelCode, pc: int) -> dict[str, int]:
    """The variables visible at pc, by name: where names repeat (shadowing), the innermost scope
    (the one declared last among those whose scope holds the line); among entries of one scope
    (a Python variable that changed type), the one with a location at pc."""
    if not code.debug_vars or not 0 <= pc < len(code.instrs):
        return {}
    ins = code.instrs[pc]
    file = ins.file or code.source_file
    located = {v for v, a, b, _ in table(code) if a <= pc < b}
    out: dict[str, tuple] = {}
    for k, d in enumerate(code.debug_vars):
        if in_scope(code, k, file, ins.line):
            key = (d.first, d.last * -1, k in located, k)
            if d.name not in out or key > out[d.name]:
                out[d.name] = key
    return {name: key[-1] for name, key in out.items()}


def location_at(code: KernelCode, var: int, pc: int):
    """The location of variable `var` when a warp is about to run pc; None: optimised out."""
    for v, a, b, loc in table(code):
        if v == var and a <= pc < b:
            return loc
    return None


def format_location(loc) -> str:
    if isinstance(loc, Imm):
        return format_imm(loc.value, None if isinstance(loc.value, float) else "s64")
    if isinstance(loc, Mem):
        return format_operand(loc, "u64")
    return str(loc)


def directives(code: KernelCode) -> list[str]:
    """The `.var` directives of a kernel (docs/isa.md): name, value type, declared type, scope
    (file, first and last line, function), then `start end location` per range."""
    rows: dict[int, list[str]] = {}
    for v, a, b, loc in table(code):
        rows.setdefault(v, []).append(f"{a} {b} {format_location(loc)}")
    out = []
    for k, d in enumerate(code.debug_vars):
        locs = ", ".join(rows.get(k, []))
        out.append(f'.var {d.name} .{d.scalar} "{d.ctype}" "{d.file}" {d.first} {d.last} "{d.func}"'
                   + (f" : {locs}" if locs else "") + ";")
    return out


def format_table(code: KernelCode) -> str:
    """A readable table: each variable, its scope and where it lives over which pcs."""
    rows = [f"// {code.name}: variable locations (from the compiler's debug information)"]
    by_var: dict[int, list] = {}
    for v, a, b, loc in table(code):
        by_var.setdefault(v, []).append(f"pc {a}..{b - 1} {format_location(loc)}")
    for k, d in enumerate(code.debug_vars):
        where = "; ".join(by_var.get(k, [])) or "optimised out"
        rows.append(f"//   {d.name:<10} {d.ctype:<12} lines {d.first}-{d.last} ({d.func})  {where}")
    return "\n".join(rows)
