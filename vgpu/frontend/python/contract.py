"""Floating-point contraction of Python kernels: `a*b + c` becomes one `fma` where NVVM fuses it.

numba-cuda compiles with NVVM's default `-fma=1`, and NVPTX's DAG combine (PerformADDCombine) fuses an
fmul into an fadd that uses it when every user of the fmul is an fadd and there are fewer than five of
them; the left operand of the fadd is tried first, then the right.  fsub is not contracted, except that
LLVM first rewrites `x - C` to `x + (-C)` and `x - y*C` to `x + y*(-C)`; a multiply with any other user
(a store, a negation, a comparison, a phi) stays a multiply.  Observed with numba-cuda 0.30 and libNVVM
13.0 (`cuda.compile_ptx`; tests/test_python_nvvm.py compares the fma counts of tests/nvvm/probes.py),
including a multiply used only in one later block (LLVM sinks it next to its add first).

In:  an optimised `ir.Function`.  Out: the same function with those adds rewritten to `fma`.
`.vk` kernels keep C's `-fmad=false` semantics: this pass runs for Python kernels only.
"""
from __future__ import annotations

from ...ir import nodes as ir
from ...ir.debug import undef_dbgs


def contract(fn: ir.Function) -> int:
    """Rewrite eligible float adds to fma in place; return how many."""
    users: dict[ir.Instr, list[ir.Instr]] = {}
    for i in fn.instructions():
        if i.op == "dbg":                    # debug information is not a use
            continue
        for a in i.args:
            if isinstance(a, ir.Instr):
                users.setdefault(a, []).append(i)

    def fusable(m, add) -> bool:
        if not (isinstance(m, ir.Instr) and m.op == "mul" and m.type == add.type) or m.attrs.get("nofuse"):
            return False
        us = users.get(m, [])
        if not us or len(us) >= 5:
            return False
        blocks = {u.block for u in us}
        return all(u.op == "add" and u.type is not None and u.type.is_float and not u.attrs.get("nofuse")
                   for u in us) and len(blocks) == 1

    _canonicalise_subs(fn, users)
    plan = []                                # decided on the original graph, then rewritten
    for i in fn.instructions():
        if i.op != "add" or i.type is None or not i.type.is_float or i.type.bits == 16:
            continue                         # float16: numba-cuda's __hadd/__hmul are inline asm, never fused
        x, y = i.args
        for m, c in ((x, y), (y, x)):
            if fusable(m, i):
                plan.append((i, m, c))
                break
    for i, m, c in plan:
        i.op = "fma"
        i.args = [m.args[0], m.args[1], c]
    if plan:
        used = {a for i in fn.instructions() if i.op != "dbg" for a in i.args}
        fused = {m for _, m, _ in plan}
        undef_dbgs(fn, fused - used)
        for b in fn.blocks:
            b.instrs = [i for i in b.instrs if i not in fused or i in used]
    return len(plan)


def _canonicalise_subs(fn: ir.Function, users: dict) -> None:
    """LLVM's instcombine before the fusion: x - C becomes x + (-C), and x - y*C (the product used only
    there) becomes x + y*(-C); both are exact rewrites, after which the add may fuse."""
    for i in fn.instructions():
        if i.op != "sub" or i.type is None or not i.type.is_float or i.attrs.get("nofuse"):
            continue
        x, y = i.args
        if isinstance(y, ir.Const):
            if y.value != 0.0:
                i.op, i.args = "add", [x, ir.Const(y.type, -y.value)]
            continue
        if isinstance(y, ir.Instr) and y.op == "mul" and y.type == i.type and users.get(y) == [i]:
            a, c = y.args
            if isinstance(a, ir.Const):
                a, c = c, a
            if isinstance(c, ir.Const):
                undef_dbgs(fn, {y})          # y changes its value: a variable holding it is optimised out
                y.args = [a, ir.Const(c.type, -c.value)]
                i.op, i.args = "add", [x, y]
