"""Helpers the Python front end's call lowering shares: compile-time constants of the kernel's Python
environment, numpy/numba type names as vgpu types, and argument lists checked against a signature.

In:  a function lowering (`lower.FnLower`, as `fl`) and `ast` nodes or Python values.
Out: Python values, `ntypes.Number`s, lowered argument values; CompileError at the node otherwise.
"""
from __future__ import annotations

import ast

import numpy as np

from . import ntypes as N
from .values import V


def dtype_of(value):
    """A Number for numpy scalar types, dtypes, numba types and their names, else None."""
    if isinstance(value, type) and issubclass(value, np.generic):
        try:
            return N.from_dtype(value)
        except TypeError:
            return None
    if isinstance(value, np.dtype):
        return N.from_dtype(value)
    if isinstance(value, str):
        try:
            return N.number(value)
        except KeyError:
            return None
    mod = type(value).__module__ or ""
    if mod.startswith("numba") or mod.startswith("vgpu"):
        try:
            return N.number(str(value))
        except KeyError:
            return None
    return None


def const_eval(fl, node):
    """The Python value of a compile-time constant expression (literals, globals, tuples, arithmetic)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id not in fl.env:
        found, value = fl.src.lookup(node.id)
        if found:
            return value
    if isinstance(node, ast.Attribute):
        base = const_eval(fl, node.value)
        if base is not None and not isinstance(base, (int, float)):
            return getattr(base, node.attr, None)
    if isinstance(node, ast.Tuple):
        items = [const_eval(fl, e) for e in node.elts]
        return None if any(i is None for i in items) else tuple(items)
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv):
        a, c = const_eval(fl, node.left), const_eval(fl, node.right)
        if isinstance(a, int) and isinstance(c, int):
            return {ast.Add: a + c, ast.Sub: a - c, ast.Mult: a * c}.get(type(node.op), a // c if c else None)
    if isinstance(node, ast.Name) and node.id in fl.env:
        return None
    return None


def args_of(fl, node, lo: int, hi: int, names: tuple = ()) -> list[V]:
    """Evaluate positional (and named, by `names`) arguments; CompileError if the count is wrong."""
    args = list(node.args)
    for kw in node.keywords:
        if kw.arg not in names:
            raise fl.err(kw, f"unexpected keyword argument {kw.arg!r}")
        k = names.index(kw.arg)
        while len(args) <= k:
            args.append(None)
        args[k] = kw.value
    if not lo <= len(args) <= hi or any(a is None for a in args):
        fname = ast.unparse(node.func)
        raise fl.err(node, f"{fname}() takes {lo if lo == hi else f'{lo} to {hi}'} arguments, {len(args)} given")
    return [fl.expr(a) for a in args]


def numbers(fl, node, vals: list[V]) -> None:
    for v, a in zip(vals, node.args):
        if not isinstance(v.type, N.Number):
            raise fl.err(a, f"expected a number, not {v.type}")
