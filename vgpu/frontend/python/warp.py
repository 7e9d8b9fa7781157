"""numba-cuda's kernel functions other than memory: thread indexing (grid, gridsize), barriers and
fences, warp shuffles and votes, bit functions, fma, and cooperative groups' grid sync.

In:  the function's name under `cuda.` and the call's AST node.
Out: a typed value (types as numba-cuda declares them in cudadecl.py / intrinsics.py).
"""
from __future__ import annotations

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N
from .args import args_of, const_eval, numbers
from .values import V, cast

_SHFL = {"shfl_sync": "idx", "shfl_up_sync": "up", "shfl_down_sync": "down", "shfl_xor_sync": "bfly"}
_SHFL_TYPES = ("int32", "int64", "float32", "float64")
_FENCES = {"threadfence": "gl", "threadfence_block": "cta", "threadfence_system": "sys"}
_BITS = ("popc", "clz")
_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def _sreg(b, name: str):
    return b.emit("bitcast", T.S32, [b.emit("sreg", T.U32, name=name)])


def _s64(b, v):
    return b.emit("cvt", T.S64, [v])


def _mask(fl, v: V, node):
    if not isinstance(v.type, N.Number) or not (v.type.is_int or v.type == N.BOOL):
        raise fl.err(node, f"the mask must be an integer, not {v.type}")
    return cast(fl.b, v.val, v.type, N.UINT32)


def cuda_call(fl, name: str, node) -> V:
    b = fl.b
    if name in ("grid", "gridsize"):
        if len(node.args) != 1 or node.keywords:
            raise fl.err(node, f"cuda.{name}() takes one argument, the number of dimensions")
        nd = const_eval(fl, node.args[0])
        if nd not in (1, 2, 3) or isinstance(nd, bool):
            raise fl.err(node.args[0], f"cuda.{name}(ndim): ndim must be the constant 1, 2 or 3")
        out = []
        for c in "xyz"[:nd]:
            if name == "grid":   # int64(tid) + int64(ntid) * int64(ctaid), as numba-cuda computes it
                v = b.emit("add", T.S64, [_s64(b, _sreg(b, f"tid.{c}")),
                                          b.emit("mul", T.S64, [_s64(b, _sreg(b, f"ntid.{c}")),
                                                                _s64(b, _sreg(b, f"ctaid.{c}"))])])
            else:
                v = b.emit("mul", T.S64, [_s64(b, _sreg(b, f"ntid.{c}")), _s64(b, _sreg(b, f"nctaid.{c}"))])
            out.append(V(N.INT64, v))
        return out[0] if nd == 1 else V(N.Tuple((N.INT64,) * nd), out)
    if name == "syncthreads":
        args_of(fl, node, 0, 0)
        b.emit("bar", None, [], mode="sync")
        return V(N.NONE)
    if name in ("syncthreads_count", "syncthreads_and", "syncthreads_or"):
        (p,) = args_of(fl, node, 1, 1)
        numbers(fl, node, [p])
        pred = cast(b, cast(b, p.val, p.type, N.INT32), N.INT32, N.BOOL)
        mode = {"syncthreads_count": "popc", "syncthreads_and": "and", "syncthreads_or": "or"}[name]
        r = b.emit("bar", T.U32, [pred], mode=mode)
        return V(N.INT32, b.emit("bitcast", T.S32, [r]))
    if name == "syncwarp":
        vals = args_of(fl, node, 0, 1, ("mask",))
        m = _mask(fl, vals[0], node) if vals else ir.Const(T.U32, 0xFFFFFFFF)
        b.emit("syncwarp", None, [m])
        return V(N.NONE)
    if name in _FENCES:
        args_of(fl, node, 0, 0)
        b.emit("membar", None, [], level=_FENCES[name])
        return V(N.NONE)
    if name in _SHFL:
        mask, val, lane = args_of(fl, node, 3, 3)
        m = _mask(fl, mask, node.args[0])
        if not isinstance(val.type, N.Number) or val.type.name not in _SHFL_TYPES:
            raise fl.err(node.args[1], f"shfl_sync only supports 32- and 64-bit ints and floats, not {val.type}")
        if not isinstance(lane.type, N.Number) or not lane.type.is_int:
            raise fl.err(node.args[2], f"the lane must be an integer, not {lane.type}")
        mode = _SHFL[name]
        lt = T.U32 if mode in ("up", "down") else T.S32
        ln = cast(b, lane.val, lane.type, N.UINT32 if lt == T.U32 else N.INT32)
        r = b.emit("shfl", val.type.ir, [m, val.val, ln, ir.Const(T.S32, 32)], mode=mode)
        return V(val.type, r)
    if name in ("all_sync", "any_sync", "ballot_sync", "eq_sync"):
        mask, p = args_of(fl, node, 2, 2)
        m = _mask(fl, mask, node.args[0])
        numbers(fl, node, [p])
        pred = cast(b, p.val, p.type, N.BOOL)
        if name == "ballot_sync":
            r = b.emit("vote", T.U32, [m, pred], mode="ballot")
            return V(N.INT32, b.emit("bitcast", T.S32, [r]))
        return V(N.BOOL, b.emit("vote", T.PRED, [m, pred], mode={"all_sync": "all", "any_sync": "any",
                                                                  "eq_sync": "uni"}[name]))
    if name in ("match_any_sync", "match_all_sync"):
        return _match(fl, name, node)
    if name == "activemask":
        args_of(fl, node, 0, 0)
        return V(N.UINT32, b.emit("activemask", T.U32, []))
    if name == "lanemask_lt":
        args_of(fl, node, 0, 0)
        return V(N.UINT32, b.emit("sreg", T.U32, name="lanemask_lt"))
    if name in _BITS or name in ("ffs", "brev"):
        (a,) = args_of(fl, node, 1, 1)
        if not isinstance(a.type, N.Number) or a.type.name not in _INTS:
            raise fl.err(node, f"cuda.{name}() takes an integer, not {a.type}")
        t = a.type
        if name == "brev":
            t = N.UINT64 if t.bits == 64 else N.UINT32
            x = cast(b, a.val, a.type, t)
            return V(t, b.emit("brev", t.ir, [x]))
        x = a.val
        if t.bits < 32:     # the IR's bit functions work on 32 and 64 bits
            wide = N.int_of(32, False)
            x = cast(b, x, t, wide)
            r = b.emit(name, T.S32, [x])
            if name == "clz":
                r = b.emit("sub", T.S32, [r, ir.Const(T.S32, 32 - t.bits)])
        else:
            r = b.emit(name, T.S32, [x])
        if name == "ffs":
            return V(N.UINT32, b.emit("bitcast", T.U32, [r]))
        return V(t, cast(b, r, N.INT32, t))
    if name == "fma":
        vals = args_of(fl, node, 3, 3)
        numbers(fl, node, vals)
        rt = N.FLOAT32 if all(v.type == N.FLOAT32 for v in vals) else N.FLOAT64
        xs = [cast(b, v.val, v.type, rt) for v in vals]
        return V(rt, b.emit("fma", rt.ir, xs))
    if name == "cg.this_grid":
        args_of(fl, node, 0, 0)
        return V(N.Ref("cuda.cg.grid"))
    if name == "cg.grid.sync":
        args_of(fl, node, 0, 0)
        b.emit("gridsync", None, [])
        return V(N.NONE)
    if name == "selp":
        p, x, y = args_of(fl, node, 3, 3)
        numbers(fl, node, [p, x, y])
        t = N.unify(x.type, y.type)
        return V(t, b.emit("select", t.ir, [cast(b, p.val, p.type, N.BOOL), cast(b, x.val, x.type, t),
                                            cast(b, y.val, y.type, t)]))
    raise fl.err(node.func, f"cuda.{name} is not supported in a kernel")


def _match(fl, name: str, node) -> V:
    """cuda.match_any_sync(mask, value) -> int32, cuda.match_all_sync(mask, value) -> (int32, bool), as
    PTX match.any/all.sync.b32/b64 compute them: the lanes of mask whose value has the same bits as this
    lane's; all: mask if every lane of mask has the same bits, else 0, and that predicate.  Values are
    typed as numba-cuda's overloads (int32, int64, float32, float64; narrower ints to int32, uint32 to
    int64, uint64 to float64); the bits are compared lane by lane through 32 indexed shuffles."""
    b = fl.b
    mask, val = args_of(fl, node, 2, 2)
    m = _mask(fl, mask, node.args[0])
    numbers(fl, node, [val])
    t = val.type
    vt = {"uint32": N.INT64, "int64": N.INT64, "uint64": N.FLOAT64, "float32": N.FLOAT32,
          "float64": N.FLOAT64}.get(t.name, N.INT32)
    x = cast(b, val.val, t, vt)
    it = T.U64 if vt.bits == 64 else T.U32
    x = b.emit("bitcast", it, [x])
    r = ir.Const(T.U32, 0)
    for lane in range(32):
        o = b.emit("shfl", it, [m, x, ir.Const(T.S32, lane), ir.Const(T.S32, 32)], mode="idx")
        bit = b.emit("select", T.U32, [b.emit("eq", T.PRED, [o, x]), ir.Const(T.U32, 1 << lane),
                                       ir.Const(T.U32, 0)])
        r = bit if lane == 0 else b.emit("or", T.U32, [r, bit])
    r = b.emit("and", T.U32, [r, m])
    if name == "match_any_sync":
        return V(N.INT32, b.emit("bitcast", T.S32, [r]))
    same = b.emit("eq", T.PRED, [r, m])
    out = b.emit("select", T.U32, [same, m, ir.Const(T.U32, 0)])
    return V(N.Tuple((N.INT32, N.BOOL)), [V(N.INT32, b.emit("bitcast", T.S32, [out])), V(N.BOOL, same)])
