"""Address-space inference: give generic loads, stores and atomics the space their address is in.

In:  a Function (after inlining) and the module's globals.  Out: `space='generic'` memory
operations whose address provably comes from one space get that space.  An address's space is
traced through add/sub/cvt/bitcast/phi/select back to its roots: a kernel pointer parameter or
`addr` of a __device__ symbol is global, `addr` of __shared__/__constant__ is shared/const, `local`
is local.  Values not derived from pointers (integers, constants, special registers) are neutral;
pointers loaded from memory, mixed roots or other arithmetic stay generic.  Stores and atomics are
never given the const space (they fault there, as on the GPU).
"""
from __future__ import annotations

from ..nodes import Function, GlobalVar, Instr, Param, Value
from ...types import S64, U64, Scalar

GENERIC = "generic"
KNOWN = ("global", "shared", "local", "const")
PASS_THROUGH = ("add", "sub", "cvt", "bitcast", "phi", "select", "min", "max")
OPAQUE = ("load", "atom", "call", "shfl")        # 64-bit results that may hold any pointer
_MEMORY_OPS = frozenset(("load", "store", "atom"))


def infer_spaces(fn: Function, globals_: dict[str, GlobalVar]) -> bool:
    """Narrow 'generic' memory operations to the space their address provably lies in."""
    origin = _origins(fn, globals_)
    changed = False
    for i in (i for b in fn.blocks for i in b.instrs if i.op in _MEMORY_OPS):
        if i.attrs.get("space") == GENERIC:
            s = _of(origin, i.args[0])
            if s in KNOWN and not (s == "const" and i.op != "load"):
                i.attrs["space"] = s
                changed = True
    return changed


def _join(a: str | None, b: str | None) -> str | None:
    return b if a is None or a == b else a if b is None else GENERIC


def _of(origin: dict[Value, str | None], v: Value) -> str | None:
    if v in origin:
        return origin[v]
    return "global" if isinstance(v, Param) and v.is_pointer else None


def _origins(fn: Function, globals_: dict[str, GlobalVar]) -> dict[Value, str | None]:
    """The space each 64-bit value points into (None: not derived from a pointer), to a fixed point."""
    kernel_params = fn.kind == "kernel"
    # in layout order (reverse postorder, give or take the passes' merges): any order reaches the same fixed point
    instrs = [i for b in fn.blocks for i in b.instrs if _wide_int(i.type)]
    origin: dict[Value, str | None] = {}
    if not kernel_params:   # a device function's pointer parameters may point anywhere
        origin.update({p: GENERIC for p in fn.params if p.is_pointer})
    changed = True
    while changed:
        changed = False
        for i in instrs:
            new = _transfer(i, origin, globals_)
            if new != origin.get(i):
                origin[i] = new
                changed = True
    return origin


def _wide_int(t) -> bool:
    """t in (U64, S64), without comparing Scalars field by field (the only 64-bit integer types)."""
    return t.__class__ is Scalar and t.bits == 64 and t.kind != "float" and t in (U64, S64)


def _transfer(i: Instr, origin, globals_) -> str | None:
    if i.op == "addr":
        g = globals_.get(i.attrs.get("sym"))
        return g.space if g is not None and g.space in KNOWN else GENERIC
    if i.op == "local":
        return "local"
    if i.op in OPAQUE:
        return GENERIC
    args = i.args[1:] if i.op == "select" else i.args
    s = None
    for a in args:
        s = _join(s, _of(origin, a))
    if i.op in PASS_THROUGH or s is None:
        return s
    return GENERIC
