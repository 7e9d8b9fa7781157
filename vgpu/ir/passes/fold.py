"""Constant folding with C semantics (vgpu.arith, shared with the simulator) and exact identities.

In:  a Function.  Out: pure alu/cmp/cvt/math instructions whose operands are all constants replaced
by their value; integer and predicate identities (x+0, x-0, x*1, x*0, x/1, x&0, x&~0, x|0, x|~0,
x^0, x<<0, x>>0) replaced by x or the constant.  No float identity is applied: NVIDIA arithmetic
turns every NaN into the canonical NaN, so even x*1.0 is not x for all inputs.
"""
from __future__ import annotations

from ... import arith
from ...types import PRED, Scalar
from ..nodes import Const, Function, Instr, Value
from ..ops import OPS
from .rewrite import rewrite_forward

FOLDABLE_GROUPS = ("alu", "cmp", "cvt", "math")
_FOLDABLE = frozenset(name for name, info in OPS.items() if info.pure and info.group in FOLDABLE_GROUPS)


def fold_constants(fn: Function) -> bool:
    """Replace constant expressions and exact identities by their values; True if anything changed."""
    return rewrite_forward(fn, folded, _FOLDABLE)


def folded(i: Instr, repl: dict[Value, Value]) -> Value | None:
    """The constant or operand that instruction i always equals, if any."""
    if i.op not in _FOLDABLE or i.type is None:
        return None
    for a in i.args:
        if a.__class__ is not Const:
            return identity(i)
    return evaluate(i)


def evaluate(i: Instr) -> Const | None:
    """The value of a pure instruction with constant operands, by vgpu.arith (None: not foldable)."""
    cmp = OPS[i.op].group == "cmp"
    t = i.args[0].type if cmp else i.type
    if i.op not in arith.OPS or ("float" if t.is_float else "int") not in arith.OPS[i.op]:
        return None
    src = i.args[0].type if i.op in ("cvt", "bitcast") or i.op in arith.BITS else None
    v = arith.fold(i.op, t, [a.value for a in i.args], src=src, mode=i.attrs.get("mode"))
    return Const(i.type, bool(v) if i.type == PRED else v)


def _is(v: Value, t: Scalar, k: int) -> bool:
    """v is the integer/pred constant k of type t (k = -1: all bits set)."""
    if not isinstance(v, Const) or v.type != t:
        return False
    if t == PRED:
        return bool(v.value) == (k != 0)
    mask = (1 << t.bits) - 1
    return int(v.value) & mask == k & mask


def identity(i: Instr) -> Value | None:
    """x for an instruction equal to its operand x (or a constant) for every input; else None.
    Commutative ops (the IR table's flag) are tried with the constant on either side."""
    t = i.type
    if len(i.args) != 2:
        return None
    x, y = i.args
    if x.__class__ is not Const and y.__class__ is not Const:      # every identity needs a constant
        return None
    if not (t.is_int or t == PRED) or x.type != t:
        return None
    op = i.op
    for a, b in ((x, y), (y, x)) if OPS[op].commutative else ((x, y),):   # a op b, b the constant
        if op in ("add", "sub", "or", "xor") and _is(b, t, 0) or op in ("mul", "div") and _is(b, t, 1) or \
                op == "and" and _is(b, t, -1) or op in ("shl", "shr") and isinstance(b, Const) and b.value == 0:
            return a
        if op in ("mul", "and") and _is(b, t, 0) or op == "or" and _is(b, t, -1):
            return b
    return None
