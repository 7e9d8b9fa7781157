"""Reconvergence points: immediate post-dominators on the instruction-level CFG.

In:  a `KernelCode` (from the selector or the assembler: reconvergence is never read from text).
Out: `KernelCode.reconv[pc of every guarded bra] = pc` where the warp reconverges, the branch's
     immediate post-dominator; `len(instrs)` when the paths meet only at the virtual exit node
     that joins `ret`, `exit`, `trap` and falling off the end (lanes then reconverge by exiting).
     Instructions that cannot reach the exit (endless loops) post-dominate nothing and branch
     out of them reconverges at the exit.
"""
from __future__ import annotations

from .program import KernelCode

_EXITS = ("ret", "exit", "trap")


def successors(code: KernelCode) -> list[list[int]]:
    """Successor pcs of every instruction; len(instrs) is the virtual exit."""
    n = len(code.instrs)
    out: list[list[int]] = []
    for pc, ins in enumerate(code.instrs):
        guarded = ins.guard is not None
        if ins.op == "bra":
            tgt = code.labels[ins.operands[0].name]
            out.append(sorted({tgt, pc + 1}) if guarded else [tgt])
        elif ins.op in _EXITS:
            out.append(sorted({n, pc + 1}) if guarded else [n])
        else:
            out.append([pc + 1])
    return out


def postdominators(code: KernelCode) -> list[int]:
    """Immediate post-dominator of every pc (Cooper-Harvey-Kennedy on the reversed CFG);
    n = len(instrs) stands for the exit, and pcs that never reach it get n."""
    n = len(code.instrs)
    succ = successors(code)
    preds: list[list[int]] = [[] for _ in range(n + 1)]
    for pc, ss in enumerate(succ):
        for s in ss:
            preds[s].append(pc)
    order: list[int] = []                 # postorder of the reversed graph from the exit
    seen = {n}
    stack = [(n, iter(preds[n]))]
    while stack:
        node, it = stack[-1]
        nxt = next((p for p in it if p not in seen), None)
        if nxt is None:
            order.append(node)
            stack.pop()
        else:
            seen.add(nxt)
            stack.append((nxt, iter(preds[nxt])))
    index = {v: k for k, v in enumerate(order)}
    ipdom = {n: n}
    changed = True
    while changed:
        changed = False
        for v in reversed(order[:-1]):
            new = None
            for s in succ[v]:
                if s in ipdom:
                    new = s if new is None else _meet(s, new, ipdom, index)
            if new is not None and ipdom.get(v) != new:
                ipdom[v] = new
                changed = True
    return [ipdom.get(pc, n) for pc in range(n)]


def _meet(a: int, b: int, ipdom: dict[int, int], index: dict[int, int]) -> int:
    while a != b:
        while index[a] < index[b]:
            a = ipdom[a]
        while index[b] < index[a]:
            b = ipdom[b]
    return a


def place_reconvergence(code: KernelCode) -> None:
    """Fill code.reconv for every guarded branch."""
    ipdom = postdominators(code)
    code.reconv = {pc: ipdom[pc] for pc, ins in enumerate(code.instrs) if ins.op == "bra" and ins.guard is not None}
