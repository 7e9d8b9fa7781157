"""Python's arithmetic operators on numbers, as numba-cuda computes them.

In:  two typed values and an operator name (add sub mul truediv floordiv mod pow and or xor shl shr).
Out: the typed result, built in IR:
  - the result type is Numba's (`ntypes`): integers compute in 64 bits, `/` is true division;
  - `//` and `%` floor like Python; an integer division by zero (or MIN // -1) gives 0, as Numba's
    'numpy' error model (the CUDA target's) does; floats follow CPython's float divmod algorithm, its
    `fmod` being LLVM's `frem` as NVPTX expands it (`_frem`, inexact for large quotients, as on a GPU);
  - `**` with an integer exponent multiplies by squaring (unrolled for a constant exponent), as
    Numba's int_power_impl / static_power_impl; with a float exponent it is `pow`.
"""
from __future__ import annotations

from ... import types as T
from ...ir import nodes as ir
from . import ntypes as N
from .values import V, cast

_SIMPLE = {"add": "add", "sub": "sub", "mul": "mul", "and": "and", "or": "or", "xor": "xor"}


def binop(fl, op: str, a: V, c: V, node) -> V:
    b = fl.b
    at, ct = a.type, c.type
    if op in ("and", "or", "xor"):
        rt = N.bitwise_result(at, ct)
    elif op in ("shl", "shr"):
        rt = N.shift_result(at, ct)
    elif op == "truediv":
        rt = N.truediv_result(at, ct)
    elif op == "pow":
        rt = N.pow_result(at, ct)
    else:
        rt = N.arith_result(at, ct, {"floordiv": "//", "mod": "%"}.get(op, "+"))
    if rt is None:
        sym = {"and": "&", "or": "|", "xor": "^", "shl": "<<", "shr": ">>"}[op]
        raise fl.err(node, f"unsupported operand types for {sym}: {at} and {ct}")
    if op == "pow":
        return _pow(fl, a, c, rt)
    x = cast(b, a.val, at, rt)
    if op in ("shl", "shr"):
        amount = cast(b, c.val, ct, rt)
        amount = ir.Const(T.U32, amount.value % 2 ** 32) if isinstance(amount, ir.Const) else \
            b.emit("cvt", T.U32, [amount])
        return V(rt, b.emit(op, rt.ir, [x, amount]))
    y = cast(b, c.val, ct, rt)
    if op in _SIMPLE:
        if rt == N.BOOL:
            return V(rt, b.emit(_SIMPLE[op], T.PRED, [x, y]))
        return V(rt, b.emit(_SIMPLE[op], rt.ir, [x, y]))
    if op == "truediv":
        return V(rt, b.emit("div", rt.ir, [x, y]))
    if rt.is_float:
        q, r = _float_divmod(b, x, y, rt)
    else:
        q, r = _int_divmod(b, x, y, rt)
    return V(rt, q if op == "floordiv" else r)


def _int_divmod(b, x, y, t: N.Number):
    s = t.ir
    zero, one = ir.Const(s, 0), ir.Const(s, 1)
    if isinstance(y, ir.Const) and y.value > 0 and y.value & (y.value - 1) == 0:
        # a power of two 2^k: floor division is the (arithmetic) shift by k, the floor modulo the low k bits
        k = y.value.bit_length() - 1
        return b.emit("shr", s, [x, ir.Const(T.U32, k)]), b.emit("and", s, [x, ir.Const(s, y.value - 1)])
    bad = b.emit("eq", T.PRED, [y, zero])
    if t.signed:
        lo = ir.Const(s, -(1 << (t.bits - 1)))
        ovf = b.emit("and", T.PRED, [b.emit("eq", T.PRED, [x, lo]), b.emit("eq", T.PRED, [y, ir.Const(s, -1)])])
        bad = b.emit("or", T.PRED, [bad, ovf])
    safe = b.emit("select", s, [bad, one, y])
    q = b.emit("div", s, [x, safe])
    r = b.emit("rem", s, [x, safe])
    if t.signed:
        nz = b.emit("ne", T.PRED, [r, zero])
        differ = b.emit("lt", T.PRED, [b.emit("xor", s, [r, safe]), zero])
        adj = b.emit("and", T.PRED, [nz, differ])
        q = b.emit("select", s, [adj, b.emit("sub", s, [q, one]), q])
        r = b.emit("select", s, [adj, b.emit("add", s, [r, safe]), r])
    return b.emit("select", s, [bad, zero, q]), b.emit("select", s, [bad, zero, r])


def _copysign_zero(b, like, t: T.Scalar):
    """+0.0 or -0.0 with the sign of `like`."""
    it = T.U32 if t.bits == 32 else T.U64
    sign = b.emit("and", it, [b.emit("bitcast", it, [like]), ir.Const(it, 1 << (t.bits - 1))])
    return b.emit("bitcast", t, [sign])


def _frem(b, x, y, s: T.Scalar):
    """LLVM's `frem` as NVPTX expands it (no fmod instruction on the GPU): |x| - floor(|x|/|y|)*|y|
    (divide, multiply and subtract each rounded, not fused), with the sign of x when x < 0.  Unlike
    fmod it is inexact for large quotients; this is what numba-cuda's float % and // compute."""
    ax, ay = b.emit("fabs", s, [x]), b.emit("fabs", s, [y])
    q = b.emit("floor", s, [b.emit("div", s, [ax, ay])])
    r = b.emit("sub", s, [ax, b.emit("mul", s, [q, ay], nofuse=True)])
    neg = b.emit("lt", T.PRED, [x, ir.Const(s, 0.0)])
    return b.emit("select", s, [neg, b.emit("neg", s, [r]), r])


def _float_divmod(b, vx, wx, t: N.Number):
    """CPython's float divmod (Numba's real_divmod); x // 0.0 is x / 0.0 and x % 0.0 NaN."""
    s = t.ir
    z = ir.Const(s, 0.0)
    mod = _frem(b, vx, wx, s)
    div = b.emit("div", s, [b.emit("sub", s, [vx, mod]), wx])
    mod_nz = b.emit("ne", T.PRED, [mod, z])
    differ = b.emit("xor", T.PRED, [b.emit("lt", T.PRED, [wx, z]), b.emit("lt", T.PRED, [mod, z])])
    fix = b.emit("and", T.PRED, [mod_nz, differ])
    mod2 = b.emit("select", s, [fix, b.emit("add", s, [mod, wx]), mod])
    div2 = b.emit("select", s, [fix, b.emit("sub", s, [div, ir.Const(s, 1.0)]), div])
    mod3 = b.emit("select", s, [mod_nz, mod2, _copysign_zero(b, wx, s)])
    fl = b.emit("floor", s, [div2])
    up = b.emit("gt", T.PRED, [b.emit("sub", s, [div2, fl]), ir.Const(s, 0.5)])
    fl2 = b.emit("select", s, [up, b.emit("add", s, [fl, ir.Const(s, 1.0)]), fl])
    quot = b.emit("div", s, [vx, wx])
    div_nz = b.emit("ne", T.PRED, [div2, z])
    floordiv = b.emit("select", s, [div_nz, fl2, _copysign_zero(b, quot, s)])
    wz = b.emit("eq", T.PRED, [wx, z])
    return b.emit("select", s, [wz, quot, floordiv]), mod3


def _pow(fl, a: V, c: V, rt: N.Number) -> V:
    b = fl.b
    if c.type.is_float or (rt.is_float and a.type.is_float and c.type.is_float):
        return V(rt, b.emit("pow", rt.ir, [cast(b, a.val, a.type, rt), cast(b, c.val, c.type, rt)]))
    if rt.is_float and not (c.type.is_int or c.type == N.BOOL):
        return V(rt, b.emit("pow", rt.ir, [cast(b, a.val, a.type, rt), cast(b, c.val, c.type, rt)]))
    s = rt.ir
    base = cast(b, a.val, a.type, rt)
    mul = "mul"
    if isinstance(c.val, ir.Const) and abs(c.val.value) <= 0x10000:
        e = int(c.val.value)
        invert, e = e < 0, abs(e)
        res, val = None, base
        while e:
            if e & 1:
                res = val if res is None else b.emit(mul, s, [res, val])
            e >>= 1
            if e:
                val = b.emit(mul, s, [val, val])
        res = res if res is not None else ir.Const(s, 1.0 if rt.is_float else 1)
        if invert:
            res = _invert(b, res, rt)
        return V(rt, res)
    return V(rt, _pow_loop(fl, base, c, rt))


def _invert(b, r, rt: N.Number):
    if rt.is_float:
        d = cast(b, r, rt, N.FLOAT64)
        return cast(b, b.emit("div", T.F64, [ir.Const(T.F64, 1.0), d]), N.FLOAT64, rt)
    s = rt.ir
    zero_ret = ir.Const(s, -(1 << (rt.bits - 1)) if rt.signed else 1 << (rt.bits - 1))
    is0 = b.emit("eq", T.PRED, [r, ir.Const(s, 0)])
    unit = b.emit("or", T.PRED, [b.emit("eq", T.PRED, [r, ir.Const(s, 1)]),
                                 b.emit("eq", T.PRED, [r, ir.Const(s, -1 if rt.signed else 2 ** rt.bits - 1)])])
    v = b.emit("select", s, [unit, r, ir.Const(s, 0)])
    return b.emit("select", s, [is0, zero_ret, v])


def _pow_loop(fl, base, c: V, rt: N.Number):
    """Numba's int_power_impl for a run-time integer exponent."""
    b = fl.b
    s = rt.ir
    et = N.int_of(64, c.type.signed) if c.type != N.BOOL else N.INT64
    e = cast(b, c.val, c.type, et)
    neg = b.emit("lt", T.PRED, [e, ir.Const(et.ir, 0)]) if et.signed else ir.Const(T.PRED, False)
    mag = b.emit("select", et.ir, [neg, b.emit("neg", et.ir, [e]), e])
    one = ir.Const(s, 1.0 if rt.is_float else 1)
    k = ("$pow", id(c), fl.inst, b.cur.name)
    head, body, done = b.block("pow.head"), b.block("pow.body"), b.block("pow.done")
    b.write((k, "r"), one)
    b.write((k, "a"), base)
    b.write((k, "e"), mag)
    b.jmp(head)
    b.at(head)
    ev = b.read((k, "e"), et.ir)
    b.br(b.emit("ne", T.PRED, [ev, ir.Const(et.ir, 0)]), body, done)
    b.seal(body)
    b.at(body)
    r, av = b.read((k, "r"), s), b.read((k, "a"), s)
    odd = b.emit("ne", T.PRED, [b.emit("and", et.ir, [ev, ir.Const(et.ir, 1)]), ir.Const(et.ir, 0)])
    b.write((k, "r"), b.emit("select", s, [odd, b.emit("mul", s, [r, av]), r]))
    b.write((k, "e"), b.emit("shr", et.ir, [ev, ir.Const(T.U32, 1)]))
    b.write((k, "a"), b.emit("mul", s, [av, av]))
    b.jmp(head)
    b.seal(head)
    b.seal(done)
    b.at(done)
    r = b.read((k, "r"), s)
    if et.signed:
        inv = _invert(b, r, rt)
        if not rt.is_float:
            # an integer to a negative power: 0 unless the base is 1 or -1 (0 ** -n: the minimum int)
            base_inv = _invert(b, base, rt)
            inv = base_inv if rt.signed else inv
            odd = b.emit("ne", T.PRED, [b.emit("and", et.ir, [mag, ir.Const(et.ir, 1)]), ir.Const(et.ir, 0)])
            m1 = b.emit("eq", T.PRED, [base, ir.Const(s, -1)])
            inv = b.emit("select", s, [b.emit("and", T.PRED, [m1, b.emit("not", T.PRED, [odd])]),
                                       ir.Const(s, 1), inv])
        r = b.emit("select", s, [neg, inv, r])
    return r
