"""An independent model of C / PTX scalar arithmetic in pure Python, to test vgpu.arith against.

One lane at a time: integers are Python ints wrapped explicitly to the type's width; floats are
Python floats holding exactly representable values of the type, and every rounding is done here from
the exact rational result (fractions.Fraction) by `round_float`, written from the IEEE 754 rules.
Types are given by name ('s32', 'f32', ...).  GPU choices (see vgpu/arith.py's docstring and
/work/shared/reference/h200-edge-semantics.md): x%0 is x, x/0 is all ones (at 64 bits 0xFFFFFFFF when
0 <= x < 2**32), float -> int saturates with NaN -> 0 from f32 to 32 bits and the sign bit alone
otherwise, float -> 8/16 bits goes through 32 bits, min/max order -0 below +0.
"""
from __future__ import annotations

import math
import struct
from fractions import Fraction

BITS = {"pred": 1, "s8": 8, "u8": 8, "s16": 16, "u16": 16, "s32": 32, "u32": 32, "s64": 64, "u64": 64,
        "f32": 32, "f64": 64}
FORMATS = {"f32": (24, -126, 127), "f64": (53, -1022, 1023)}   # precision, emin, emax
INF, NAN = math.inf, math.nan


def signed(t: str) -> bool:
    return t[0] == "s"


def int_range(t: str) -> tuple[int, int]:
    b = BITS[t]
    return (-(1 << (b - 1)), (1 << (b - 1)) - 1) if signed(t) else (0, (1 << b) - 1)


def wrap(v: int, t: str) -> int:
    b = BITS[t]
    v &= (1 << b) - 1
    return v - (1 << b) if signed(t) and v >> (b - 1) else v


# ----------------------------------------------------------------------------------- float rounding

def round_float(q: Fraction, fmt: str, mode: str = "rn") -> float:
    """The value of format fmt nearest the exact rational q under rounding mode rn rz rm rp."""
    p, emin, emax = FORMATS[fmt]
    neg = q < 0
    a = abs(q)
    if a == 0:
        return -0.0 if neg else 0.0
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    quantum = Fraction(2) ** (max(e, emin) - p + 1)      # spacing of the format around a
    n, rest = divmod(a, quantum)
    n = int(n)
    up = {"rn": rest > quantum / 2 or (rest == quantum / 2 and n % 2 == 1),
          "rz": False, "rm": neg and rest > 0, "rp": (not neg) and rest > 0}[mode]
    n += up
    largest = (2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax
    mag = n * quantum
    if mag > largest:
        to_inf = {"rn": True, "rz": False, "rm": neg, "rp": not neg}[mode]
        v = INF if to_inf else float(largest)
    else:
        v = float(mag)
    return -v if neg else v


def is_finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def round_sqrt(q: Fraction, fmt: str) -> float:
    """sqrt of a positive rational, correctly rounded: an integer square root with a sticky half."""
    k = max(0, (240 - q.numerator.bit_length() + q.denominator.bit_length()) // 2)   # s gets >= 120 bits
    scaled = q * 4 ** k
    n = scaled.numerator // scaled.denominator
    s = math.isqrt(n)
    exact = s * s == n and scaled.denominator == 1
    return round_float((Fraction(s) if exact else s + Fraction(1, 2)) / 2 ** k, fmt)


# -------------------------------------------------------------------------------------- integer ops

def idiv(a: int, b: int, t: str) -> int:
    if b == 0:
        return 0xFFFFFFFF if BITS[t] == 64 and 0 <= a < 1 << 32 else wrap(-1, t)
    q = abs(a) // abs(b)
    return wrap(-q if (a < 0) != (b < 0) else q, t)


def irem(a: int, b: int, t: str) -> int:
    if b == 0:
        return a
    return wrap(a - b * idiv(a, b, t) if (a, b) != (int_range(t)[0], -1) else 0, t)


def shl(a: int, s: int, t: str) -> int:
    return 0 if s >= BITS[t] else wrap(a << s, t)


def shr(a: int, s: int, t: str) -> int:
    if signed(t):
        return a >> min(s, BITS[t] - 1)
    return 0 if s >= BITS[t] else a >> s


INT_OPS = {
    "add": lambda t, a, b: wrap(a + b, t), "sub": lambda t, a, b: wrap(a - b, t),
    "mul": lambda t, a, b: wrap(a * b, t), "div": lambda t, a, b: idiv(a, b, t),
    "rem": lambda t, a, b: irem(a, b, t), "and": lambda t, a, b: wrap(a & b, t),
    "or": lambda t, a, b: wrap(a | b, t), "xor": lambda t, a, b: wrap(a ^ b, t),
    "shl": lambda t, a, s: shl(a, s, t), "shr": lambda t, a, s: shr(a, s, t),
    "min": lambda t, a, b: min(a, b), "max": lambda t, a, b: max(a, b),
    "not": lambda t, a: wrap(~a, t), "neg": lambda t, a: wrap(-a, t), "abs": lambda t, a: wrap(abs(a), t),
    "mul_hi": lambda t, a, b: wrap((a * b) >> BITS[t], t),
    "mad_lo": lambda t, a, b, c: wrap(a * b + c, t),
}


# ---------------------------------------------------------------------------------------- float ops

def fadd(a: float, b: float, fmt: str) -> float:
    if not is_finite(a, b):
        return a + b
    q = Fraction(a) + Fraction(b)
    return a + b if q == 0 else round_float(q, fmt)      # exact zero: IEEE sign rules


def fmul(a: float, b: float, fmt: str) -> float:
    if not is_finite(a, b) or a == 0 or b == 0:
        return a * b
    return round_float(Fraction(a) * Fraction(b), fmt)


def fdiv(a: float, b: float, fmt: str) -> float:
    sign = -1.0 if (math.copysign(1, a) < 0) != (math.copysign(1, b) < 0) else 1.0
    if math.isnan(a) or math.isnan(b) or (math.isinf(a) and math.isinf(b)) or (a == 0 and b == 0):
        return NAN
    if b == 0 or math.isinf(a):
        return sign * INF
    if math.isinf(b) or a == 0:
        return sign * 0.0
    return round_float(Fraction(a) / Fraction(b), fmt)


def fsqrt(a: float, fmt: str) -> float:
    if math.isnan(a) or a < 0:
        return NAN
    if a == 0 or math.isinf(a):
        return a
    return round_sqrt(Fraction(a), fmt)


def frsqrt(a: float, fmt: str) -> float:
    if math.isnan(a) or a < 0:
        return NAN
    if a == 0:
        return math.copysign(INF, a)
    if math.isinf(a):
        return 0.0
    return round_sqrt(1 / Fraction(a), fmt)


def ffma(a: float, b: float, c: float, fmt: str) -> float:
    if math.isnan(a) or math.isnan(b) or math.isnan(c):
        return NAN
    if math.isinf(a) or math.isinf(b):
        if a == 0 or b == 0:
            return NAN
        prod = math.copysign(INF, a) * math.copysign(1, b)
        return NAN if math.isinf(c) and c != prod else prod
    if math.isinf(c):
        return c
    q = Fraction(a) * Fraction(b) + Fraction(c)
    if q == 0:
        prod_neg = (math.copysign(1, a) < 0) != (math.copysign(1, b) < 0)
        exact_zero_prod = a == 0 or b == 0
        both_neg = exact_zero_prod and prod_neg and math.copysign(1, c) < 0
        return -0.0 if both_neg else 0.0
    return round_float(q, fmt)


def fminmax(a: float, b: float, is_min: bool) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    if a == 0 and b == 0:
        neg_a, neg_b = math.copysign(1, a) < 0, math.copysign(1, b) < 0
        neg = (neg_a or neg_b) if is_min else (neg_a and neg_b)
        return -0.0 if neg else 0.0
    return min(a, b) if is_min else max(a, b)


def integral(a: float, mode: str) -> float:
    """a rounded to an integral value: rni (half even) rzi rmi rpi, or 'away' (C round)."""
    if not is_finite(a) or a == 0:
        return a
    q = Fraction(a)
    n = {"rni": lambda: round(q), "rzi": lambda: math.trunc(q), "rmi": lambda: math.floor(q),
         "rpi": lambda: math.ceil(q),
         "away": lambda: int(math.copysign(math.floor(abs(q) + Fraction(1, 2)), a))}[mode]()
    return math.copysign(float(n), a) if n == 0 else float(n)


def ffmod(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0:
        return NAN
    if math.isinf(b) or a == 0:
        return a
    qa, qb = Fraction(a), Fraction(b)
    r = qa - math.trunc(qa / qb) * qb
    return math.copysign(0.0, a) if r == 0 else float(r)


def c_pow(x: float, y: float) -> float:
    """C99 pow in double, from Python's math.pow (which raises where C returns NaN or inf)."""
    odd_int = math.isfinite(y) and y == math.floor(y) and math.fmod(y, 2) != 0
    if x == 0 and y < 0:
        return math.copysign(INF, x) if odd_int else INF
    try:
        return math.pow(x, y)
    except ValueError:
        return NAN
    except OverflowError:
        return -INF if x < 0 and odd_int else INF


def _libm(f):
    def run(*xs: float) -> float:
        try:
            return f(*xs)
        except ValueError:
            return NAN
        except OverflowError:
            return INF
    return run


def _exp10(x: float) -> float:
    return c_pow(10.0, x)


TRANSCENDENTAL = {
    "exp": _libm(math.exp), "exp2": _libm(lambda x: c_pow(2.0, x)), "exp10": _libm(_exp10),
    "log": _libm(lambda x: -INF if x == 0 else math.log(x)),
    "log2": _libm(lambda x: -INF if x == 0 else math.log2(x)),
    "log10": _libm(lambda x: -INF if x == 0 else math.log10(x)),
    "sin": _libm(math.sin), "cos": _libm(math.cos), "tan": _libm(math.tan), "tanh": _libm(math.tanh),
    "asin": _libm(math.asin), "acos": _libm(math.acos), "atan": _libm(math.atan),
    "sinh": _libm(lambda x: math.copysign(INF, x) if abs(x) > 711 else math.sinh(x)),
    "cosh": _libm(lambda x: INF if abs(x) > 711 else math.cosh(x)),
    "pow": c_pow, "atan2": _libm(math.atan2),
    "ex2_approx": _libm(lambda x: c_pow(2.0, x)), "lg2_approx": _libm(lambda x: -INF if x == 0 else math.log2(x)),
    "sin_approx": _libm(math.sin), "cos_approx": _libm(math.cos),
}


def transcendental(op: str, fmt: str, *xs: float) -> float:
    r = TRANSCENDENTAL[op](*xs)
    return r if fmt == "f64" or not is_finite(r) else round_float(Fraction(r), "f32")


FLOAT_OPS = {
    "add": lambda f, a, b: fadd(a, b, f), "sub": lambda f, a, b: fadd(a, -b, f),
    "mul": lambda f, a, b: fmul(a, b, f), "div": lambda f, a, b: fdiv(a, b, f),
    "neg": lambda f, a: -a, "abs": lambda f, a: abs(a), "fabs": lambda f, a: abs(a),
    "min": lambda f, a, b: fminmax(a, b, True), "max": lambda f, a, b: fminmax(a, b, False),
    "fmin": lambda f, a, b: fminmax(a, b, True), "fmax": lambda f, a, b: fminmax(a, b, False),
    "sqrt": lambda f, a: fsqrt(a, f), "rsqrt": lambda f, a: frsqrt(a, f),
    "rsqrt_approx": lambda f, a: frsqrt(a, f), "rcp": lambda f, a: fdiv(1.0, a, f),
    "fma": lambda f, a, b, c: ffma(a, b, c, f),
    "floor": lambda f, a: integral(a, "rmi"), "ceil": lambda f, a: integral(a, "rpi"),
    "trunc": lambda f, a: integral(a, "rzi"), "rint": lambda f, a: integral(a, "rni"),
    "round": lambda f, a: integral(a, "away"), "fmod": lambda f, a, b: ffmod(a, b),
    "copysign": lambda f, a, b: math.copysign(a, b),
}

# -------------------------------------------------------------------------------------- comparisons

def _unord(a, b) -> bool:
    return isinstance(a, float) and (math.isnan(a) or math.isnan(b))


COMPARE = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "ne_ordered": lambda a, b: not _unord(a, b) and a != b,
    "equ": lambda a, b: _unord(a, b) or a == b, "neu": lambda a, b: _unord(a, b) or a != b,
    "ltu": lambda a, b: _unord(a, b) or a < b, "leu": lambda a, b: _unord(a, b) or a <= b,
    "gtu": lambda a, b: _unord(a, b) or a > b, "geu": lambda a, b: _unord(a, b) or a >= b,
    "num": lambda a, b: not _unord(a, b), "nan": lambda a, b: _unord(a, b),
}

# -------------------------------------------------------------------------------------- conversions

def cvt(x, dst: str, src: str, mode: str | None = None):
    """C / PTX conversion of one value from type src to type dst."""
    rnd = next((p for p in (mode or "").split(".") if p and p != "sat"), None)
    sat = "sat" in (mode or "").split(".")
    if dst == "pred":
        return x != 0
    if src == "pred":
        return float(x) if dst[0] == "f" else int(x)
    if src[0] == "f" and dst[0] == "f":
        if rnd in ("rni", "rzi", "rmi", "rpi"):
            x, rnd = integral(x, rnd), None
        r = x if not is_finite(x) or x == 0 else round_float(Fraction(x), dst, rnd or "rn")
        if sat:
            r = 0.0 if math.isnan(r) else min(max(r, 0.0), 1.0)
        return r
    if src[0] == "f":
        if BITS[dst] < 32:
            return wrap(cvt(x, dst[0] + "32", src, mode), dst)
        if math.isnan(x):
            return 0 if src == "f32" and BITS[dst] == 32 else wrap(1 << (BITS[dst] - 1), dst)
        lo, hi = int_range(dst)
        if math.isinf(x):
            return hi if x > 0 else lo
        n = int(integral(x, {"rn": "rni", "rz": "rzi", "rm": "rmi", "rp": "rpi"}.get(rnd, rnd or "rzi")))
        return min(max(n, lo), hi)
    if dst[0] == "f":
        return round_float(Fraction(x), dst, rnd or "rn")
    if sat:
        lo, hi = int_range(dst)
        return min(max(x, lo), hi)
    return wrap(x, dst)


_PACK = {"s8": "b", "u8": "B", "s16": "h", "u16": "H", "s32": "i", "u32": "I", "s64": "q", "u64": "Q",
         "f32": "f", "f64": "d"}


def bitcast(x, dst: str, src: str):
    return struct.unpack("<" + _PACK[dst], struct.pack("<" + _PACK[src], x))[0]


# --------------------------------------------------------------------------------------------- bits

def bits_op(op: str, x: int, src: str) -> int:
    w = BITS[src]
    u = x & ((1 << w) - 1)
    if op == "popc":
        return bin(u).count("1")
    if op == "clz":
        return w - u.bit_length()
    if op == "ffs":
        return (u & -u).bit_length()
    if op == "brev":
        return wrap(int(format(u, f"0{w}b")[::-1], 2), src)
    v = ~x if x < 0 else x                                 # bfind
    return v.bit_length() - 1 if v else 0xFFFFFFFF
