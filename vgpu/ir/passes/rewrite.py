"""Small helpers the passes share: value replacement in one sweep, use lists, phi edge edits, and
the rewrite loop of the folding, copy-propagation and CSE passes (`rewrite_forward`, `commit`).

In:  a Function and a map from old values to their replacements (chains allowed: a -> b -> c).
Out: the function edited in place.  Each helper is one linear walk, so passes stay O(n).
"""
from __future__ import annotations

from typing import Callable

from ..nodes import Block, Function, Instr, Value


def resolve(repl: dict[Value, Value], v: Value) -> Value:
    """Follow the replacement chain from v to its final value."""
    while v in repl:
        v = repl[v]
    return v


def replace_uses(fn: Function, repl: dict[Value, Value]) -> None:
    """Rewrite every operand of fn through `repl`, in one sweep."""
    if not repl:
        return
    old = repl.keys()
    for b in fn.blocks:
        for i in b.instrs:
            if not old.isdisjoint(i.args):
                i.args = [resolve(repl, a) for a in i.args]


def users(fn: Function) -> dict[Instr, list[Instr]]:
    """Every instruction whose value fn uses -> the instructions using it (once per use); `dbg`s
    are not uses (nor are constants and parameters keys)."""
    out: dict[Instr, list[Instr]] = {}
    for b in fn.blocks:
        for i in b.instrs:
            if i.op == "dbg":
                continue
            for a in i.args:
                if a.__class__ is Instr:
                    us = out.get(a)
                    if us is None:
                        out[a] = [i]
                    else:
                        us.append(i)
    return out


def drop_edge(src: Block, dst: Block) -> None:
    """Forget one CFG edge src -> dst in dst: its pred entry and the matching phi operands."""
    if src in dst.preds:
        dst.preds.remove(src)
    for phi in dst.phis:
        blocks = phi.attrs["blocks"]
        for k, b in enumerate(blocks):
            if b is src:
                del blocks[k]
                del phi.args[k]
                break


def retarget(term: Instr, old: Block, new: Block) -> None:
    """Point the terminator's edges to `old` at `new` (successor phis are the caller's business)."""
    term.attrs["targets"] = [new if t is old else t for t in term.attrs["targets"]]


def remove_instrs(fn: Function, dead: set[Instr]) -> None:
    """Delete the instructions in `dead` from their blocks."""
    if not dead:
        return
    for b in fn.blocks:
        if not dead.isdisjoint(b.instrs):
            b.instrs = [i for i in b.instrs if i not in dead]
    for i in dead:
        i.block = None


def commit(fn: Function, repl: dict[Value, Value]) -> bool:
    """Make the replacements: every use rewritten, the replaced instructions deleted; True if any."""
    replace_uses(fn, repl)
    remove_instrs(fn, set(repl))
    return bool(repl)


def rewrite_forward(fn: Function, find: Callable[[Instr, dict[Value, Value]], Value | None],
                    ops: frozenset[str]) -> bool:
    """One pass over fn's instructions in block order (reverse postorder, as optimize lays them out):
    each instruction's operands are first rewritten through the replacements found so far, then
    for an instruction whose op is in `ops`, `find(i, repl)` names the value i can be replaced by
    (None: keep it); then `commit`."""
    repl: dict[Value, Value] = {}
    old = repl.keys()
    for b in fn.blocks:
        for i in b.instrs:
            if repl and not old.isdisjoint(i.args):
                i.args = [resolve(repl, a) for a in i.args]
            if i.op in ops:
                v = find(i, repl)
                if v is not None:
                    repl[i] = v
    return commit(fn, repl)
