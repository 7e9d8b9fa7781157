"""Copy propagation: replace instructions that merely pass a value on by that value.

In:  a Function.  Out: uses of phis whose operands are one value (or the phi itself), cvt/bitcast
to the operand's own type (without a rounding mode), and select with a constant condition or equal arms now use the value
directly; those instructions are deleted.
"""
from __future__ import annotations

from ..nodes import Const, Function, Instr, Value
from .rewrite import resolve, rewrite_forward


def propagate_copies(fn: Function) -> bool:
    """Forward copies to their uses; True if anything changed."""
    return rewrite_forward(fn, copied, _COPYING)


_COPYING = frozenset(("phi", "cvt", "bitcast", "select"))      # the ops `copied` may replace


def copied(i: Instr, repl: dict[Value, Value]) -> Value | None:
    """The value that instruction i just passes on, if any."""
    if i.op == "phi":
        vals = {id(resolve(repl, a)): resolve(repl, a) for a in i.args}
        vals.pop(id(i), None)
        return next(iter(vals.values())) if len(vals) == 1 else None
    if i.op in ("cvt", "bitcast") and i.args[0].type == i.type and i.attrs.get("mode") is None:
        return i.args[0]
    if i.op == "select":
        c, a, b = i.args
        if isinstance(c, Const):
            return a if c.value else b
        if a is b:
            return a
    return None
