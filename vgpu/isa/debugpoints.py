"""Debug points on machine instructions, kept while the code is rewritten (vgpu.isa.debuginfo
turns them into the per-variable table).

In:  `Instr.dbg`: a list of (kind, var, location) where kind BEFORE says "from just before this
     instruction, on every path reaching it" and AFTER "from just after it, on its fall-through
     edge"; `var` indexes `KernelCode.debug_vars`; the location is a `Reg`, a `Mem`, an `Imm` or None
     (optimised out from here).
Out: the helpers selection, register allocation, spilling and branch clean-up use to keep the
     points true: when an instruction is deleted its points move to the next one (only as
     'optimised out' past a label, where other paths join), registers are renamed, spilled values
     move to their slots.
"""
from __future__ import annotations

from .program import Instr, KernelCode, Mem, Reg

BEFORE, AFTER = 0, 1
_BRANCHES = ("bra", "ret", "exit", "trap", "brkpt")


def attach(ins: Instr, kind: int, var: int, loc) -> None:
    """Add a debug point to an instruction."""
    if ins.dbg is None:
        ins.dbg = []
    ins.dbg.append((kind, var, loc))


def carried(ins: Instr) -> list:
    """The points of an instruction being deleted, as BEFORE points for the instruction after it
    (an AFTER point of a branch, on one edge only, becomes 'optimised out')."""
    br = ins.op in _BRANCHES
    return [(BEFORE, v, None if (k == AFTER and br) else loc) for k, v, loc in ins.dbg]


def land(pending: list, ins: Instr) -> None:
    """Put points carried from deleted instructions before `ins` (ahead of its own points)."""
    ins.dbg = pending + (ins.dbg or [])


def crossing_label(pending: list) -> list:
    """Points carried past a label apply on every path into it: only 'optimised out' is safe."""
    return [(BEFORE, v, None) for _, v, _ in pending]


def keep_live(code: KernelCode, lv, live_at: dict) -> None:
    """Before colouring's registers replace the virtual ones: a point naming a virtual register that is
    not live there (its value may already share a register with a later one) says 'optimised out'.
    `live_at`: pc -> the virtual registers (liveness numbers) live out of pc."""
    index = lv.index
    for pc, out in live_at.items():
        ins = code.instrs[pc]
        d, u, guarded = lv.du[pc]
        pts = ins.dbg
        for j, (k, var, loc) in enumerate(pts):
            if loc.__class__ is Reg and "~" in loc.name:
                n = index.get(loc.name)
                live = n is not None and out is not None and n in out
                if k == BEFORE and n is not None and not live:
                    live = n in u                      # read here
                elif k == BEFORE and live and not guarded and n in d:
                    live = n in u                      # written here: live before only if read too
                if not live:
                    pts[j] = (k, var, None)


def rename_points(pts: list, names: dict) -> list:
    """One instruction's points after colouring (None where the value got no register)."""
    return [(k, v, names.get(loc.name) if loc.__class__ is Reg and "~" in loc.name else loc) for k, v, loc in pts]


def spill_slot(code: KernelCode, v: Reg, slot: Mem) -> None:
    """A spilled virtual register lives in its slot."""
    for ins in code.instrs:
        if ins.dbg:
            ins.dbg = [(k, var, slot if loc == v else loc) for k, var, loc in ins.dbg]
