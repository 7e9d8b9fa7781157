"""Typed values of the Python front end and the conversions between them.

In:  IR values produced while lowering, with the Numba type (`ntypes`) each one has.
Out: `V` (a typed value), `ArrayVal` (an array's data address and shape), and `cast`, which converts a
     number as Numba's casts do (bool <-> numbers through 0/1 and != 0, C conversions otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N


@dataclass
class ArrayVal:
    data: ir.Value                                   # u64 address of element 0
    shape: list                                      # ir.Value (s64) per dimension
    strides: list | None = None                      # byte strides (s64) of a non-C-layout array (F, A)


@dataclass
class V:
    """A typed value: `type` is a Numba type; `val` an ir.Value (numbers), ArrayVal (arrays),
    a list of V (tuples) or None (compile-time references)."""
    type: object
    val: object = None
    const: object = field(default=None)              # the Python value when known at compile time


def leaves(t) -> list[tuple[str, T.Scalar]]:
    """The scalar registers a value of type `t` occupies: (suffix, IR type)."""
    if isinstance(t, N.Number):
        return [("", t.ir)]
    if isinstance(t, N.Array):
        strides = [(f".stride{k}", T.S64) for k in range(t.ndim)] if t.layout != "C" else []
        return [(".data", T.U64)] + [(f".shape{k}", T.S64) for k in range(t.ndim)] + strides
    if isinstance(t, N.Tuple):
        return [(f".{k}{s}", st) for k, it in enumerate(t.items) for s, st in leaves(it)]
    return []


def flatten(v: V) -> list:
    if isinstance(v.type, N.Number):
        return [v.val]
    if isinstance(v.type, N.Array):
        return [v.val.data, *v.val.shape, *(v.val.strides if v.type.layout != "C" else [])]
    if isinstance(v.type, N.Tuple):
        return [x for item in v.val for x in flatten(item)]
    return []


def unflatten(t, vals: list, consts=None) -> V:
    """Inverse of flatten (consumes `vals` from the front)."""
    if isinstance(t, N.Number):
        return V(t, vals.pop(0))
    if isinstance(t, N.Array):
        data = vals.pop(0)
        shape = [vals.pop(0) for _ in range(t.ndim)]
        return V(t, ArrayVal(data, shape, [vals.pop(0) for _ in range(t.ndim)] if t.layout != "C" else None))
    if isinstance(t, N.Tuple):
        return V(t, [unflatten(it, vals) for it in t.items])
    return V(t, None, consts)


def cast(b, v: ir.Value, src: N.Number, dst: N.Number) -> ir.Value:
    """Convert the register value `v` of type src to dst with Numba's semantics."""
    if src == dst:
        return v
    if dst == N.BOOL:
        zero = 0.0 if src.is_float else 0
        if isinstance(v, ir.Const):
            return ir.Const(T.PRED, bool(v.value != zero or v.value != v.value))
        return b.emit("ne", T.PRED, [v, ir.Const(src.ir, zero)])
    if src == N.BOOL:
        one, zero = (1.0, 0.0) if dst.is_float else (1, 0)
        if isinstance(v, ir.Const):
            return ir.Const(dst.ir, one if v.value else zero)
        return b.emit("select", dst.ir, [v, ir.Const(dst.ir, one), ir.Const(dst.ir, zero)])
    if src.ir == dst.ir:
        return v
    if isinstance(v, ir.Const) and dst.is_int and src.is_int:
        return ir.Const(dst.ir, T.wrap_int(v.value, dst.bits, dst.signed))
    if isinstance(v, ir.Const) and dst.is_float and not (src.is_float and dst.bits < src.bits) and dst.bits > 16:
        return ir.Const(dst.ir, float(v.value))
    if src == N.FLOAT16 and dst.is_int:                   # numba-cuda: cvt.rni (to nearest even), not C's rzi
        return b.emit("cvt", dst.ir, [v], mode="rni")
    return b.emit("cvt", dst.ir, [v])


def to_mem(b, v: ir.Value, t: N.Number) -> ir.Value:
    """A register value of type t as stored in memory (bool: a u8 0/1)."""
    if t == N.BOOL:
        return cast(b, v, N.BOOL, N.NUMBERS["uint8"])
    return v


def from_mem(b, v: ir.Value, t: N.Number) -> ir.Value:
    if t == N.BOOL:
        return b.emit("ne", T.PRED, [v, ir.Const(T.U8, 0)])
    return v


def address(b, data: ir.Value, off) -> ir.Value:
    """The u64 address data + off, off an int64 byte offset (a constant one wraps; 0 adds nothing)."""
    if isinstance(off, ir.Const):
        if off.value == 0:
            return data
        return b.emit("add", T.U64, [data, ir.Const(T.U64, off.value % 2 ** 64)])
    return b.emit("add", T.U64, [data, b.emit("bitcast", T.U64, [off])])
