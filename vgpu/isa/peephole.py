"""Branch clean-up on allocated code (after register allocation, before reconvergence).

In:  a `KernelCode` on physical registers, laid out block by block.
Out: the same code with jumps to jumps (and to a lone `ret`) threaded, `@p bra L1; bra L2; L1:`
     turned into `@!p bra L2`, branches to the next instruction and unreachable instructions
     removed, and the labels that are still used renamed $L1, $L2, ... in order.
"""
from __future__ import annotations

from .program import KernelCode, Label
from .regalloc import drop as drop_pcs
from .spec import TERMINATORS


def _thread(code: KernelCode) -> bool:
    """A branch to an unguarded branch goes to that one's target (until a cycle); an unguarded
    branch to `ret` becomes `ret`.  True if any changed."""
    changed = False
    instrs, labels = code.instrs, code.labels
    n = len(instrs)
    for ins in instrs:
        if ins.op != "bra":
            continue
        seen = None                             # the branches followed so far (a cycle stops it)
        while True:
            pc = labels[ins.operands[0].name]
            tgt = instrs[pc] if pc < n else None
            if tgt is None or tgt.guard is not None or (seen is not None and pc in seen):
                break
            if tgt.op == "bra" and tgt.operands[0] != ins.operands[0]:
                if seen is None:
                    seen = set()
                seen.add(pc)
                ins.operands = [tgt.operands[0]]
                changed = True
            elif tgt.op == "ret" and ins.guard is None:
                ins.op, ins.operands = "ret", []
                changed = True
                break
            else:
                break
    return changed


def _simplify(code: KernelCode) -> bool:
    """Invert guarded branches over an unconditional one, drop branches to the next pc, then
    unreachable code."""
    drop: set[int] = set()
    n = len(code.instrs)
    labelled = set(code.labels.values())
    for pc, ins in enumerate(code.instrs):
        if ins.op != "bra" or pc in drop:
            continue
        tgt = code.labels[ins.operands[0].name]
        nxt = code.instrs[pc + 1] if pc + 1 < n else None
        if tgt == pc + 1:
            drop.add(pc)
        elif (ins.guard is not None and tgt == pc + 2 and nxt is not None and nxt.op == "bra"
              and nxt.guard is None and pc + 1 not in labelled):
            ins.guard_neg = not ins.guard_neg
            ins.operands = nxt.operands
            drop.add(pc + 1)
    drop_pcs(code, drop)
    return bool(drop) | _unreachable(code)


def _unreachable(code: KernelCode) -> bool:
    """Delete the instructions no path from pc 0 reaches; True if any."""
    instrs, labels = code.instrs, code.labels
    n = len(instrs)
    seen = bytearray(n)
    work = [0] if n else []
    while work:                          # follow each straight run until it branches away or ends
        pc = work.pop()
        while pc < n and not seen[pc]:
            seen[pc] = 1
            ins = instrs[pc]
            op = ins.op
            if op == "bra":
                tgt = labels[ins.operands[0].name]
                if ins.guard is None:
                    pc = tgt
                    continue
                work.append(tgt)
            elif op in TERMINATORS:
                break
            pc += 1
    if seen.count(1) == n:
        return False
    drop_pcs(code, {pc for pc in range(n) if not seen[pc]})
    return True


def _rename_labels(code: KernelCode) -> None:
    used = {o.name for ins in code.instrs if ins.op == "bra" for o in ins.operands if isinstance(o, Label)}
    order = sorted((pc, name) for name, pc in code.labels.items() if name in used)
    names: dict[str, str] = {}
    first_at: dict[int, str] = {}
    for pc, name in order:                      # labels at one pc merge into one
        if pc not in first_at:
            first_at[pc] = f"$L{len(first_at) + 1}"
        names[name] = first_at[pc]
    code.labels = {new: pc for pc, new in first_at.items()}
    made = {new: Label(new) for new in first_at.values()}
    for ins in code.instrs:
        if ins.op == "bra":
            ins.operands = [made[names[o.name]] if isinstance(o, Label) else o for o in ins.operands]


def clean_branches(code: KernelCode) -> None:
    while _thread(code) | _simplify(code):
        pass
    _rename_labels(code)

