"""Constant evaluation with C semantics: conversions and arithmetic on compile-time values, done by
`vgpu.arith` (so constants fold exactly as the simulator computes at run time).

In:  checked expressions (every `ctype` set) and the `Sema` that resolves their identifiers.
Out: `const_value(e, sema)`, the value of a constant expression (an int or a float in e's type) or
     None; `to_bytes`, a scalar's bytes in memory.
"""
from __future__ import annotations

import struct as _struct

from . import ast as A
from .ctypes import (BOOL, DOUBLE, LLONG, Bool, CType, ErrorType, Float, Int, Pointer, alignof, decay, is_arith,
                     mem_scalar, scalar_of, sizeof, unqual)
from .symbols import EnumConst, Sema, Var
from .. import arith as C
from .. import types as T

COMPARE = {"<", ">", "<=", ">=", "==", "!="}


def to_int_type(v: int, t: CType) -> int:
    """`v` converted to the integer type `t` (bool: 0 or 1; otherwise `vgpu.types.wrap_int`)."""
    if isinstance(t, Bool):
        return int(v != 0)
    return T.wrap_int(v, 8 * t.size, t.signed)


def convert(v, src: CType, dst: CType):
    """The value `v` of type `src` converted to `dst`, as a C implicit or explicit conversion: the
    conversion `vgpu.arith` defines (so constants fold as the simulator computes them at run time)."""
    dst = unqual(dst)
    if isinstance(dst, Bool):
        return int(v != 0)
    if not isinstance(dst, (Float, Int, Pointer)):
        return v
    src = unqual(src)
    from_t = scalar_of(src) if isinstance(src, (Float, Int, Pointer)) and not isinstance(src, Bool) else T.S64
    return _number(C.fold("cvt", scalar_of(dst), [v], src=from_t))


_C_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem", "&": "and", "|": "or", "^": "xor",
          "<<": "shl", ">>": "shr", "<": "lt", ">": "gt", "<=": "le", ">=": "ge", "==": "eq", "!=": "ne"}


def arith(op: str, a, b, t: CType):
    """`a op b` computed in type `t` by `vgpu.arith`; None where C leaves it undefined (division by
    zero, a shift by a negative amount or by the width or more)."""
    if isinstance(t, Int) and (op in ("/", "%") and b == 0 or op in ("<<", ">>") and not 0 <= b < 8 * t.size):
        return None
    return _number(C.fold(_C_OPS[op], scalar_of(t), [a, b]))


def compare(op: str, a, b, t: CType) -> int:
    """`a op b` (both already of type `t`) as C's int 0 or 1."""
    return int(C.fold(_C_OPS[op], scalar_of(t), [a, b]))


def _number(v):
    """A folded scalar as the checker keeps constants: ints and floats (a bool is an int)."""
    return int(v) if isinstance(v, bool) else v


def to_bytes(value, t: CType) -> bytes:
    """The little-endian bytes of a scalar value of type `t` in memory."""
    s = mem_scalar(t)
    if s.is_float:
        return _struct.pack("<f" if s.bits == 32 else "<d", value)
    return int(value & ((1 << s.bits) - 1)).to_bytes(s.size, "little")


def const_value(e: A.Expr, sema: Sema):
    """The value of a constant expression (int or float, in e's type), else None; remembered in
    `sema.consts` (lowering asks again for every subexpression: a chain of n terms would cost n^2)."""
    try:
        return sema.consts[e]
    except KeyError:
        v = sema.consts[e] = _const_value(e, sema)
        return v


def _const_value(e: A.Expr, sema: Sema):
    t = e.ctype
    if t is None or isinstance(t, ErrorType):
        return None
    if isinstance(e, (A.IntLit, A.CharLit)):
        return to_int_type(e.value, t)
    if isinstance(e, A.FloatLit):
        return convert(e.value, DOUBLE, t)
    if isinstance(e, A.Ident):
        sym = sema.refs.get(e)
        if isinstance(sym, EnumConst) and sym.name != "nullptr":
            return sym.value
        if isinstance(sym, Var):
            return sym.value
        return None
    if isinstance(e, A.Cast):
        v = const_value(e.operand, sema)
        return None if v is None or not is_arith(t) else convert(v, decay(e.operand.ctype), t)
    if isinstance(e, A.OffsetOf):
        return e.value
    if isinstance(e, A.SizeOf):
        op = e.operand
        t = sema.types[op] if isinstance(op, A.TypeRef) else op.ctype
        return alignof(t) if e.align else sizeof(t)
    if isinstance(e, A.Unary) and e.op in ("-", "+", "~", "!"):
        v = const_value(e.operand, sema)
        if v is None:
            return None
        v = convert(v, decay(e.operand.ctype), t if e.op != "!" else BOOL)
        if e.op == "-":
            return arith("-", 0, v, t) if not isinstance(t, Float) else -v
        if e.op == "~":
            return to_int_type(~v, t)
        return int(not v) if e.op == "!" else v
    if isinstance(e, A.Binary):
        return _const_binary(e, sema)
    if isinstance(e, A.Conditional):
        c = const_value(e.cond, sema)
        if c is None:
            return None
        x = e.then if c else e.other
        v = const_value(x, sema)
        return None if v is None else convert(v, decay(x.ctype), t)
    return None


def _const_binary(e: A.Binary, sema: Sema):
    a, b = const_value(e.left, sema), const_value(e.right, sema)
    if a is None or (b is None and e.op not in ("&&", "||")):
        return None
    lt, rt = decay(e.left.ctype), decay(e.right.ctype)
    if e.op in ("&&", "||"):
        if (e.op == "&&" and not a) or (e.op == "||" and a):
            return int(e.op == "||")
        return None if b is None else int(b != 0)
    ot = sema.optype.get(e)
    if ot is None or not is_arith(ot):
        return None
    if e.op in ("<<", ">>"):
        return arith(e.op, convert(a, lt, ot), convert(b, rt, LLONG), ot)
    a, b = convert(a, lt, ot), convert(b, rt, ot)
    if e.op in COMPARE:
        return compare(e.op, a, b, ot)
    return arith(e.op, a, b, ot)
