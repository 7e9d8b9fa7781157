"""Random tier-1 expression kernels, with the result every lane must compute under C++ rules.

In:  hypothesis draws (`cases(floats)` is the strategy).
Out: a `Case`: a `.vk` kernel computing one expression per thread over its inputs a b c (int), u v
     (unsigned), x y (float), i (the thread's index) and threadIdx.x, plus the inputs and the values the
     model says each of the 64 lanes stores.

The model is this file's own reading of the C++ rules (CUDA is C++17): literal types (`7` int, `7u` and
`0x80000000` unsigned, `1.5f` float, `1.5` double), the integer promotions, the usual arithmetic
conversions, each operator's result type (comparisons, `!`, `&&`, `||` give bool; a shift has its
promoted left operand's type; `?:` its operands' common type), conversions by cast and on assignment
(including compound assignment).  Leaf arithmetic (rounding to f32/f64) comes from tests/cmodel.py.

Undefined behaviour is avoided the way a C programmer must: the tree is built bottom-up with every
lane's value known, and an operation that would be undefined in some lane (evaluated or not) is
rewritten: signed `+ - *` and unary `-` that overflow go through unsigned (`(int)((unsigned)l + r)`,
the modulo conversion back being nvcc's implementation-defined choice), a divisor that is 0 becomes
`(d == 0 ? 1 : d)` and one that is -1 under INT_MIN `(d == -1 ? 1 : d)`, a shift amount out of range is
masked `& 31`, a signed left shift of a negative value or past the unsigned range shifts
`(unsigned)l`, and a float converted to an integer type it does not fit is first replaced by 0 where it
is out of range (`(x > -2147483649.0 && x < 2147483648.0 ? x : 0.0f)`).  A compound assignment that
would be undefined is not emitted.
"""
from __future__ import annotations

import math
import random
import struct
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import strategies as st

import cmodel

LANES = 64
INT_MIN, INT_MAX, UINT_MAX = -(1 << 31), (1 << 31) - 1, (1 << 32) - 1
INTEGER = ("bool", "int", "unsigned")
FLOATING = ("float", "double")
UB = object()                         # a lane whose evaluation is undefined behaviour
FMT = {"float": "f32", "double": "f64"}

# Precedence of each operator (higher binds tighter); binary operators are left-associative.
PREC = {"*": 13, "/": 13, "%": 13, "+": 12, "-": 12, "<<": 11, ">>": 11, "<": 10, ">": 10, "<=": 10,
        ">=": 10, "==": 9, "!=": 9, "&": 8, "^": 7, "|": 6, "&&": 5, "||": 4}
UNARY, TERNARY, PRIMARY = 14, 3, 16
ARITH_OPS = ("+", "-", "*", "/")
INT_OPS = ("%", "<<", ">>", "&", "|", "^")
COMPARE_OPS = ("<", ">", "<=", ">=", "==", "!=")


# ------------------------------------------------------------------------------------- the C++ rules

def promote(t: str) -> str:
    return "int" if t == "bool" else t


def common(t1: str, t2: str) -> str:
    """The usual arithmetic conversions."""
    for f in ("double", "float"):
        if f in (t1, t2):
            return f
    return "unsigned" if "unsigned" in (promote(t1), promote(t2)) else "int"


def result_type(op: str, tl: str, tr: str) -> str:
    if op in COMPARE_OPS or op in ("&&", "||"):
        return "bool"
    if op in ("<<", ">>"):
        return promote(tl)
    return common(tl, tr)


def convert(v, src: str, dst: str):
    """One value converted from type src to dst (cast or assignment); UB where C++ leaves it undefined."""
    if v is UB:
        return UB
    if dst == "bool":
        return v != 0                                     # NaN != 0: true
    if src == "bool":
        v = int(v)
    if dst in INTEGER:
        if src in FLOATING:
            if not math.isfinite(v):
                return UB
            v = math.trunc(v)
            lo, hi = (INT_MIN, INT_MAX) if dst == "int" else (0, UINT_MAX)
            return v if lo <= v <= hi else UB
        return cmodel.wrap(v, "s32" if dst == "int" else "u32")
    if src in INTEGER:
        return cmodel.round_float(Fraction(v), FMT[dst]) if v else 0.0
    if dst == "float" and math.isfinite(v) and v != 0:
        return cmodel.round_float(Fraction(v), "f32")    # double -> float; overflow gives inf (IEEE)
    return v


def int_arith(op: str, t: str, a: int, b: int):
    if op in ("/", "%"):
        if b == 0 or (t == "int" and a == INT_MIN and b == -1):
            return UB
        q = abs(a) // abs(b) * (-1 if (a < 0) != (b < 0) else 1)
        return q if op == "/" else a - b * q
    r = {"+": a + b, "-": a - b, "*": a * b, "&": a & b, "|": a | b, "^": a ^ b}[op]
    if t == "int":
        return r if INT_MIN <= r <= INT_MAX else UB
    return r & UINT_MAX


def float_arith(op: str, t: str, a: float, b: float) -> float:
    f = FMT[t]
    return {"+": lambda: cmodel.fadd(a, b, f), "-": lambda: cmodel.fadd(a, -b, f),
            "*": lambda: cmodel.fmul(a, b, f), "/": lambda: cmodel.fdiv(a, b, f)}[op]()


def shift(op: str, t: str, a: int, s: int):
    if s < 0 or s >= 32:
        return UB
    if op == ">>":
        return a >> s                                     # arithmetic for int (C++20, nvcc)
    r = a << s
    if t == "int":                                        # C++17: a >= 0 and a * 2^s fits unsigned
        return cmodel.wrap(r, "s32") if a >= 0 and r <= UINT_MAX else UB
    return r & UINT_MAX


def binary_value(op: str, tl: str, a, tr: str, b):
    """(result type, value) of `a op b` for one lane."""
    t = result_type(op, tl, tr)
    if a is UB or b is UB:
        return t, UB
    if op in ("&&", "||"):
        a, b = convert(a, tl, "bool"), convert(b, tr, "bool")
        return t, (a and b) if op == "&&" else (a or b)
    if op in ("<<", ">>"):
        return t, shift(op, t, convert(a, tl, t), convert(b, tr, promote(tr)))
    ct = common(tl, tr)
    a, b = convert(a, tl, ct), convert(b, tr, ct)
    if op in COMPARE_OPS:
        return t, {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    return t, float_arith(op, t, a, b) if t in FLOATING else int_arith(op, t, a, b)


def unary_value(op: str, t: str, a):
    """(result type, value) of `op a` for one lane."""
    if op == "!":
        return "bool", UB if a is UB else not convert(a, t, "bool")
    rt = promote(t)
    if a is UB:
        return rt, UB
    a = convert(a, t, rt)
    if op == "+":
        return rt, a
    if op == "~":
        return rt, cmodel.wrap(~a, "s32" if rt == "int" else "u32")
    if rt in FLOATING:
        return rt, -a
    if rt == "int":
        return rt, UB if a == INT_MIN else -a
    return rt, -a & UINT_MAX


def cond_type(t1: str, t2: str) -> str:
    return t1 if t1 == t2 else common(t1, t2)


# ------------------------------------------------------------------------------------ the tree nodes

@dataclass(frozen=True)
class Expr:
    src: str           # C++ text, parenthesised only where precedence needs it
    prec: int          # precedence of its outermost operator
    ty: str            # 'bool' 'int' 'unsigned' 'float' 'double'
    vals: tuple        # the value in each lane

    def at(self, need: int) -> str:
        return self.src if self.prec >= need else f"({self.src})"

    def has_ub(self) -> bool:
        return any(v is UB for v in self.vals)


def leaf(src: str, ty: str, vals) -> Expr:
    return Expr(src, PRIMARY, ty, tuple(vals))


def int_lit(v: int, spelling: str = "dec", suffix: str = "") -> Expr:
    body = str(v) if spelling == "dec" else hex(v) if spelling == "hex" else "0X%X" % v
    if suffix:
        ty = "unsigned"
    elif spelling == "dec":
        assert v <= INT_MAX, "a larger decimal literal would be long"
        ty = "int"
    else:
        ty = "int" if v <= INT_MAX else "unsigned"       # hex: the first of int, unsigned that fits
    return leaf(body + suffix, ty, [v] * LANES)


def float_lit(text: str, single: bool) -> Expr:
    """A decimal literal, rounded once from its exact value (not through double)."""
    ty = "float" if single else "double"
    v = cmodel.round_float(Fraction(text), FMT[ty]) if Fraction(text) else 0.0
    return leaf(text + ("f" if single else ""), ty, [v] * LANES)


def bool_lit(v: bool) -> Expr:
    return leaf("true" if v else "false", "bool", [v] * LANES)


def _unary_src(op: str, e: Expr) -> str:
    s = e.at(UNARY)
    return f"{op} {s}" if s[0] == op and op in "+-" else op + s   # never `--x`


def raw_unary(op: str, e: Expr) -> Expr:
    tv = [unary_value(op, e.ty, a) for a in e.vals]
    return Expr(_unary_src(op, e), UNARY, tv[0][0], tuple(v for _, v in tv))


def raw_binary(op: str, l: Expr, r: Expr) -> Expr:
    tv = [binary_value(op, l.ty, a, r.ty, b) for a, b in zip(l.vals, r.vals)]
    p = PREC[op]
    return Expr(f"{l.at(p)} {op} {r.at(p + 1)}", p, tv[0][0], tuple(v for _, v in tv))


def raw_cast(t: str, e: Expr) -> Expr:
    return Expr(f"({t}){e.at(UNARY)}", UNARY, t, tuple(convert(v, e.ty, t) for v in e.vals))


def cond(c: Expr, a: Expr, b: Expr) -> Expr:
    t = cond_type(a.ty, b.ty)
    vals = tuple(convert(x if convert(k, c.ty, "bool") else y, a.ty if convert(k, c.ty, "bool") else b.ty, t)
                 if k is not UB else UB for k, x, y in zip(c.vals, a.vals, b.vals))
    return Expr(f"{c.at(TERNARY + 1)} ? {a.src} : {b.at(TERNARY)}", TERNARY, t, vals)


# ------------------------------------------------------------------- operators that dodge undefined behaviour

def in_range(e: Expr, t: str) -> Expr:
    """e, with 0 in the lanes where it is a float that does not fit integer type t."""
    if e.ty not in FLOATING or not any(convert(v, e.ty, t) is UB for v in e.vals):
        return e
    lo, hi = ("-2147483649.0", "2147483648.0") if t == "int" else ("-1.0", "4294967296.0")
    inside = raw_binary("&&", raw_binary(">", e, float_lit(lo, False)), raw_binary("<", e, float_lit(hi, False)))
    return cond(inside, e, float_lit("0.0", True))


def cast(t: str, e: Expr) -> Expr:
    return raw_cast(t, in_range(e, t))


def unary(op: str, e: Expr) -> Expr:
    out = raw_unary(op, e)
    if out.has_ub():                                      # -INT_MIN
        out = raw_cast("int", raw_unary("-", raw_cast("unsigned", e)))
    return out


def binary(op: str, l: Expr, r: Expr) -> Expr:
    out = raw_binary(op, l, r)
    if not out.has_ub():
        return out
    if op in ("/", "%"):
        if any(v == 0 for v in r.vals):
            r = cond(raw_binary("==", r, int_lit(0)), int_lit(1), r)
        if raw_binary(op, l, r).has_ub():                 # INT_MIN / -1
            r = cond(raw_binary("==", r, raw_unary("-", int_lit(1))), int_lit(1), r)
        out = raw_binary(op, l, r)
    elif op in ("<<", ">>"):
        if any(not 0 <= v < 32 for v in r.vals):
            r = raw_binary("&", r, int_lit(31))
        out = raw_binary(op, l, r)
        if out.has_ub():                                  # signed left shift out of range
            out = raw_cast("int", raw_binary(op, raw_cast("unsigned", l), r))
    else:                                                 # signed + - * overflow
        out = raw_cast("int", raw_binary(op, raw_cast("unsigned", l), raw_cast("unsigned", r)))
    assert not out.has_ub(), out.src
    return out


# --------------------------------------------------------------------------------------- the kernel

OUT_TYPE = {"bool": "int", "int": "int", "unsigned": "unsigned", "float": "float", "double": "float"}

TEMPLATE = """\
__global__ void fuzz(const int *A, const int *B, const int *C, const unsigned *U, const unsigned *V,
                     const float *X, const float *Y, {out} *out)
{{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int a = A[i], b = B[i], c = C[i];
    unsigned u = U[i], v = V[i];
    float x = X[i], y = Y[i];
{body}
    out[i] = {expr};
}}
"""


class Case:
    """A kernel (`source`), its inputs ('a' .. 'y' -> 64 values) and the model's value of `expr` per lane."""

    def __init__(self, inputs: dict):
        self.inputs, self.body, self.expr = inputs, [], None

    @property
    def out_type(self) -> str:
        return OUT_TYPE[self.expr.ty]

    @property
    def source(self) -> str:
        return TEMPLATE.format(out=self.out_type, body="\n".join("    " + s for s in self.body),
                               expr=self.expr.src)

    def expected(self) -> list:
        return [convert(v, self.expr.ty, self.out_type) for v in self.expr.vals]

    def lane(self, k: int) -> str:
        return ", ".join(f"{n}={vals[k]!r}" for n, vals in self.inputs.items())

    def __repr__(self) -> str:
        return f"Case(<<\n{self.source}>>)"


def same(want, got, t: str) -> bool:
    """Exact equality: integers by value, floats bit for bit (any NaN matches any NaN)."""
    if t != "float":
        return int(want) == int(got)
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return struct.pack("<f", want) == struct.pack("<f", got)


# ----------------------------------------------------------------------------------- the strategies

INT_SPECIAL = [INT_MIN, INT_MIN + 1, INT_MAX, -1, 1 << 16, -(1 << 16), 46341, 1 << 30, -(1 << 30)]
UNSIGNED_SPECIAL = [UINT_MAX, 1 << 31, (1 << 31) - 1, (1 << 31) + 1, 1 << 16, 65537, 0xDEADBEEF]
FLOAT_SPECIAL = [0.5, -0.5, 1.5, 2.5, -2.5, 16777216.0, 16777218.0, 2147483520.0, 2147483648.0, -2147483648.0,
                 -2147483904.0, 4294967040.0, 4294967296.0, 3.4028234663852886e38, 2.0 ** -149, 2.0 ** -126,
                 -0.0, math.inf, -math.inf, math.nan]
FLOAT_TEXT = ["0.0", "1.0", "0.5", "0.1", "2.5", "3.0", "1e10", "16777217.0", "2147483648.0", "4294967295.0",
              "1e-30", "3.4e38", "0.3333333333", "1.000000059604644776390625"]   # the last: f32 not via f64


def _lane_values(rng: random.Random, ty: str) -> list:
    """64 inputs of type ty: a quarter small, a quarter special, half anywhere in the type."""
    def one():
        k = rng.randrange(4)
        if ty in ("int", "unsigned"):
            small, special, lo, hi = ((-8, 8), INT_SPECIAL, INT_MIN, INT_MAX) if ty == "int" else \
                ((0, 40), UNSIGNED_SPECIAL, 0, UINT_MAX)
            return rng.randint(*small) if k == 0 else rng.choice(special) if k == 1 else rng.randint(lo, hi)
        if k == 0:
            return float(rng.randint(-40, 40))
        if k == 1:
            return rng.choice(FLOAT_SPECIAL)
        if k == 2:
            return rng.randint(-(1 << 24), 1 << 24) / 8.0
        return struct.unpack("<f", struct.pack("<I", rng.getrandbits(32)))[0]    # any bits: NaN, inf, subnormal
    return [one() for _ in range(LANES)]


INPUTS = {"a": "int", "b": "int", "c": "int", "u": "unsigned", "v": "unsigned", "x": "float", "y": "float"}


# Node kinds to draw from (repeats weight them); the float test's outermost node is mostly numeric.
KINDS_INT = ["arith", "arith", "int", "int", "compare", "logic", "unary", "cast", "cond", "leaf"]
KINDS_FLOAT = ["arith", "arith", "arith", "int", "compare", "logic", "unary", "negate", "cast", "cond", "leaf"]
KINDS_FLOAT_TOP = ["arith", "arith", "negate", "cond", "compare", "float"]


class Gen:
    """Draws one expression tree (or statement) at a time over the variables in scope."""

    def __init__(self, draw, floats: bool, inputs: dict):
        self.draw, self.floats = draw, floats
        self.vars = [leaf(n, t, inputs[n]) for n, t in INPUTS.items() if floats or t not in FLOATING]
        self.vars += [leaf("i", "int", range(LANES)),
                      Expr("threadIdx.x", 15, "unsigned", tuple(k % 32 for k in range(LANES)))]
        if floats:
            self.vars += [v for v in self.vars if v.ty == "float"]        # float leaves twice as likely
        self.kinds = KINDS_FLOAT if floats else KINDS_INT

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def literal(self, integer: bool = False) -> Expr:
        kind = self.pick(["int", "bool", "float"] if self.floats and not integer else ["int", "bool"])
        if kind == "bool":
            return bool_lit(self.draw(st.booleans()))
        if kind == "float":
            text = self.draw(st.one_of(st.sampled_from(FLOAT_TEXT), st.builds(
                lambda m, f, e: f"{m}.{f}e{e}", st.integers(0, 99999), st.integers(0, 9999), st.integers(-30, 30))))
            return float_lit(text, self.draw(st.booleans()))
        spelling, suffix = self.pick(["dec", "hex", "HEX"]), self.pick(["", "u", "U"])
        top = INT_MAX if spelling == "dec" and not suffix else UINT_MAX
        special = [n for n in (INT_MAX, 1 << 31, UINT_MAX, 0xFF, 0x10000) if n <= top]
        v = self.draw(st.one_of(st.integers(0, 33), st.sampled_from(special), st.integers(0, top)))
        return int_lit(v, spelling, suffix)

    def leaf(self) -> Expr:
        return self.literal() if self.draw(st.integers(0, 3)) == 0 else self.pick(self.vars)

    def integer(self, depth: int) -> Expr:
        e = self.expr(depth)
        return cast(self.pick(["int", "unsigned", "bool"]), e) if e.ty in FLOATING else e

    def expr(self, depth: int, kinds=None) -> Expr:
        if depth == 0:
            return self.leaf()
        kind = self.pick(kinds or self.kinds)
        d = depth - 1
        if kind == "leaf":
            return self.leaf()
        if kind == "arith":
            l = self.expr(d)
            return binary(self.pick(ARITH_OPS), l, self.right(l, d, self.expr))
        if kind == "int":
            l = self.integer(d)
            return binary(self.pick(INT_OPS), l, self.right(l, d, self.integer))
        if kind == "compare":
            l = self.expr(d)
            return binary(self.pick(COMPARE_OPS), l, self.right(l, d, self.expr))
        if kind == "logic":
            return binary(self.pick(["&&", "||"]), self.expr(d), self.expr(d))
        if kind == "unary":
            op = self.pick(["-", "!", "~", "+"])
            return unary(op, self.integer(d) if op == "~" else self.expr(d))
        if kind == "cast":
            return cast(self.pick(["int", "unsigned", "bool", "float"] if self.floats else ["int", "unsigned", "bool"]),
                        self.expr(d))
        if kind == "float":
            return cast("float", self.expr(d))
        if kind == "negate":
            return unary("-", self.expr(d))
        return cond(self.expr(d), self.expr(d), self.expr(d))

    def right(self, l: Expr, depth: int, make) -> Expr:
        """A right operand: a new tree, l itself (x - x, x == x, x / x), or a constant (x / 8, x * 3)."""
        how = self.pick(["new", "new", "same", "constant"])
        if how == "constant":
            return self.literal(integer=make == self.integer)
        return l if how == "same" else make(depth)

    def statement(self, k: int, depth: int) -> list[str]:
        """Declares temporary t<k> (an implicit conversion), maybe assigns it under an `if` or with a
        compound operator, and puts it in scope."""
        types = ["int", "unsigned", "bool"] + (["float"] if self.floats else [])
        t, name = self.pick(types), f"t{k}"
        init = self.assignable(t, self.expr(depth))
        vals, lines = [convert(v, init.ty, t) for v in init.vals], [f"{t} {name} = {init.src};"]
        form = self.pick(["plain", "if", "if-else", "compound"])
        if form in ("if", "if-else"):
            c, e1 = self.expr(depth), self.assignable(t, self.expr(depth))
            e2 = self.assignable(t, self.expr(depth)) if form == "if-else" else leaf(name, t, vals)
            taken = [convert(k, c.ty, "bool") for k in c.vals]
            vals = [convert(x if go else y, e1.ty if go else e2.ty, t) for go, x, y in zip(taken, e1.vals, e2.vals)]
            lines.append(f"if ({c.src}) {name} = {e1.src};" +
                         (f" else {name} = {e2.src};" if form == "if-else" else ""))
        elif form == "compound" and t != "bool":
            op = self.pick(ARITH_OPS + (INT_OPS if t != "float" else ()))
            e = self.integer(depth) if op in INT_OPS else self.expr(depth)
            e = self.guard_operand(op, leaf(name, t, vals), e)
            res = raw_binary(op, leaf(name, t, vals), e)
            new = [convert(v, res.ty, t) for v in res.vals]
            if not any(v is UB for v in new):
                lines.append(f"{name} {op}= {e.src};")
                vals = new
        self.vars += [leaf(name, t, vals)] * 2
        return lines

    @staticmethod
    def guard_operand(op: str, l: Expr, r: Expr) -> Expr:
        """r made safe as the right operand of `l op r` (a zero divisor, a shift amount out of range)."""
        if op in ("<<", ">>"):
            return raw_binary("&", r, int_lit(31)) if any(not 0 <= v < 32 for v in r.vals) else r
        if common(l.ty, r.ty) in FLOATING:
            return r
        return cond(raw_binary("==", r, int_lit(0)), int_lit(1), r) if any(v == 0 for v in r.vals) else r

    @staticmethod
    def assignable(t: str, e: Expr) -> Expr:
        return in_range(e, t) if t in ("int", "unsigned") else e


@st.composite
def cases(draw, floats: bool) -> Case:
    rng = random.Random(draw(st.integers(0, 2 ** 32 - 1)))
    inputs = {n: _lane_values(rng, t) for n, t in INPUTS.items()}
    g = Gen(draw, floats, inputs)
    case = Case(inputs)
    for k in range(draw(st.integers(0, 2))):
        case.body += g.statement(k, draw(st.integers(1, 2)))
    case.expr = g.expr(draw(st.integers(2, 4)), KINDS_FLOAT_TOP if floats else None)
    return case
