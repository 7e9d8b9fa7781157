"""libdevice's multi-word integer inline PTX (Payne-Hanek argument reduction of sin/cos/tan), computed
exactly in vgpu IR.

In:  the asm text as the port stored it (statements separated by `\\0A\\09`), the number of outputs,
     the input values (i32 or i64) and their types.
Out: the outputs, in order: carry-chained 32-bit multiply-adds (mad.lo/hi.cc.u32, madc.*, mul.lo/hi.u32,
     add.cc/addc, sub.cc/subc) on 32-bit halves of 64-bit operands (mov.b64 {lo,hi}, $n and back), each
     statement evaluated as PTX defines it (the carry flag is a 0/1 value carried from one to the next).
"""
from __future__ import annotations

import re

from .. import types as T
from ..ir import nodes as ir

_U64 = T.U64
_MASK = ir.Const(_U64, 0xFFFFFFFF)


def handles(text: str) -> bool:
    return ".cc." in text or "mov.b64" in text


def run(b, text: str, nout: int, args: list, types: list):
    """The asm block's outputs (values of `types`' widths: S32 for i32 outputs, S64 for i64)."""
    regs: dict[str, object] = {}
    cc = ir.Const(_U64, 0)
    wide_out = False
    ins = [b.emit("bitcast", T.unsigned_of(t), [a]) if t != T.unsigned_of(t) else a for a, t in zip(args, types)]
    ins = [b.emit("cvt", _U64, [a]) if a.type != _U64 else a for a in ins]

    def get(tok: str):
        tok = tok.strip()
        if tok.startswith("$"):
            k = int(tok[1:])
            return regs[tok] if k < nout else ins[k - nout]
        if re.fullmatch(r"\d+", tok):
            return ir.Const(_U64, int(tok))
        return regs[tok]

    def lo32(v):
        return b.emit("and", _U64, [v, _MASK])

    def hi32(v):
        return b.emit("shr", _U64, [v, ir.Const(T.U32, 32)])

    for stmt in re.split(r"\\0A|\\09|;|\n|\t", text):
        stmt = stmt.strip()
        if not stmt or stmt in ("{", "}") or stmt.startswith(".reg"):
            continue
        op, _, rest = stmt.partition(" ")
        ops = [o.strip() for o in re.split(r",(?![^{]*\})", rest)]
        if op == "mov.b64":
            dst, src = ops
            if dst.startswith("{"):                        # split a 64-bit value into 32-bit halves
                lo, hi = dst.strip("{}").split(",")
                v = get(src)
                regs[lo.strip()], regs[hi.strip()] = lo32(v), hi32(v)
            else:                                          # join two halves
                lo, hi = src.strip("{}").split(",")
                regs[dst] = b.emit("or", _U64, [get(lo), b.emit("shl", _U64, [get(hi), ir.Const(T.U32, 32)])])
                wide_out = True
            continue
        base, sets_cc = op.replace(".cc", ""), ".cc" in op
        d, srcs = ops[0], [get(o) for o in ops[1:]]
        if base in ("mul.lo.u32", "mul.hi.u32"):
            p = b.emit("mul", _U64, srcs)
            t = lo32(p) if base == "mul.lo.u32" else hi32(p)
        elif base in ("mad.lo.u32", "madc.lo.u32", "mad.hi.u32", "madc.hi.u32"):
            p = b.emit("mul", _U64, srcs[:2])
            t = b.emit("add", _U64, [lo32(p) if ".lo." in base else hi32(p), srcs[2]])
            if base.startswith("madc"):
                t = b.emit("add", _U64, [t, cc])
        elif base in ("add.u32", "addc.u32"):
            t = b.emit("add", _U64, srcs)
            if base == "addc.u32":
                t = b.emit("add", _U64, [t, cc])
        elif base in ("sub.u32", "subc.u32"):           # a + 2^32 - b - borrow: bit 32 clear means a borrow
            t = b.emit("sub", _U64, [b.emit("add", _U64, [srcs[0], ir.Const(_U64, 1 << 32)]), srcs[1]])
            if base == "subc.u32":
                t = b.emit("sub", _U64, [t, cc])         # the carry flag holds the borrow
            if sets_cc:
                cc = b.emit("sub", _U64, [ir.Const(_U64, 1), hi32(t)])
                sets_cc = False
        else:
            raise ValueError(f"inline PTX statement {stmt!r}")
        if sets_cc:
            cc = hi32(t)
        regs[d] = lo32(t)
    outs = [regs[f"${k}"] for k in range(nout)]
    if wide_out:
        return [b.emit("bitcast", T.S64, [v]) for v in outs]
    return [b.emit("bitcast", T.S32, [b.emit("cvt", T.U32, [v])]) for v in outs]
