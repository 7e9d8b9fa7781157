"""Control-flow graph queries on an IR Function: orders, reachability, dominators.

In:  a Function whose blocks end in terminators (attrs['targets'] name the successors).
Out: block orders and dominator maps; `remove_unreachable` edits the function in place.
"""
from __future__ import annotations

from .nodes import Block, Function
from .ops import OPS


def postorder(fn: Function) -> list[Block]:
    """Blocks reachable from the entry, in depth-first postorder."""
    seen: set[Block] = set()
    out: list[Block] = []
    stack: list[tuple[Block, int]] = [(fn.entry, 0)] if fn.blocks else []
    seen.update(b for b, _ in stack)
    while stack:
        b, k = stack.pop()
        last = b.instrs[-1] if b.instrs else None
        succs = last.attrs.get("targets", ()) if last is not None and OPS[last.op].terminator else ()
        if k < len(succs):
            stack.append((b, k + 1))
            s = succs[k]
            if s not in seen:
                seen.add(s)
                stack.append((s, 0))
        else:
            out.append(b)
    return out


def reverse_postorder(fn: Function) -> list[Block]:
    return postorder(fn)[::-1]


def remove_unreachable(fn: Function) -> None:
    """Drop blocks not reachable from the entry, and their phi operands in the blocks that remain."""
    live = set(postorder(fn))
    fn.blocks = [b for b in fn.blocks if b in live]
    for b in fn.blocks:
        b.preds = [p for p in b.preds if p in live]
        for phi in b.phis:
            keep = [k for k, p in enumerate(phi.attrs["blocks"]) if p in live]
            phi.args = [phi.args[k] for k in keep]
            phi.attrs["blocks"] = [phi.attrs["blocks"][k] for k in keep]


def dominators(fn: Function) -> dict[Block, Block | None]:
    """Immediate dominator of every reachable block (Cooper, Harvey, Kennedy); the entry maps to None."""
    order = reverse_postorder(fn)
    index = {b: k for k, b in enumerate(order)}
    idom: dict[Block, Block | None] = {order[0]: order[0]} if order else {}

    def meet(a: Block, b: Block) -> Block:
        while a is not b:
            while index[a] > index[b]:
                a = idom[a]
            while index[b] > index[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for b in order[1:]:
            new = None
            for p in b.preds:
                if p in idom:
                    new = p if new is None else meet(p, new)
            if new is not None and idom.get(b) is not new:
                idom[b] = new
                changed = True
    if order:
        idom[order[0]] = None
    return idom


def dominates(idom: dict[Block, Block | None], a: Block, b: Block) -> bool:
    """True if block a dominates block b (every block dominates itself)."""
    while b is not None:
        if b is a:
            return True
        b = idom.get(b)
    return False
