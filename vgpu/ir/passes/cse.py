"""Common-subexpression elimination over the dominator tree (global value numbering, scoped).

In:  a Function.  Out: a pure instruction (OPS[op].pure, not a phi) whose op, type, operands and
attrs equal those of one that dominates it is replaced by that earlier value and deleted.  Commutative
ops match with their operands in either order.  `y[i] = a * x[i] + y[i]` computes the address of
y[i] once, as a C programmer expects.
"""
from __future__ import annotations

from ..cfg import dominator_tree, dominators
from ..nodes import Block, Const, Function, Instr, Value
from ..ops import OPS
from .rewrite import commit, resolve


def _key_of(v: Value, repl: dict[Value, Value]):
    v = resolve(repl, v)
    if isinstance(v, Const):
        return ("const", v.type.name, repr(v.value))
    return ("value", id(v))


def _freeze(x):
    if isinstance(x, (list, tuple)):
        return tuple(_freeze(e) for e in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in x.items()))
    if isinstance(x, Block):
        return ("block", id(x))
    return x


def _key(i: Instr, repl: dict[Value, Value]):
    args = []
    for a in i.args:                         # _key_of, inline
        while a in repl:
            a = repl[a]
        args.append(("const", a.type.name, repr(a.value)) if a.__class__ is Const else ("value", id(a)))
    if i.op in _COMMUTATIVE:
        args.sort()
    return (i.op, i.type.name if i.type else None, tuple(args), _freeze(i.attrs) if i.attrs else ())


_COMMUTATIVE = frozenset(name for name, info in OPS.items() if info.commutative)
_CANDIDATES = frozenset(name for name, info in OPS.items() if info.pure and name != "phi")


def eliminate_common_subexpressions(fn: Function) -> bool:
    """Replace recomputations of dominating pure values; True if anything changed."""
    if not fn.blocks:
        return False
    children = dominator_tree(fn, dominators(fn))
    repl: dict[Value, Value] = {}
    table: dict[tuple, Instr] = {}
    # depth-first over the dominator tree; a ("leave", keys) marker closes a block's scope once
    # every block it dominates is done (they sit above it on the stack)
    stack: list = [fn.entry]
    while stack:
        b = stack.pop()
        added: list[tuple] = []
        for i in b.instrs:
            if i.op not in _CANDIDATES or i.type is None:
                continue
            k = _key(i, repl)
            if k in table:
                repl[i] = table[k]
            else:
                table[k] = i
                added.append(k)
        stack.append(("leave", added))
        stack.extend(reversed(children[b]))
        while stack and isinstance(stack[-1], tuple):
            for k in stack.pop()[1]:
                del table[k]
    return commit(fn, repl)

