"""Dead-code elimination by marking: keep what has effects and what it (transitively) uses.

In:  a Function.  Out: pure instructions (OPS[op].pure, plus `local` slots) that nothing live uses
are deleted, including dead cycles of phis.  A `dbg` is kept but does not keep its value alive:
when the value goes, the dbg's operand becomes Undef (the variable is optimised out from there).
"""
from __future__ import annotations

from ..nodes import Function, Instr
from ..ops import OPS
from ..debug import undef_dbgs
from .rewrite import remove_instrs

REMOVABLE_IMPURE = ("local",)     # reserves a slot, has no other effect
_KEEP = frozenset(name for name, info in OPS.items() if not info.pure and name not in REMOVABLE_IMPURE)


def eliminate_dead_code(fn: Function) -> bool:
    """Delete instructions whose values nothing with an effect needs; True if anything was deleted."""
    live: set[Instr] = set()
    work = [i for b in fn.blocks for i in b.instrs if i.op in _KEEP]
    live.update(work)
    while work:
        i = work.pop()
        if i.op == "dbg":
            continue
        for a in i.args:
            if isinstance(a, Instr) and a not in live:
                live.add(a)
                work.append(a)
    dead = {i for b in fn.blocks for i in b.instrs if i not in live}
    if dead:
        undef_dbgs(fn, dead)
    remove_instrs(fn, dead)
    return bool(dead)
