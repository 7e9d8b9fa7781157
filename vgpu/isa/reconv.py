"""Reconvergence points: immediate post-dominators on the instruction-level CFG.

In:  a `KernelCode` (from the selector or the assembler: reconvergence is never read from text).
Out: `KernelCode.reconv[pc of every guarded bra] = pc` where the warp reconverges, the branch's
     immediate post-dominator; `len(instrs)` when the paths meet only at the virtual exit node
     that joins `ret`, `exit`, `trap` and falling off the end (lanes then reconverge by exiting).
     Instructions that cannot reach the exit (endless loops) post-dominate nothing and branch
     out of them reconverges at the exit.
"""
from __future__ import annotations

from ..ir.cfg import depth_first_postorder, numbered_idoms
from .program import KernelCode
from .spec import TERMINATORS


def successors(code: KernelCode) -> list[list[int]]:
    """Successor pcs of every instruction; len(instrs) is the virtual exit."""
    out = [[pc + 1] for pc in range(len(code.instrs))]
    for pc, ss in branch_successors(code).items():
        out[pc] = ss
    return out


def branch_successors(code: KernelCode) -> dict[int, list[int]]:
    """Successor pcs of the instructions that branch or leave (`bra`, the terminators), by pc;
    every other instruction's only successor is the next one.  len(instrs) is the virtual exit."""
    n = len(code.instrs)
    labels = code.labels
    out: dict[int, list[int]] = {}
    for pc, ins in enumerate(code.instrs):
        op = ins.op
        if op == "bra":
            tgt = labels[ins.operands[0].name]
        elif op in TERMINATORS:
            tgt = n
        else:
            continue
        if ins.guard is None:
            out[pc] = [tgt]
        else:                                   # both ways, in increasing order, once each
            nxt = pc + 1
            out[pc] = [tgt] if tgt == nxt else [tgt, nxt] if tgt < nxt else [nxt, tgt]
    return out


def postdominators(code: KernelCode) -> list[int]:
    """Immediate post-dominator of every pc (dominators of the reversed CFG, rooted at the exit);
    n = len(instrs) stands for the exit, and pcs that never reach it get n."""
    n = len(code.instrs)
    succ = successors(code)
    preds: list[list[int]] = [[] for _ in range(n + 1)]
    for pc, ss in enumerate(succ):
        for s in ss:
            preds[s].append(pc)
    order = depth_first_postorder(n, preds.__getitem__)[::-1]     # of the reversed CFG, from the exit
    number = [-1] * (n + 1)
    for k, pc in enumerate(order):
        number[pc] = k
    rpreds: list[list[int]] = [[]]                 # predecessors in the reversed CFG: successors
    for pc in order[1:]:
        rpreds.append([number[s] for s in succ[pc] if number[s] >= 0])
    idom = numbered_idoms(rpreds)
    return [order[idom[number[pc]]] if number[pc] >= 0 else n for pc in range(n)]


def place_reconvergence(code: KernelCode) -> None:
    """Fill code.reconv for every guarded branch."""
    ipdom = postdominators(code)
    code.reconv = {pc: ipdom[pc] for pc, ins in enumerate(code.instrs) if ins.op == "bra" and ins.guard is not None}
