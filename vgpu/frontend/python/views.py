"""Array views of a Python kernel: basic indexing with integers, slices (with steps) and `...`, typed
and computed as Numba does (numba/core/typing/arraydecl.py get_array_index_type; numba's
slicing.py for the bounds).

In:  the lowering state (`FnLower`), the array value and the index items [(V or None, ast node)].
Out: a typed array value (`V` of `N.Array`): data address, shape, and for layouts other than 'C' the
     byte strides.  Layouts follow Numba: integers on the left keep a 'C' array 'C' and a slice keeps it
     'C' only as the innermost index without a step; anything else gives 'A' ('F' mirrored).
Slice bounds are Python's (negative bounds wrap once, then clamp; a step of 0 traps at run time and is
a CompileError when constant); the length is Numba's get_slice_length.
"""
from __future__ import annotations

import ast

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N
from .values import ArrayVal, V, address, cast, to_mem

_MAXINT = 2 ** 63 - 1


def c_strides(fl, t: N.Array, shape: list) -> list:
    """Byte strides of a C-contiguous array of `shape` (IR values, folded when constant)."""
    out, acc = [], ir.Const(T.S64, t.dtype.mem.size)
    for d in reversed(shape):
        out.append(acc)
        acc = fl.mul64(acc, d)
    return list(reversed(out))


def strides_of(fl, v: V) -> list:
    return v.val.strides if v.val.strides is not None else c_strides(fl, v.type, v.val.shape)


def with_layout(fl, v: V, t: N.Array) -> V:
    """v converted to the array type t (same dtype, ndim and space; layout 'A': strides made explicit)."""
    if t.layout == "C" or v.type.layout != "C":
        return V(t, ArrayVal(v.val.data, v.val.shape, v.val.strides if t.layout != "C" else None))
    return V(t, ArrayVal(v.val.data, v.val.shape, c_strides(fl, v.type, v.val.shape)))


def transpose(fl, v: V) -> V:
    """a.T: the view with shape and strides reversed (Numba: C <-> F, A stays A)."""
    t = v.type
    if t.ndim < 2:
        return v
    layout = {"C": "F", "F": "C"}.get(t.layout, "A")
    strides = list(reversed(strides_of(fl, v)))
    return V(N.Array(t.dtype, t.ndim, t.space, tuple(reversed(t.shape)) if t.shape else None, layout),
             ArrayVal(v.val.data, list(reversed(v.val.shape)), strides if layout != "C" else None))


def _keeps(kind: str, innermost: bool) -> bool:
    return kind in ("int", "ellipsis") or (innermost and kind == "slice")


def _contiguous(kinds: list) -> bool:
    return all(_keeps(k, False) for k in kinds[:-1]) and (not kinds or _keeps(kinds[-1], True))


def layout_of(t: N.Array, kinds: list, n_indices: int, ellipsis: bool) -> str:
    """Numba's layout of a view of t indexed by `kinds` ('int', 'slice', 'step' = slice with a step,
    'ellipsis'), in source order."""
    if ellipsis:
        k = kinds.index("ellipsis")
        left, right = kinds[:k], kinds[k + 1:]
    else:
        left, right = kinds, []
    if t.layout == "C":
        if n_indices == t.ndim:
            left, right = left + right, []
        return "A" if right or not _contiguous(left) else "C"
    if t.layout == "F":
        if n_indices == t.ndim:
            left, right = [], left + right
        return "A" if left or not _contiguous(right[::-1]) else "F"
    return "A"


def view(fl, base: V, parts: list, node) -> V:
    """base[parts]: parts are (V, node) for an integer index, (None, ast.Slice) for a slice and
    (None, ast.Constant(Ellipsis)) for `...`."""
    b, t = fl.b, base.type
    ell = [k for k, (v, n) in enumerate(parts) if v is None and not isinstance(n, ast.Slice)]
    if len(ell) > 1:
        raise fl.err(parts[ell[1]][1], "only one ellipsis is allowed in array indices")
    n_idx = len(parts) - len(ell)
    if n_idx > t.ndim:
        raise fl.err(node.slice, f"cannot index a {t.ndim}-d array with {n_idx} indices")
    kinds = ["ellipsis" if k in ell else ("int" if v is not None else
             ("step" if n.step is not None else "slice")) for k, (v, n) in enumerate(parts)]
    layout = layout_of(t, kinds, n_idx, bool(ell))
    items = list(parts)
    if ell:
        k = ell[0]
        items = items[:k] + [(None, ast.Slice())] * (t.ndim - n_idx) + items[k + 1:]
    items += [(None, ast.Slice())] * (t.ndim - len(items))
    shape, strides = base.val.shape, strides_of(fl, base)
    off = ir.Const(T.S64, 0)
    new_shape, new_strides = [], []
    for k, (v, n) in enumerate(items):
        dim, st = shape[k], strides[k]
        if v is not None:
            i = fl.wrap_index(v, n, dim)
            off = _add(b, off, fl.mul64(i, st))
            continue
        if n.lower is None and n.upper is None and n.step is None:
            new_shape.append(dim)
            new_strides.append(st)
            continue
        start, length, step = _slice(fl, n, dim)
        off = _add(b, off, fl.mul64(start, st))
        new_shape.append(length)
        new_strides.append(fl.mul64(st, step) if step is not None else st)
    if not new_shape:         # every index an integer with an ellipsis: Numba gives a 0-d view; vgpu none
        raise fl.err(node.slice, "a 0-d array view is not supported in a kernel")
    vt = N.Array(t.dtype, len(new_shape), t.space, None, layout)
    data = address(b, base.val.data, off)
    return V(vt, ArrayVal(data, new_shape, new_strides if layout != "C" else None))


def _add(b, x, y):
    if isinstance(x, ir.Const) and x.value == 0:
        return y
    if isinstance(x, ir.Const) and isinstance(y, ir.Const):
        return ir.Const(T.S64, T.wrap_int(x.value + y.value, 64, True))
    return b.emit("add", T.S64, [x, y])


def _int(fl, node, what: str):
    v = fl.expr(node)
    if not isinstance(v.type, N.Number) or not (v.type.is_int or v.type == N.BOOL):
        raise fl.err(node, f"slice {what} must be an integer, not {v.type}")
    return cast(fl.b, v.val, v.type, N.INT64)


def _slice(fl, sl: ast.Slice, dim):
    """(start, length, step or None for 1) of the slice `sl` over a dimension of size dim, as Numba's
    slice constructor, fix_slice and get_slice_length compute them."""
    b = fl.b
    if sl.step is None:
        step, neg = None, None
        start = _bound(fl, sl.lower, dim, ir.Const(T.S64, 0), None, False)
        stop = _bound(fl, sl.upper, dim, dim, None, False)
        n = b.emit("sub", T.S64, [stop, start])
        zero = b.emit("le", T.PRED, [n, ir.Const(T.S64, 0)])
        return start, b.emit("select", T.S64, [zero, ir.Const(T.S64, 0), n]), None
    step = _int(fl, sl.step, "steps")
    if isinstance(step, ir.Const):
        if step.value == 0:
            raise fl.err(sl.step, "slice step cannot be zero")
        neg = ir.Const(T.PRED, step.value < 0)
    else:
        bad, ok = b.block("slice.zero"), b.block("slice.ok")
        b.br(b.emit("eq", T.PRED, [step, ir.Const(T.S64, 0)]), bad, ok)
        b.seal(bad)
        b.at(bad)
        b.emit("trap", None, [])        # Numba raises ValueError('slice step cannot be zero')
        b.jmp(ok)
        b.seal(ok)
        b.at(ok)
        neg = b.emit("lt", T.PRED, [step, ir.Const(T.S64, 0)])
    start = _bound(fl, sl.lower, dim, None, neg, True)
    stop = _bound(fl, sl.upper, dim, None, neg, False)
    one = ir.Const(T.S64, 1)
    delta = b.emit("sub", T.S64, [stop, start])
    dividend = b.emit("select", T.S64, [neg, b.emit("add", T.S64, [delta, one]), b.emit("sub", T.S64, [delta, one])])
    nominal = b.emit("add", T.S64, [one, b.emit("div", T.S64, [dividend, step])])
    empty = b.emit("select", T.PRED, [neg, b.emit("ge", T.PRED, [delta, ir.Const(T.S64, 0)]),
                                      b.emit("le", T.PRED, [delta, ir.Const(T.S64, 0)])])
    return start, b.emit("select", T.S64, [empty, ir.Const(T.S64, 0), nominal]), step


def _bound(fl, node, dim, default, neg, is_start: bool):
    """A slice bound fixed as Numba's fix_slice: a missing bound is Numba's default (start: 0 or
    maxint, stop: maxint or -maxint-1 for a negative step); negative ones get dim added once; then
    clamped to [0, dim] (positive step) or [-1, dim-1] (negative step)."""
    b = fl.b
    if node is None and neg is None:
        return default
    if node is None:
        pos_d, neg_d = (0, _MAXINT) if is_start else (_MAXINT, -_MAXINT - 1)
        x = b.emit("select", T.S64, [neg, ir.Const(T.S64, neg_d), ir.Const(T.S64, pos_d)]) \
            if not isinstance(neg, ir.Const) else ir.Const(T.S64, neg_d if neg.value else pos_d)
    else:
        x = _int(fl, node, "bounds")
    zero = ir.Const(T.S64, 0)
    x = b.emit("select", T.S64, [b.emit("lt", T.PRED, [x, zero]), b.emit("add", T.S64, [x, dim]), x])
    if neg is None or (isinstance(neg, ir.Const) and not neg.value):
        lo, hi = zero, dim
    elif isinstance(neg, ir.Const):
        lo, hi = ir.Const(T.S64, -1), b.emit("sub", T.S64, [dim, ir.Const(T.S64, 1)])
    else:
        lo = b.emit("select", T.S64, [neg, ir.Const(T.S64, -1), zero])
        hi = b.emit("select", T.S64, [neg, b.emit("sub", T.S64, [dim, ir.Const(T.S64, 1)]), dim])
    x = b.emit("select", T.S64, [b.emit("lt", T.PRED, [x, zero]), lo, x])
    return b.emit("select", T.S64, [b.emit("ge", T.PRED, [x, dim]), hi, x])


def fill(fl, v: V, value: V, node) -> None:
    """view[...] = value for a number: store it (converted to the dtype) into every element of the view
    in C order, as Numba's fancy_setslice does for a scalar.  Storing an array into a view is a CompileError,
    as in numba-cuda, whose copy of the source needs its runtime (NRT), off by default."""
    if not isinstance(value.type, N.Number):
        raise fl.err(node, f"storing {value.type} into an array view is not supported in a kernel "
                           f"(numba-cuda rejects it too unless its runtime is on: 'NRT required but not enabled'); "
                           f"store a number, or copy element by element")
    if v.type.space == "const":
        raise fl.err(node, "a constant array cannot be written")
    x = cast(fl.b, value.val, value.type, v.type.dtype)
    _fill_dim(fl, v, strides_of(fl, v), x, 0, ir.Const(T.S64, 0), node)


def _fill_dim(fl, v: V, strides: list, x, dim: int, off, node) -> None:
    b = fl.b
    key = ("$fill", id(node), dim)
    head, body, done = b.block("fill.head"), b.block("fill.body"), b.block("fill.done")
    b.write(key, ir.Const(T.S64, 0))
    b.jmp(head)
    b.at(head)
    i = b.read(key, T.S64)
    b.br(b.emit("lt", T.PRED, [i, v.val.shape[dim]]), body, done)
    b.seal(body)
    b.seal(done)
    b.at(body)
    here = _add(b, off, fl.mul64(i, strides[dim]))
    if dim + 1 < v.type.ndim:
        _fill_dim(fl, v, strides, x, dim + 1, here, node)
    else:
        b.emit("store", None, [address(b, v.val.data, here), to_mem(b, x, v.type.dtype)],
               space=v.type.space)
    b.write(key, b.emit("add", T.S64, [i, ir.Const(T.S64, 1)]))
    b.jmp(head)
    b.seal(head)
    b.at(done)
