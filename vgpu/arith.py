"""C and PTX arithmetic over numpy arrays, op by op and type by type: THE semantics table of vgpu.

In:  an op name (the IR's alu/cmp/cvt/math ops, plus the ISA-only ops below), the result type `t`
     (for comparisons the OPERAND type), operand arrays already of their types, and for `cvt` the
     source type and a rounding mode.
Out: a numpy array of t's dtype (comparisons: bool) of the broadcast shape (0-d for 0-d operands).
The IR constant folder (`fold`) and the simulator (`evaluate`) share this table, so folding and
execution cannot disagree.  Nothing here raises or warns for any operand VALUES.

Integers wrap (two's complement).  Floats are IEEE binary16/binary32/binary64, round to nearest even,
subnormals kept (no FTZ, also for f16 as on the GPU); fma rounds once (exactly, also for f64 and f16).
Float add sub mul div fma rcp sqrt take PTX's rounding modes as `mode` (rn, the default; rz rm rp: exact).
f16 add/sub/mul/div are computed in f32 and rounded once more to f16, which is correctly rounded
(24 >= 2*11 + 2); f16 fma rounds a*b+c (exact in f64) to odd, then to f16.  Where C leaves a result
undefined, vgpu gives what an NVIDIA GPU gives:
- Division by zero (measured on an H200, /work/shared/reference/h200-edge-semantics.md): x % 0 is x;
  x / 0 is all ones (-1 signed, 0xFF..F unsigned), except at 64 bits where it is 0x00000000FFFFFFFF
  when 0 <= x < 2**32.  INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0 (the sequence divides magnitudes as
  unsigned and fixes the sign).
- shift amounts (u32) >= the width clamp as PTX: shl -> 0, unsigned shr -> 0, signed shr -> sign fill.
- abs(INT_MIN) = INT_MIN; neg wraps.
- float -> int saturates to the target range (PTX cvt); NaN gives 0 from f32 to 32 bits and the
  most negative value's bits (0x80000000, 0x8000000000000000) from f64 to 32 bits and from either to
  64 bits; 8- and 16-bit targets go through a 32-bit conversion (signed or unsigned as the target)
  and keep the low bits (`(short)INFINITY` is -1), except from f16, which saturates to the 8/16-bit
  range as nvcc's cvt.rzi.s16.f16 does (NaN gives 0).  Default rounding rzi.
- NaN results of f32 arithmetic, math and neg/abs are the canonical 0x7FFFFFFF, of f64 ones
  0xFFF8000000000000, of f16 ones (and of any conversion to f16) 0x7FFF; f64 -> f32 cvt of a NaN gives
  0xFFC00000 (as an H200 produces).
  copysign, select and bitcast move bits unchanged.
- min/max/fmin/fmax on floats return the non-NaN operand and order -0.0 below +0.0 (PTX min/max).
- Math library functions (exp, sin, pow, ...) are evaluated in float64 and rounded to the type:
  f32 results are within 1 ulp of correctly rounded, f64 results have numpy's libm accuracy (CUDA's
  own are <= 2 ulp).  The hardware approximations (ex2_approx lg2_approx sin_approx cos_approx
  rsqrt_approx) are given the same accurate values, rounded to f32.

ISA-only ops: mul_hi; mul_wide and mad_wide (t the WIDE type, a and b narrow); mad_lo; mad_hi; bfind; rint;
copysign; the unordered float compares equ neu ltu leu gtu geu num nan; ne_ordered (PTX setp.ne on
floats: ordered, whereas the IR's `ne` is C's != and true for NaN); the *_approx functions.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from vgpu.types import PRED, SCALARS, U32, Scalar, from_dtype, wrap_int

Impl = Callable[[Scalar, list, "Scalar | None", "str | None"], np.ndarray]
_KIND = {"pred": "int", "signed": "int", "unsigned": "int", "float": "float"}
_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _range(t: Scalar) -> tuple[int, int]:
    if t.is_signed:
        return -(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1
    return 0, (1 << t.bits) - 1


def _ones(t: Scalar) -> np.ndarray:
    return np.array(-1 if t.is_signed else (1 << t.bits) - 1, t.dtype)


def _uview(x: np.ndarray) -> np.ndarray:
    """x's bits as the unsigned integer of its width."""
    return x.view(_UNSIGNED[x.dtype.itemsize])


# ------------------------------------------------------------------------------------------ integer

def _div_by_zero(t, a):
    """x / 0 on the GPU: all ones; at 64 bits 0xFFFFFFFF when 0 <= x < 2**32."""
    if t.bits < 64:
        return _ones(t)
    small = (a >= 0) & (a <= 0xFFFFFFFF)
    return np.where(small, np.array(0xFFFFFFFF, t.dtype), _ones(t))


def _idiv(t, a, b):
    zero = b == 0
    if t.is_signed:
        ua, ub = _uview(np.abs(a)), _uview(np.abs(b))
        q = ua // np.where(zero, 1, ub)
        q = np.where((a ^ b) < 0, -q, q).view(t.dtype)
    else:
        q = a // np.where(zero, 1, b)
    return np.where(zero, _div_by_zero(t, a), q) if zero.any() else q


def _irem(t, a, b):
    zero = b == 0
    if t.is_signed:
        ua, ub = _uview(np.abs(a)), _uview(np.abs(b))
        r = ua % np.where(zero, 1, ub)
        r = np.where(a < 0, -r, r).view(t.dtype)
    else:
        r = a % np.where(zero, 1, b)
    return np.where(zero, a, r)                          # x % 0 is x on the GPU


def _amount(t, s):
    """Shift amount as u32, and the same clamped to width - 1 in t's dtype."""
    s = s.astype(np.uint32, copy=False)
    return s, np.minimum(s, t.bits - 1).astype(t.dtype)


def _shl(t, a, s):
    s, k = _amount(t, s)
    return np.where(s >= t.bits, 0, np.left_shift(a, k))


def _shr(t, a, s):
    s, k = _amount(t, s)
    r = np.right_shift(a, k)
    return r if t.is_signed else np.where(s >= t.bits, 0, r)


def _umulhi64(a, b):
    m = np.uint64(0xFFFFFFFF)
    a0, a1, b0, b1 = a & m, a >> 32, b & m, b >> 32
    p01, p10 = a0 * b1, a1 * b0
    mid = ((a0 * b0) >> 32) + (p01 & m) + (p10 & m)
    return a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32)


def _mul_hi(t, a, b):
    if t.bits <= 32:
        wide = np.int64 if t.is_signed else np.uint64
        return ((a.astype(wide) * b.astype(wide)) >> t.bits).astype(t.dtype)
    ua, ub = _uview(a), _uview(b)
    hi = _umulhi64(ua, ub)
    if t.is_signed:     # signed high product from the unsigned one
        hi = hi - np.where(a < 0, ub, 0) - np.where(b < 0, ua, 0)
    return hi.view(t.dtype)


def _mul_wide(t, a, b):
    return a.astype(t.dtype) * b.astype(t.dtype)


def _bin(f) -> Impl:
    return lambda t, a, src, mode: f(a[0], a[1])


def _un(f) -> Impl:
    return lambda t, a, src, mode: f(a[0])


def _typed(f) -> Impl:
    return lambda t, a, src, mode: f(t, *a)


def _abs_int(x):
    return x if x.dtype.kind == "u" else np.abs(x)


INTEGER: dict[str, Impl] = {
    "add": _bin(np.add), "sub": _bin(np.subtract), "mul": _bin(np.multiply),
    "div": _typed(_idiv), "rem": _typed(_irem),
    "and": _bin(np.bitwise_and), "or": _bin(np.bitwise_or), "xor": _bin(np.bitwise_xor),
    "not": _un(np.invert), "neg": _un(np.negative), "abs": _un(_abs_int),
    "shl": _typed(_shl), "shr": _typed(_shr),
    "min": _bin(np.minimum), "max": _bin(np.maximum),
    "mul_hi": _typed(_mul_hi), "mul_wide": _typed(_mul_wide),
    "mad_lo": lambda t, a, src, mode: a[0] * a[1] + a[2],
    "mad_hi": lambda t, a, src, mode: _mul_hi(t, a[0], a[1]) + a[2],
    "mad_wide": lambda t, a, src, mode: _mul_wide(t, a[0], a[1]) + a[2],
}

# -------------------------------------------------------------------------------------------- float

_QNAN = {np.dtype(np.float16): np.uint16(0x7FFF).view(np.float16),
         np.dtype(np.float32): np.uint32(0x7FFFFFFF).view(np.float32),
         np.dtype(np.float64): np.uint64(0xFFF8000000000000).view(np.float64)}
_CVT_NAN32 = np.uint32(0xFFC00000).view(np.float32)     # (float) of a double NaN


def _canon(r, nan=None):
    """r with every NaN replaced by the GPU's canonical NaN (or `nan`)."""
    isnan = np.isnan(r)
    if isnan.any():
        r = np.where(isnan, _QNAN[r.dtype] if nan is None else nan, r)
    return r


def _two_sum_err(x, y, s):
    """The exact error of s = fl(x + y) (Knuth's TwoSum; x + y == s + err when finite)."""
    bb = s - x
    return (x - (s - bb)) + (y - bb)


def _round_odd(s, err):
    """The f64 nearest to s + err rounded to odd: s moved one ulp towards s+err when inexact and even.

    Rounding the result again to f32 (any mode) rounds s + err correctly, with no double rounding."""
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0) & np.isfinite(s)
    step = np.where((err > 0) == (s > 0), 1, -1)        # +1 on the bits grows the magnitude
    return np.where(fix, bits + step, bits).view(np.float64)


def _f64_to_f32(x, rnd=None, dtype=np.float32):
    """Round float64 (or float32) values to float32 (or `dtype`, float16) with rounding mode rn (default)
    rz rm rp.  numpy converts directly (one rounding), also from float64 to float16."""
    r = x.astype(dtype)
    if rnd in (None, "rn"):
        return r
    r64 = r.astype(np.float64)
    x = x.astype(np.float64)
    away, toward = {"rz": (np.abs(r64) > np.abs(x), 0.0), "rm": (r64 > x, -np.inf),
                    "rp": (r64 < x, np.inf)}[rnd]
    return np.where(away, np.nextafter(r, r.dtype.type(toward)), r)


def _split(x):
    c = 134217729.0 * x                                  # Veltkamp: 2**27 + 1
    hi = c - (c - x)
    return hi, x - hi


def _fma64_exact(a: float, b: float, c: float) -> float:
    """fma of one finite lane with Python's exact rationals (lanes the fast path cannot take)."""
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return 0.0                                        # a, b, c nonzero: cancellation gives +0
    try:
        r = abs(float(exact))                             # int/int true division rounds correctly
    except OverflowError:
        r = float("inf")
    return -r if exact < 0 else r


def _fma64(a, b, c):
    """f64 fma rounded once: Dekker's exact product, then Boldo-Melquiond's sum via round-to-odd."""
    a, b, c = np.broadcast_arrays(a, b, c)
    uh = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl  # a*b == uh + ul exactly (in range)
    th = c + uh
    tl = _two_sum_err(c, uh, th)
    s2 = tl + ul
    r = th + _round_odd(s2, _two_sum_err(tl, ul, s2))
    ea, eb, ec = np.frexp(a)[1], np.frexp(b)[1], np.frexp(c)[1]
    finite_ab = np.isfinite(a) & np.isfinite(b)
    finite = finite_ab & np.isfinite(c)
    ab_zero = (a == 0) | (b == 0)
    zero = ab_zero | (c == 0)
    r = np.where(zero, np.where(ab_zero, uh + c, uh), r)        # c == 0: RN(a*b), sign kept
    r = np.where(finite, r, np.where(finite_ab, c, uh + c))
    fast = ~finite | zero | ((np.abs(ea) < 480) & (np.abs(eb) < 480) & (ea + eb > -900)
                             & (np.abs(ec) < 900))
    slow = np.flatnonzero(~fast)
    if slow.size:
        af, bf, cf, rf = a.ravel(), b.ravel(), c.ravel(), r.reshape(-1)
        for i in slow:
            rf[i] = _fma64_exact(float(af[i]), float(bf[i]), float(cf[i]))
    return r


def _fma(t, a, b, c):
    if t.bits == 64:
        return _canon(_fma64(a, b, c))
    a, b, c = (x.astype(np.float64) for x in (a, b, c))
    p = a * b                                            # exact: 24 + 24 (or 11 + 11) bits fit in 53
    s = p + c
    return _canon(_f64_to_f32(_round_odd(s, _two_sum_err(p, c, s)), None, t.dtype))


def _half(f):
    """An f16 op computed in f32 and rounded to f16 (correctly rounded for + - * /), NaNs canonical."""
    return lambda a, b: f(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)


def _fbin(f):
    """A binary float op at any float width (f16 through f32), NaN results canonical."""
    h = _half(f)
    return lambda t, a, src, mode: _canon(h(*a) if t.bits == 16 else f(*a))


def _fmin(a, b):
    both_zero = (a == 0) & (b == 0)
    return _canon(np.where(both_zero, np.where(np.signbit(a), a, b), np.fmin(a, b)))


def _fmax(a, b):
    both_zero = (a == 0) & (b == 0)
    return _canon(np.where(both_zero, np.where(np.signbit(a), b, a), np.fmax(a, b)))


def _round_half_away(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)   # x - t is exact


def _c(f):
    """A float op whose NaN results are canonical."""
    return lambda t, a, src, mode: _canon(f(*a))


# -- directed rounding (PTX .rz .rm .rp of add sub mul div fma rcp sqrt): exact, from the round-to-nearest
# result and the sign of its error.  f16/f32 operands: the exact value, or its round-to-odd f64 (the sign
# of the error as a sticky bit), rounded once to the type in the mode.  f64: the nearest value s and the
# sign of (exact - s) from an error-free transformation, s moved one step where the mode rounds the other
# way; lanes where that transformation is not exact (results or operands near the subnormal range, fma)
# are rounded from Python's exact rationals.
_TINY = 2.0 ** -960           # above this the remainders and product errors below are exact in f64


def _rational(q: Fraction, rnd: str) -> float:
    """The f64 of the exact rational q rounded in mode rnd (rz rm rp)."""
    try:
        r = float(q)                                      # to nearest, correctly rounded
        err = q - Fraction(r)
    except OverflowError:
        r, err = (math.inf, -1) if q > 0 else (-math.inf, 1)   # the exact value lies back toward zero
    return _step(np.float64(r), np.float64(np.sign(err)), rnd).item()


def _step(s, err, rnd):
    """s (rounded to nearest) moved to the value of mode rnd, given the sign of (exact - s)."""
    if rnd == "rz":
        move = ((s > 0) & (err < 0)) | ((s < 0) & (err > 0))
        return np.where(move, np.nextafter(s, 0.0), s)
    if rnd == "rm":
        return np.where(err < 0, np.nextafter(s, -np.inf), s)
    return np.where(err > 0, np.nextafter(s, np.inf), s)


def _exact(op, a, b=0.0, c=0.0) -> Fraction:
    """The exact result of `op` (add mul div fma) on finite f64 values; sqrt: a rational strictly between
    sqrt(a) and any f64 on either side of it (an exact square root itself)."""
    x, y, z = Fraction(a), Fraction(b), Fraction(c)
    if op == "sqrt":                                      # a = n / 2**k, k even; 128 bits past f64's 53
        k = 2 * (x.denominator.bit_length() // 2 + 1) + 256
        n = x.numerator * 2 ** k // x.denominator
        r = math.isqrt(n)
        return Fraction(r, 2 ** (k // 2)) if r * r == n else Fraction(2 * r + 1, 2 ** (k // 2 + 1))
    return {"add": lambda: x + y, "mul": lambda: x * y, "div": lambda: x / y, "fma": lambda: x * y + z}[op]()


def _fin(e):
    """e with its infinities and NaNs (the errors of results that are not finite) 0."""
    return np.where(np.isfinite(e), e, 0.0)


def _f64_directed(op, rnd, *args):
    """f64 `op` (add mul div sqrt fma; sub is add of -b) rounded in mode rnd (rz rm rp)."""
    args = np.broadcast_arrays(*args)
    a, b = args[0], args[-1]
    nonzero = (a != 0) & (b != 0)
    if op == "add":
        s = a + b
        err, slow = _fin(_two_sum_err(a, b, s)), np.zeros(s.shape, bool)
    elif op == "mul":
        s = a * b
        err, slow = _fma64(a, b, -s), (np.abs(s) < _TINY) & nonzero & np.isfinite(s)
    elif op == "div":
        s = a / b
        err = _fma64(-s, b, a) * np.where(np.signbit(b), -1.0, 1.0)
        slow = ((np.abs(s) < _TINY) | (np.abs(a) < _TINY)) & nonzero & np.isfinite(b)
    elif op == "sqrt":
        s = np.sqrt(a)
        err, slow = _fma64(-s, s, a), (a > 0) & (a < _TINY)
    else:                                                 # fma
        s = _fma64(*args)
        err = np.zeros(s.shape)
        slow = np.logical_and.reduce([np.isfinite(x) for x in (*args, s)]) & (a != 0) & (args[1] != 0)
    finite = np.logical_and.reduce([np.isfinite(x) for x in args]) & ((b != 0) if op == "div" else True)
    r = _step(s, np.where(np.isinf(s) & finite, -s, _fin(err)), rnd)   # overflowed: exact lies toward zero
    for i in np.flatnonzero(slow):
        r.flat[i] = _rational(_exact(op, *(float(x.flat[i]) for x in args)), rnd)
    return r


def _narrow_directed(op, rnd, dtype, *args):
    """f16/f32 `op` in mode rnd: the exact f64 value (or its round-to-odd), rounded once to dtype."""
    a, b, c = (list(x.astype(np.float64) for x in args) + [None, None])[:3]
    if op == "add":
        s = a + b
        x = _round_odd(s, _fin(_two_sum_err(a, b, s)))
    elif op == "mul":
        x = a * b                                         # exact: 2 x 24 bits, exponents in f64's range
    elif op == "div":
        q = a / b
        x = _round_odd(q, _fin(_fma64(-q, b, a) * np.where(np.signbit(b), -1.0, 1.0)))
    elif op == "sqrt":
        r = np.sqrt(a)
        x = _round_odd(r, _fin(_fma64(-r, r, a)))
    else:                                                 # fma: a*b exact, the sum rounded to odd
        p = a * b
        s = p + c
        x = _round_odd(s, _fin(_two_sum_err(p, c, s)))
    return _f64_to_f32(x, rnd, dtype)


def _rounded(op: str, rn: Impl) -> Impl:
    """`rn` (round to nearest) for mode None or 'rn', else `op` rounded exactly in the mode."""
    def run(t, a, src, mode):
        if mode in (None, "rn"):
            return rn(t, a, src, mode)
        args, kind = list(a), op
        if op == "sub":
            kind, args[1] = "add", -args[1]
        elif op == "rcp":
            kind, args = "div", [np.ones_like(args[0]), args[0]]
        r = _f64_directed(kind, mode, *args) if t.bits == 64 else _narrow_directed(kind, mode, t.dtype, *args)
        if mode == "rm" and kind in ("add", "fma"):
            r = _minus_zero(kind, args, r)
        return _canon(r.astype(t.dtype))
    run.rn = rn                 # what `_impl` hands out for round to nearest (no wrapper in the hot loop)
    return run


def _minus_zero(kind, args, r):
    """IEEE 754 6.3 in mode rm: an exact zero sum (a + b, a*b + c) is -0 unless both addends are +0
    (rounding to nearest, which the zeros above come from, gives +0)."""
    plus0 = lambda v: (v == 0) & ~np.signbit(v)          # noqa: E731
    if kind == "add":
        a, b = (x.astype(np.float64) for x in args)
        zero, both = a + b == 0, plus0(a) & plus0(b)     # a sum of two floats is never a rounded zero
    else:
        a, b, c = (x.astype(np.float64) for x in args)
        both = ((a == 0) | (b == 0)) & ~(np.signbit(a) ^ np.signbit(b)) & plus0(c)
        if args[0].dtype != np.float64:
            zero = a * b + c == 0                         # the product is exact in f64
        else:
            zero = np.zeros(r.shape, bool)
            for i in np.flatnonzero(r == 0):
                vals = [float(x.flat[i]) for x in np.broadcast_arrays(a, b, c)]
                zero.flat[i] = all(map(math.isfinite, vals)) and _exact("fma", *vals) == 0
    return np.where((r == 0) & zero, np.where(both, 0.0, -0.0).astype(r.dtype), r)


FLOAT: dict[str, Impl] = {
    "add": _rounded("add", _fbin(np.add)), "sub": _rounded("sub", _fbin(np.subtract)),
    "mul": _rounded("mul", _fbin(np.multiply)), "div": _rounded("div", _fbin(np.divide)),
    "neg": _c(np.negative), "abs": _c(np.abs), "min": _bin(_fmin), "max": _bin(_fmax),
}

# ------------------------------------------------------------------------------------------ compare

def _unordered(a, b):
    return np.isnan(a) | np.isnan(b)


def _not(f):
    return lambda a, b: np.logical_not(f(a, b))


COMPARE: dict[str, Impl] = {name: _bin(f) for name, f in {
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
    "ne_ordered": lambda a, b: (a != b) & ~_unordered(a, b),
    "equ": lambda a, b: (a == b) | _unordered(a, b), "neu": np.not_equal,
    "ltu": _not(np.greater_equal), "leu": _not(np.greater), "gtu": _not(np.less_equal),
    "geu": _not(np.less), "num": _not(_unordered), "nan": _unordered,
}.items()}

# ------------------------------------------------------------------------------------------ convert

_INTEGRAL = {"rni": np.rint, "rzi": np.trunc, "rmi": np.floor, "rpi": np.ceil,
             "rn": np.rint, "rz": np.trunc, "rm": np.floor, "rp": np.ceil}
_MODES: dict = {}


def _parse_mode(mode: str | None) -> tuple[str | None, bool]:
    """'rzi.sat' -> ('rzi', True); None -> (None, False)."""
    if mode not in _MODES:
        parts = (mode or "").split(".")
        _MODES[mode] = (next((p for p in parts if p and p != "sat"), None), "sat" in parts)
    return _MODES[mode]


def _float_to_int(t, x):
    """Integral float values to int type t, saturating; NaN as the GPU gives it (see the docstring);
    8- and 16-bit targets through the 32-bit conversion of their signedness, then the low bits."""
    if t.bits < 32:
        wide = SCALARS[("s" if t.is_signed else "u") + "32"]
        return _float_to_int(wide, x).astype(t.dtype)
    lo, hi = _range(t)
    over, under = x >= float(hi + 1), x < float(lo)     # hi + 1 and lo are powers of two: exact
    isnan = np.isnan(x)
    ok = ~(over | under | isnan)
    r = np.where(ok, x, 0).astype(t.dtype)
    r = np.where(over, hi, np.where(under, lo, r))
    if t.bits == 64 or x.dtype == np.float64:           # NaN: the sign bit alone (0 from f32 to 32 bits)
        r = np.where(isnan, np.array(1 << (t.bits - 1), _UNSIGNED[t.bits // 8]).view(t.dtype), r)
    return r


def _int_to_float(t, src, x, rnd):
    if src.bits <= 32:
        d = x.astype(np.float64)                         # exact
        return d if t.bits == 64 else _f64_to_f32(d, rnd, t.dtype)
    hi = (x >> 32).astype(np.float64) * 4294967296.0     # x == hi + lo, both exact in f64
    lo = (x & 0xFFFFFFFF).astype(np.float64)
    s = hi + lo
    err = _two_sum_err(hi, lo, s)
    if t.bits <= 32:
        return _f64_to_f32(_round_odd(s, err), rnd, t.dtype)
    if rnd == "rm":
        return np.where(err < 0, np.nextafter(s, -np.inf), s)
    if rnd == "rp":
        return np.where(err > 0, np.nextafter(s, np.inf), s)
    if rnd == "rz":
        return np.where(err * s < 0, np.nextafter(s, 0.0), s)
    return s


def _sat_int(t, src, x):
    """int -> int with saturation to t's range."""
    (lo, hi), (slo, shi) = _range(t), _range(src)
    if slo < lo:
        x = np.maximum(x, lo)
    if shi > hi:
        x = np.minimum(x, hi)
    return x.astype(t.dtype)


def _cvt(t, a, src, mode):
    x = a[0]
    src = src or from_dtype(x.dtype)
    rnd, sat = _parse_mode(mode)
    if t.kind == "pred":
        return x != 0
    if src.kind == "pred":
        return x.astype(t.dtype)
    if src.is_float and t.is_float:
        if rnd in ("rni", "rzi", "rmi", "rpi"):
            x, rnd = _INTEGRAL[rnd](x), None
        if t.bits < src.bits:
            r = _canon(_f64_to_f32(x, rnd, t.dtype), _CVT_NAN32 if t.bits == 32 else None)
        else:
            r = _canon(x.astype(t.dtype))
        return np.where(np.isnan(r), 0, np.clip(r, 0, 1)).astype(t.dtype) if sat else r
    if src.is_float and src.bits == 16:                 # f16 read as f32 (exact); 8/16-bit targets saturate
        x = _INTEGRAL[rnd or "rzi"](x.astype(np.float32))
        if t.bits < 32:
            lo, hi = _range(t)
            return np.where(np.isnan(x), 0, np.clip(x, lo, hi)).astype(t.dtype)
        return _float_to_int(t, x)
    if src.is_float:
        return _float_to_int(t, _INTEGRAL[rnd or "rzi"](x))
    if t.is_float:
        return _int_to_float(t, src, x, rnd)
    return _sat_int(t, src, x) if sat else x.astype(t.dtype)


def _select(t, a, src, mode):
    return np.where(a[0], a[1], a[2])


CONVERT: dict[str, Impl] = {
    "cvt": _cvt, "bitcast": lambda t, a, src, mode: a[0].view(t.dtype), "select": _select,
}

# --------------------------------------------------------------------------------------------- math

def _via64(f):
    """A math function evaluated in float64 and rounded to the type, NaNs canonical."""
    def run(t, a, src, mode):
        if t.bits == 64:
            return _canon(f(*a))
        return _canon(f(*(x.astype(np.float64) for x in a)).astype(t.dtype))
    return run


def _rsqrt(x):
    return 1.0 / np.sqrt(x)


MATH: dict[str, Impl] = {
    "sqrt": _rounded("sqrt", _c(np.sqrt)), "rcp": _rounded("rcp", _c(lambda x: np.divide(1, x))),
    "rsqrt": _via64(_rsqrt),
    "exp": _via64(np.exp), "exp2": _via64(np.exp2), "exp10": _via64(lambda x: np.power(10.0, x)),
    "log": _via64(np.log), "log2": _via64(np.log2), "log10": _via64(np.log10),
    "sin": _via64(np.sin), "cos": _via64(np.cos), "tan": _via64(np.tan), "tanh": _via64(np.tanh),
    "asin": _via64(np.arcsin), "acos": _via64(np.arccos), "atan": _via64(np.arctan),
    "sinh": _via64(np.sinh), "cosh": _via64(np.cosh), "pow": _via64(np.power),
    "atan2": _via64(np.arctan2),
    "floor": _c(np.floor), "ceil": _c(np.ceil), "trunc": _c(np.trunc), "rint": _c(np.rint),
    "round": _c(_round_half_away), "fabs": _c(np.abs), "copysign": _bin(np.copysign),
    "fmin": _bin(_fmin), "fmax": _bin(_fmax), "fmod": _c(np.fmod), "fma": _rounded("fma", _typed(_fma)),
    "ex2_approx": _via64(np.exp2), "lg2_approx": _via64(np.log2), "sin_approx": _via64(np.sin),
    "cos_approx": _via64(np.cos), "rsqrt_approx": _via64(_rsqrt),
}

# --------------------------------------------------------------------------------------------- bits

def _bitlen(u):
    """Bit length of unsigned values (0 for 0), as int64."""
    if u.dtype.itemsize <= 4:
        return np.frexp(u.astype(np.float64))[1].astype(np.int64)
    hi, lo = _bitlen((u >> 32).astype(np.uint32)), _bitlen((u & 0xFFFFFFFF).astype(np.uint32))
    return np.where(hi != 0, hi + 32, lo)


def _bfind(x):
    u = _uview(np.where(x < 0, ~x, x))                  # signed: the highest bit unlike the sign
    return np.where(u == 0, 0xFFFFFFFF, _bitlen(u) - 1)


def _brev(x):
    u = _uview(x)
    w = u.dtype.itemsize * 8
    shift = 1
    while shift < w:
        m = u.dtype.type(((1 << w) - 1) // ((1 << shift) + 1))   # 0x55.., 0x33.., 0x0F0F.., ...
        u = ((u >> shift) & m) | ((u & m) << shift)
        shift *= 2
    return u.view(x.dtype)


def _bits(f) -> Impl:
    return lambda t, a, src, mode: f(a[0]).astype(t.dtype)


BITS: dict[str, Impl] = {
    "popc": _bits(lambda x: np.bitwise_count(_uview(x))),
    "clz": _bits(lambda x: x.dtype.itemsize * 8 - _bitlen(_uview(x))),
    "ffs": _bits(lambda x: _bitlen(_uview(x) & -_uview(x))),
    "bfind": _bits(_bfind), "brev": _bits(_brev),
}

# ------------------------------------------------------------------------------------------ the table

_IMPL: dict[tuple[str, str], Impl] = {}
for _group, _kinds in ((INTEGER, ("int",)), (FLOAT, ("float",)), (COMPARE, ("int", "float")),
                       (CONVERT, ("int", "float")), (MATH, ("float",)), (BITS, ("int",))):
    for _op, _fn in _group.items():
        for _k in _kinds:
            _IMPL[_op, _k] = _fn

OPS: dict[str, tuple[str, ...]] = {}
"""Every op name -> the kinds of `t` it is defined for ('int' covers pred, 'float')."""
for (_op, _k) in _IMPL:
    OPS[_op] = OPS.get(_op, ()) + (_k,)


def resolve(op: str, t: Scalar, src: Scalar | None = None, mode: str | None = None) -> Callable:
    """`op` at type `t`, looked up once, as `f(args) -> ndarray`: the same function `evaluate` applies,
    for a caller that calls it many times with at least one 1-D array among the args and numpy's
    floating-point errors already silenced (the simulator decodes each instruction to one)."""
    fn = _impl(op, t, mode)
    return lambda args: fn(t, args, src, mode)


def _impl(op: str, t: Scalar, mode: str | None) -> Impl:
    fn = _IMPL[op, _KIND[t.kind]]
    return getattr(fn, "rn", fn) if mode in (None, "rn") else fn


def evaluate(op: str, t: Scalar, args: Sequence[np.ndarray], src: Scalar | None = None,
             mode: str | None = None) -> np.ndarray:
    """Apply `op` at type `t` to `args` lane-wise (see the module docstring)."""
    fn = _impl(op, t, mode)
    arrs = [np.asarray(a) for a in args]
    scalar = all(a.ndim == 0 for a in arrs)
    if scalar:              # numpy scalar arithmetic would warn on overflow; arrays wrap silently
        arrs = [a.reshape(1) for a in arrs]
    if t.is_float or arrs[0].dtype.kind == "f":
        with np.errstate(all="ignore"):
            r = fn(t, arrs, src, mode)
    else:
        r = fn(t, arrs, src, mode)
    return r.reshape(()) if scalar else r


def operand_types(op: str, t: Scalar, n: int, src: Scalar | None = None) -> tuple[Scalar, ...]:
    """The types of `op`'s n operands at result type t (what `evaluate` expects)."""
    if op == "select":
        return (PRED, t, t)
    if op in ("shl", "shr"):
        return (t, U32)
    if op in ("mul_wide", "mad_wide"):
        narrow = src or SCALARS[t.name[0] + str(t.bits // 2)]
        return (narrow, narrow, t)[:n]
    if op in ("cvt", "bitcast") or op in BITS:
        return (src or t,)
    return (t,) * n


def _const(v, ty: Scalar) -> np.ndarray:
    if ty.is_float:
        return np.array(float(v), ty.dtype)
    if ty.kind == "pred":
        return np.array(bool(v))
    return np.array(wrap_int(v, ty.bits, ty.is_signed), ty.dtype)


def fold(op: str, t: Scalar, consts: list, src: Scalar | None = None, mode: str | None = None):
    """`evaluate` on Python scalars, for the constant folder: the Python int/float/bool result.

    Ints are taken modulo 2**bits (so -1 and 0xFFFFFFFF are the same u32) and returned as the value
    in the result type's range; f32 operands are rounded to f32 first."""
    args = [_const(c, ty) for c, ty in zip(consts, operand_types(op, t, len(consts), src))]
    return evaluate(op, t, args, src, mode).item()
