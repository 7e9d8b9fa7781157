"""Control-flow simplification.

In:  a Function.  Out: the same computation on a smaller CFG: branches on constants (or to one
block twice) become jumps; unreachable blocks are gone; a block whose only predecessor jumps
only to it is merged into that predecessor; blocks holding nothing but a jump are bypassed.
Preds and phis stay consistent; the entry block stays first and without predecessors.
`order_blocks` lays blocks out in reverse postorder, then-branches before else-branches.
"""
from __future__ import annotations

from ..cfg import postorder, remove_unreachable
from ..nodes import Block, Const, Function, Instr, Value
from ..debug import kill_at
from .rewrite import drop_edge, replace_uses, retarget


def simplify_cfg(fn: Function) -> bool:
    """Fold constant branches, drop unreachable blocks, merge and bypass blocks; True if changed."""
    changed = fold_branches(fn)
    if changed:
        remove_unreachable(fn)
    changed |= bypass_empty_blocks(fn)
    changed |= merge_blocks(fn)
    return changed


def fold_branches(fn: Function) -> bool:
    """br on a constant, or to the same block twice, becomes jmp."""
    changed = False
    for b in fn.blocks:
        t = b.terminator
        if t is None or t.op != "br":
            continue
        then, other = t.targets
        if isinstance(t.args[0], Const) or then is other:
            keep = then if (then is other or t.args[0].value) else other
            drop = other if keep is then else then
            drop_edge(b, drop)
            b.instrs[-1] = Instr("jmp", None, [], {"targets": [keep]}, t.span, b)
            changed = True
    return changed


def bypass_empty_blocks(fn: Function) -> bool:
    """Send the predecessors of a block that only jumps on to its target directly."""
    changed = False
    for e in _targets_first(fn):
        if not _only_jumps(e) or not e.preds:
            continue
        s = e.instrs[-1].targets[0]
        if s is e or (s.phis and any(p in s.preds for p in e.preds)):
            continue
        for phi in s.phis:
            k = next(k for k, b in enumerate(phi.attrs["blocks"]) if b is e)
            v = phi.args[k]
            phi.args[k:k + 1] = [v] * len(e.preds)
            phi.attrs["blocks"][k:k + 1] = list(e.preds)
        s.preds.remove(e)
        if len(e.instrs) > 1:            # its variables' values would be lost: optimised out in s
            kill_at(s, e.instrs[:-1])
        for p in dict.fromkeys(e.preds):
            _redirect(p, e, s)
        e.preds = []
        changed = True
    if changed:
        remove_unreachable(fn)
    return changed


def _targets_first(fn: Function) -> list[Block]:
    """The blocks holding only a jump, each after the chain of such blocks it jumps along: bypassing
    the far end first moves every predecessor once (nested ifs end in a chain of n such blocks;
    bypassing the near end first would move the whole chain's predecessors n times)."""
    empty = {e for e in fn.blocks[1:] if _only_jumps(e)}
    seen: set[Block] = set()
    order: list[Block] = []
    for e in fn.blocks[1:]:
        chain = []
        while e in empty and e not in seen:
            seen.add(e)
            chain.append(e)
            e = e.instrs[-1].targets[0]
        order += reversed(chain)
    return order


def _only_jumps(e: Block) -> bool:
    """The block holds a jump and nothing else but debug information."""
    ins = e.instrs
    return bool(ins) and ins[-1].op == "jmp" and (len(ins) == 1 or all(i.op == "dbg" for i in ins[:-1]))


def _redirect(p: Block, e: Block, s: Block) -> None:
    """Make p's edges to e go to s, keeping s.preds exact; `br c, s, s` becomes `jmp s`."""
    t = p.terminator
    n_e, had = t.targets.count(e), t.targets.count(s)
    retarget(t, e, s)
    if t.op == "br" and t.targets[0] is t.targets[1]:
        p.instrs[-1] = Instr("jmp", None, [], {"targets": [s]}, t.span, p)
        s.preds += [p] * (1 - had)
    else:
        s.preds += [p] * n_e


def merge_blocks(fn: Function) -> bool:
    """Append each block to its only predecessor when that predecessor jumps only to it."""
    repl: dict[Value, Value] = {}
    gone: set[Block] = set()
    for b in fn.blocks[1:]:
        if len(b.preds) != 1:
            continue
        p = b.preds[0]
        if p is b or p.terminator.op != "jmp":
            continue
        for phi in b.phis:
            repl[phi] = phi.args[0]
        body = b.instrs[len(b.phis):]
        p.instrs.pop()
        for i in body:
            i.block = p
        p.instrs += body
        for s in b.succs:
            s.preds = [p if x is b else x for x in s.preds]
            for phi in s.phis:
                phi.attrs["blocks"] = [p if x is b else x for x in phi.attrs["blocks"]]
        b.instrs, b.preds = [], []
        gone.add(b)
    fn.blocks = [b for b in fn.blocks if b not in gone]
    replace_uses(fn, repl)
    return bool(gone)


def order_blocks(fn: Function) -> None:
    """Lay the blocks out in reverse postorder (successors visited else-first, so `then` comes first)."""
    fn.blocks = postorder(fn, last_first=True)[::-1]
