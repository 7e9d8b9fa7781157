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
from .rewrite import remove_instrs, replace_uses, resolve

FOLDABLE_GROUPS = ("alu", "cmp", "cvt", "math")


def fold_constants(fn: Function) -> bool:
    """Replace constant expressions and exact identities by their values; True if anything changed."""
    repl: dict[Value, Value] = {}
    for b in fn.blocks:      # laid out in reverse postorder by optimize_function
        for i in b.instrs:
            if any(a in repl for a in i.args):
                i.args = [resolve(repl, a) for a in i.args]
            info = OPS[i.op]
            if not info.pure or info.group not in FOLDABLE_GROUPS or i.type is None:
                continue
            v = evaluate(i) if all(isinstance(a, Const) for a in i.args) else identity(i)
            if v is not None:
                repl[i] = v
    replace_uses(fn, repl)
    remove_instrs(fn, set(repl))
    return bool(repl)


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
    """x for an instruction equal to its operand x (or a constant) for every input; else None."""
    t = i.type
    if len(i.args) != 2 or not (t.is_int or t == PRED) or i.args[0].type != t:
        return None
    x, y = i.args
    if i.op in ("sub", "shl", "shr", "div"):          # identities on the right operand only
        if i.op == "div":
            return x if _is(y, t, 1) else None
        return x if (_is(y, t, 0) if i.op == "sub" else isinstance(y, Const) and y.value == 0) else None
    for a, b in ((x, y), (y, x)):                      # add mul and or xor commute
        if i.op in ("add", "or", "xor") and _is(b, t, 0) or i.op in ("mul", "and") and \
                _is(b, t, 1 if i.op == "mul" else -1):
            return a
        if i.op in ("mul", "and") and _is(b, t, 0) or i.op == "or" and _is(b, t, -1):
            return b
    return None
    x, y = i.args
    if i.op in ("add", "or", "xor") and _is(x, t, 0):
        return y
    if i.op == "mul" and _is(x, t, 1):
        return y
    if i.op in ("mul", "and") and _is(x, t, 0):
        return x
    if i.op == "and" and _is(x, t, -1):
        return y
    if i.op == "or" and _is(x, t, -1):
        return x
    if i.op in ("add", "sub", "or", "xor") and _is(y, t, 0):
        return x
    if i.op in ("shl", "shr") and isinstance(y, Const) and y.value == 0:
        return x
    if i.op in ("mul", "div") and _is(y, t, 1):
        return x
    if i.op in ("mul", "and") and _is(y, t, 0):
        return y
    if i.op == "and" and _is(y, t, -1):
        return x
    if i.op == "or" and _is(y, t, -1):
        return y
    return None
