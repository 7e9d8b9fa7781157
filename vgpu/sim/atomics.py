"""Atomic read-modify-write of the lanes of one instruction, serialised in lane order.

In:  the atomic's modifier ('add', 'exch', 'cas', 'min', 'max', 'and', 'or', 'xor', 'inc', 'dec'), its
     type (a vgpu Scalar), a typed view of memory, the element index of each lane (ascending lane
     order), the operand b of each lane and, for cas, c.
Out: the value each lane read (the old value); memory updated as if the lanes had applied the
     operation one after another in lane order.

The value an atomic leaves is computed with vgpu.arith's ops (add, min, max, and, or, xor; cas,
inc and dec from eq/ge/gt/or, add/sub and select), so atomics and ALU instructions share one
semantics table.  f32 atomic add flushes subnormal inputs and results to zero (PTX atom.add.f32);
f16 add keeps them and rounds each sum to nearest even, NaN results canonical (atom.add.noftz.f16).
Lanes hitting distinct elements are applied at once; repeated elements by a segmented scan for the
associative ops, by accumulation for float add, else by rounds of distinct elements.
"""
from __future__ import annotations

import numpy as np

from .. import arith
from ..types import PRED

_SCAN = ("add", "min", "max", "and", "or", "xor")           # associative: a segmented scan
_TINY = {np.dtype(np.float32): np.float32(np.finfo(np.float32).tiny)}


def _ftz(x):
    """f32 atomic add flushes subnormal inputs and results to sign-preserving zero (PTX atom)."""
    tiny = _TINY.get(x.dtype)
    if tiny is None:
        return x
    return np.where(np.abs(x) < tiny, np.copysign(np.zeros_like(x), x), x)


def combiner(op: str, t):
    """f(old, b, c) -> the value the atomic leaves in memory, from vgpu.arith's ops at type t."""
    def two(name, at=t):
        fn = arith.resolve(name, at)
        return lambda x, y: fn((x, y))
    select = arith.resolve("select", t)
    zero, one = np.zeros((), t.dtype), np.ones((), t.dtype)
    if op == "add" and t.is_float:
        add = two("add")
        return lambda o, b, c: _ftz(add(_ftz(o), _ftz(b)))
    if op in _SCAN:
        f = two(op)
        return lambda o, b, c: f(o, b)
    if op == "exch":
        return lambda o, b, c: np.broadcast_to(b, o.shape)
    eq, ge, gt, add, sub, either = two("eq"), two("ge"), two("gt"), two("add"), two("sub"), two("or", PRED)
    if op == "cas":
        return lambda o, b, c: select((eq(o, b), c, o))
    if op == "inc":                             # o >= b ? 0 : o + 1
        return lambda o, b, c: select((ge(o, b), zero, add(o, one)))
    if op == "dec":                             # o == 0 || o > b ? b : o - 1
        return lambda o, b, c: select((either(eq(o, zero), gt(o, b)), b, sub(o, one)))
    raise ValueError(f"unknown atomic operation {op!r}")


def atomic_rmw(op: str, t):
    """f(view, idx, b, c) -> old values: `atomic` with the combining function looked up once."""
    combine = combiner(op, t)
    scan = arith.resolve(op, t) if op in _SCAN and not t.is_float else None
    return lambda view, idx, b, c: _apply(op, combine, scan, view, idx, b, c)


def atomic(op: str, t, view: np.ndarray, idx: np.ndarray, b: np.ndarray, c) -> np.ndarray:
    """Apply atomic `op` of lanes (in order) at elements `idx` of `view`; return the old values.
    Lanes hitting the same element are serialised in lane order."""
    return atomic_rmw(op, t)(view, idx, b, c)


def _apply(op, combine, scan, view, idx, b, c):
    n = idx.size
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    dup = s[1:] == s[:-1]
    if not dup.any():
        old = view[idx]
        view[idx] = combine(old, b, c)
        return old
    first = np.r_[True, ~dup]
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    rank = np.arange(n) - starts[seg]
    ends = np.r_[starts[1:], n] - 1
    where = s[starts]                       # one element per segment
    old_sorted = np.empty(n, view.dtype)
    bs = b[order]
    if op == "exch":
        old_sorted[1:] = bs[:-1]
        old_sorted[starts] = view[where]
        view[where] = bs[ends]
    elif scan is not None:
        x = bs.copy()
        x[starts] = scan((view[where], x[starts]))
        step = 1
        longest = int((ends - starts).max()) + 1
        while step < longest:               # segmented inclusive scan (Hillis-Steele)
            same = seg[step:] == seg[:-step]
            x[step:] = np.where(same, scan((x[:-step], x[step:])), x[step:])
            step *= 2
        old_sorted[1:] = x[:-1]
        old_sorted[starts] = view[where]
        view[where] = x[ends]
    elif op == "add" and view.dtype != np.float16 and len(starts) < int(rank.max()) + 1:   # few hot: accumulate
        for k in range(len(starts)):
            lo, hi = starts[k], ends[k] + 1
            acc = np.add.accumulate(_ftz(np.r_[view[where[k]:where[k] + 1], bs[lo:hi]]), dtype=view.dtype)
            acc = _ftz(acc)
            old_sorted[lo:hi] = acc[:-1]
            view[where[k]] = acc[-1]
    else:                                   # one round per rank: distinct addresses in each
        cs = np.broadcast_to(c, (n,))[order] if c is not None else None
        for r in range(int(rank.max()) + 1):
            pos = np.flatnonzero(rank == r)
            o = view[s[pos]]
            old_sorted[pos] = o
            view[s[pos]] = combine(o, bs[pos], cs[pos] if cs is not None else None)
    old = np.empty(n, view.dtype)
    old[order] = old_sorted
    return old
