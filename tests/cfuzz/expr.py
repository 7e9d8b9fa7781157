"""Random C expressions that are free of undefined behaviour by construction.

In: a generation context (variables with proven value ranges, arrays, macros, helpers) and a random source.
Out: `E` values: expression text, its C type and, for integers, an interval containing every value it can
take.  Every signed `+ - * << -x abs` is checked against its type's range with interval arithmetic; when the
operands could overflow, the generator rewrites them (operands reduced with `% K`, or the operation done in
the unsigned type and converted back, which C defines).  Divisors are made nonzero (`(d & 63) + 1`) and
dividends that could be the type's minimum while the divisor could be -1 become `(x | 1)`.  Shift counts
are masked to the promoted width.  Floats are converted to integers only behind a range test.

Text markers: `$name` is a per-thread variable of the kernel (C harness: `S->name`), `@fn_ty(` a call that
C spells with a type suffix (`.vk`: `fn(`).
"""
from __future__ import annotations

from dataclasses import dataclass

from .ctype import (F32, F64, I32, I64, INTS, U32, U64, UNSIGNED_OF, Ty, char_literal, common,
                    convert_range, fits, float_literal, int_literal, promote)


@dataclass
class E:
    text: str
    ty: Ty
    lo: int | None = None
    hi: int | None = None

    @property
    def nonneg(self) -> bool:
        return self.lo is not None and self.lo >= 0


def lit(value: int, ty: Ty) -> E:
    suffix = {"i32": "", "u32": "u", "i64": "LL", "u64": "ull"}[ty.key]
    return E(f"{value}{suffix}", ty, value, value)


def full(text: str, ty: Ty) -> E:
    return E(text, ty, None, None) if ty.flt else E(text, ty, ty.lo, ty.hi)


def as_type(e: E, ty: Ty) -> E:
    """Integer e viewed after implicit conversion to ty (range only; the text is unchanged)."""
    lo, hi = convert_range(e.lo, e.hi, ty)
    return E(e.text, ty, lo, hi)


# Bounds (exact in float and double) inside which converting a float to each integer type is defined.
FLOAT_BOUNDS = {"i8": (-128, 127), "u8": (0, 255), "i16": (-32768, 32767), "u16": (0, 65535),
                "i32": (-1000000000, 1000000000), "u32": (0, 4000000000), "i64": (-9 * 10**18, 9 * 10**18),
                "u64": (0, 18 * 10**18)}


def conv(e: E, ty: Ty, lo: int | None = None, hi: int | None = None) -> E:
    """Convert e to ty explicitly; a float going to an integer type is range-tested first (NaN fails the
    test) and becomes 0 outside [lo, hi] (default: FLOAT_BOUNDS of ty)."""
    if e.ty == ty and not ty.flt and (lo is None or (e.lo >= lo and e.hi <= hi)):
        return e
    if ty.flt:
        return E(f"(({ty.spell})({e.text}))", ty)
    if ty.key == "bool":                   # any scalar converts to bool: 0 (and -0.0) false, else true
        return E(f"(({ty.spell})({e.text}))", ty, 0, 1)
    if not e.ty.flt:
        elo, ehi = convert_range(e.lo, e.hi, ty)
        return E(f"(({ty.spell})({e.text}))", ty, elo, ehi)
    blo, bhi = FLOAT_BOUNDS[ty.key]
    if lo is not None:                     # a narrower proven range (never the full range: 2^31-1 is no float)
        blo, bhi = max(lo, blo), min(hi, bhi)
    fs = "f" if e.ty == F32 else ""
    sfx = ".0" + fs
    return E(f"(({e.text}) >= {blo}{sfx} && ({e.text}) <= {bhi}{sfx} ? ({ty.spell})({e.text}) : ({ty.spell})0)",
             ty, min(blo, 0), max(bhi, 0))


def unsigned_op(op: str, a: E, b: E, ct: Ty) -> E:
    """a op b done in the unsigned type of ct and converted back: defined for every operand value."""
    u = UNSIGNED_OF[ct.key]
    return E(f"(({ct.spell})(({u.spell})({a.text}) {op} ({u.spell})({b.text})))", ct, ct.lo, ct.hi)


def reduce_mod(e: E, k: int) -> E:
    """e % k (k > 0): |result| < k, sign of e."""
    t = common(e.ty, I32 if k <= I32.hi else I64)
    kt = lit(k, I32 if k <= I32.hi else I64)
    if e.nonneg:
        return E(f"(({e.text}) % {kt.text})", t, 0, min(e.hi, k - 1))
    m = min(max(abs(e.lo), abs(e.hi)), k - 1)
    if not t.signed:
        return E(f"(({e.text}) % {kt.text})", t, 0, min(t.hi, k - 1))
    return E(f"(({e.text}) % {kt.text})", t, -m, m)


def int_binop(op: str, a: E, b: E, rng=None) -> E | None:
    """a op b for integer operands.  With rng, operands are rewritten as needed to exclude undefined
    behaviour; without, returns None when the operation could be undefined."""
    if op in ("<<", ">>"):
        pt = promote(a.ty)
        a = as_type(a, pt)
        bits = pt.bits
        if b.lo < 0 or b.hi >= bits:
            if rng is None:
                return None
            b = E(f"(({b.text}) & {bits - 1})", promote(b.ty), 0, bits - 1)
        if op == ">>":
            cand = [a.lo >> b.lo, a.lo >> b.hi, a.hi >> b.lo, a.hi >> b.hi]
            return E(f"({a.text} >> {b.text})", pt, min(cand), max(cand))
        if pt.signed and (a.lo < 0 or (a.hi << b.hi) > pt.hi):
            if rng is None:
                return None
            if rng.random() < 0.5:
                return unsigned_op("<<", a, b, pt)
            a = E(f"(({a.text}) & 0xFF)", pt, 0, 0xFF)
            b = E(f"(({b.text}) & {bits // 2 - 1})", promote(b.ty), 0, bits // 2 - 1)
        lo, hi = a.lo << b.lo, a.hi << b.hi
        if not fits(lo, hi, pt):
            lo, hi = pt.lo, pt.hi
        return E(f"({a.text} << {b.text})", pt, lo, hi)
    ct = common(a.ty, b.ty)
    a2, b2 = as_type(a, ct), as_type(b, ct)
    if op in ("==", "!=", "<", "<=", ">", ">="):
        return E(f"({a.text} {op} {b.text})", I32, 0, 1)
    if op in ("&&", "||"):
        return E(f"({a.text} {op} {b.text})", I32, 0, 1)
    if op in ("/", "%"):
        if b2.lo <= 0 <= b2.hi or (ct.signed and a2.lo == ct.lo and b2.lo <= -1 <= b2.hi):
            if rng is None:
                return None
            if b2.lo <= 0 <= b2.hi:
                b = E(f"((({b.text}) & 63) + 1)", promote(b.ty), 1, 64)
                b2 = as_type(b, ct)
            if ct.signed and a2.lo == ct.lo and b2.lo <= -1 <= b2.hi:
                a = E(f"(({a.text}) | 1)", promote(a.ty), a.lo + (1 if a.lo == ct.lo else 0), min(a.hi + 1, ct.hi))
                a2 = as_type(a, ct)
        m = max(abs(a2.lo), abs(a2.hi))
        if op == "/":
            lo, hi = (0, a2.hi) if not ct.signed or a2.nonneg and b2.nonneg else (-m, m)
        else:
            mb = max(abs(b2.lo), abs(b2.hi)) - 1
            lo, hi = (0, min(a2.hi, mb)) if a2.nonneg else (-min(m, mb), min(m, mb))
        return E(f"({a.text} {op} {b.text})", ct, lo, hi)
    if op in ("&", "|", "^"):
        if a2.nonneg and b2.nonneg:
            hi = min(a2.hi, b2.hi) if op == "&" else (1 << max(a2.hi, b2.hi).bit_length()) - 1
            return E(f"({a.text} {op} {b.text})", ct, 0, hi)
        if op == "&" and (a2.nonneg or b2.nonneg):
            return E(f"({a.text} {op} {b.text})", ct, 0, a2.hi if a2.nonneg else b2.hi)
        return E(f"({a.text} {op} {b.text})", ct, ct.lo, ct.hi)
    corners = {"+": lambda: (a2.lo + b2.lo, a2.hi + b2.hi), "-": lambda: (a2.lo - b2.hi, a2.hi - b2.lo),
               "*": lambda: (min(p := [a2.lo * b2.lo, a2.lo * b2.hi, a2.hi * b2.lo, a2.hi * b2.hi]), max(p))}
    lo, hi = corners[op]()
    if fits(lo, hi, ct):
        return E(f"({a.text} {op} {b.text})", ct, lo, hi)
    if not ct.signed:
        return E(f"({a.text} {op} {b.text})", ct, ct.lo, ct.hi)
    if rng is None:
        return None
    if rng.random() < 0.5:
        return unsigned_op(op, a, b, ct)
    k = (1 << 14) if ct.bits == 32 else (1 << 30)
    return int_binop(op, reduce_mod(a, k), reduce_mod(b, k), None) or unsigned_op(op, a, b, ct)


def negate(a: E, rng) -> E:
    pt = promote(a.ty)
    a2 = as_type(a, pt)
    if not pt.signed:
        return E(f"(-{a.text})", pt, pt.lo, pt.hi) if a2.hi > 0 else E(f"(-{a.text})", pt, 0, 0)
    if a2.lo == pt.lo:
        a2 = E(f"(({a.text}) | 1)", pt, pt.lo + 1, pt.hi)
    return E(f"(-{a2.text})", pt, -a2.hi, -a2.lo)


class ExprGen:
    """Random expressions over a context: `ctx.leaves(kind)` gives the readable values (variables, loop
    counters, array elements, inputs, builtins), `ctx.macros` the macros, `ctx.helpers` callable helpers."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.rng = ctx.rng

    def literal(self, kind: str) -> E:
        r = self.rng
        if kind == "float" or (kind == "any" and r.random() < 0.3):
            ty = r.choice([F32, F32, F64])
            return E(float_literal(r, ty), ty)
        if r.random() < 0.1:
            text, v = char_literal(r)
            return E(text, I32, v, v)
        text, ty, v = int_literal(r)
        if r.random() < 0.2 and v > 0 and v <= I32.hi:
            return negate(E(text, ty, v, v), r)
        return E(text, ty, v, v)

    def leaf(self, kind: str) -> E:
        r = self.rng
        c = r.random()
        macros = [m for m in self.ctx.macros if m.fn is None and (kind == "any" or (m.e.ty.flt == (kind == "float")))]
        if c < 0.15 and macros:
            m = r.choice(macros)
            return E(m.name, m.e.ty, m.e.lo, m.e.hi)
        if c < 0.3:
            return self.literal(kind)
        cands = self.ctx.leaves(kind)
        if not cands:
            return self.literal(kind)
        pick = r.choice(cands)
        return pick(self) if callable(pick) else pick

    def int_expr(self, depth: int) -> E:
        return self.expr(depth, "int")

    def expr(self, depth: int, kind: str = "any") -> E:
        r = self.rng
        if depth <= 0 or r.random() < 0.25:
            return self.leaf(kind)
        if kind == "any":
            kind = "float" if r.random() < 0.3 else "int"
        if kind == "int":
            return self._int(depth)
        return self._float(depth)

    def identity(self, kind: str) -> E:
        """An operation with itself or with 0, 1, -1, all ones (what algebraic simplifiers rewrite;
        for floats -0.0, infinities and NaN make most such rewrites wrong)."""
        r = self.rng
        a = self.leaf(kind)
        if kind == "float":
            k = r.choice(["0.0f", "-0.0f", "1.0f", "-1.0f", "0.0", "-0.0", "1.0", "2.0f", "0.5"])
            op = r.choice("+-*/")
            b = a if r.random() < 0.4 else E(k, F32 if k.endswith("f") else F64)
            x, y = (a, b) if r.random() < 0.5 else (b, a)
            return E(f"({x.text} {op} {y.text})", common(x.ty, y.ty))
        text, v = r.choice([("0", 0), ("1", 1), ("-1", -1), ("0u", 0), ("1u", 1), ("0xFFFFFFFFu", 0xFFFFFFFF),
                            ("-1LL", -1), ("0ull", 0), ("~0ull", (1 << 64) - 1), ("2", 2)])
        ty = {"u": U32, "L": I64, "l": U64}.get(text[-1], I32)
        b = a if r.random() < 0.4 else E(text, ty, v, v)
        x, y = (a, b) if r.random() < 0.5 else (b, a)
        op = r.choice(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "==", "!=", "<", ">=", "&&", "||"])
        return int_binop(op, x, y, r)

    def _int(self, d: int) -> E:
        r = self.rng
        c = r.randrange(100)
        if c < 8:
            return self.identity("int")
        if c < 45:
            op = r.choice(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "+", "-", "*", "==", "<", ">=",
                           "!=", "&&", "||"])
            return int_binop(op, self.int_expr(d - 1), self.int_expr(d - 1), r)
        if c < 52:
            return negate(self.int_expr(d - 1), r)
        if c < 57:
            a = self.int_expr(d - 1)
            pt = promote(a.ty)
            return E(f"(~{a.text})", pt, pt.lo, pt.hi) if not pt.signed or not fits(a.lo, a.hi, pt) else \
                E(f"(~{a.text})", pt, ~a.hi, ~a.lo)
        if c < 60:
            return E(f"(!{self.expr(d - 1).text})", I32, 0, 1)
        if c < 68:
            return conv(self.expr(d - 1), r.choice(INTS))
        if c < 73:
            cond = self.expr(d - 1)
            a, b = self.int_expr(d - 1), self.int_expr(d - 1)
            ct = common(a.ty, b.ty)
            a2, b2 = as_type(a, ct), as_type(b, ct)
            return E(f"({cond.text} ? {a.text} : {b.text})", ct, min(a2.lo, b2.lo), max(a2.hi, b2.hi))
        if c < 78:
            a, b = self.expr(d - 1, "float"), self.expr(d - 1)
            return E(f"({a.text} {r.choice(['<', '<=', '>', '>=', '==', '!='])} {b.text})", I32, 0, 1)
        if c < 84 and self.ctx.minmax:
            t = r.choice([I32, U32, I64, U64])
            a, b = conv(self.int_expr(d - 1), t), conv(self.int_expr(d - 1), t)
            fn = r.choice(["min", "max"])
            lo, hi = (min(a.lo, b.lo), min(a.hi, b.hi)) if fn == "min" else (max(a.lo, b.lo), max(a.hi, b.hi))
            return E(f"@{fn}_{t.key}({a.text}, {b.text})", t, lo, hi)
        if c < 87:
            t, fn = r.choice([(I32, "abs"), (I32, "abs"), (I64, "llabs")])
            a = conv(self.int_expr(d - 1), t)
            if a.lo == t.lo:
                a = E(f"(({a.text}) | 1)", t, t.lo + 1, t.hi)
            return E(f"{fn}({a.text})", t, 0 if a.lo <= 0 <= a.hi else min(abs(a.lo), abs(a.hi)),
                     max(abs(a.lo), abs(a.hi)))
        if c < 92:
            fn, pt, rt = r.choice([("__popc", U32, (0, 32)), ("__popcll", U64, (0, 64)), ("__clz", I32, (0, 32)),
                                   ("__clzll", I64, (0, 64)), ("__ffs", I32, (0, 32)), ("__ffsll", I64, (0, 64)),
                                   ("__brev", U32, None)])
            a = conv(self.int_expr(d - 1), pt)
            return E(f"{fn}({a.text})", U32 if rt is None else I32, *(rt or (U32.lo, U32.hi)))
        ih = [h for h in self.ctx.helpers if not h.ret.flt]
        if c < 97 and ih:
            h = self.rng.choice(ih)
            args = [conv(self.expr(d - 1, "float" if t.flt else "int"), t) for t in h.params]
            return full(f"{h.name}({', '.join(a.text for a in args)})", h.ret)
        fm = [m for m in self.ctx.macros if m.fn is not None and not m.flt]
        if fm:
            m = r.choice(fm)
            a = self.int_expr(d - 1)
            e = m.fn(a)
            if e is not None:
                return E(f"{m.name}({a.text})", e.ty, e.lo, e.hi)
        return self.leaf("int")

    def _float(self, d: int) -> E:
        r = self.rng
        c = r.randrange(100)
        if c < 8:
            return self.identity("float")
        if c < 45:
            a = self.expr(d - 1, "float")
            b = self.expr(d - 1, "any")
            if r.random() < 0.5:
                a, b = b, a
            ty = common(a.ty, b.ty)
            return E(f"({a.text} {r.choice('+-*/')} {b.text})", ty)
        if c < 52:
            a = self.expr(d - 1, "float")
            return E(f"(-{a.text})", a.ty)
        if c < 60:
            return conv(self.expr(d - 1, "any"), r.choice([F32, F64]))
        if c < 68:
            ty = r.choice([F32, F64])
            fn = r.choice(["sqrt", "fabs", "floor", "ceil", "trunc", "round"]) + ("f" if ty == F32 else "")
            return E(f"{fn}({conv(self.expr(d - 1, 'float'), ty).text})", ty)
        if c < 76:
            ty = r.choice([F32, F64])
            fn = r.choice(["fma", "fmin", "fmax", "fmod"]) + ("f" if ty == F32 else "")
            n = 3 if fn.startswith("fma") and not fn.startswith("fmax") else 2
            args = [conv(self.expr(d - 1, "any"), ty).text for _ in range(n)]
            return E(f"{fn}({', '.join(args)})", ty)
        if c < 82:
            cond = self.expr(d - 1)
            a, b = self.expr(d - 1, "float"), self.expr(d - 1, "any")
            return E(f"({cond.text} ? {a.text} : {b.text})", common(a.ty, b.ty))
        if c < 88 and self.ctx.helpers:
            fh = [h for h in self.ctx.helpers if h.ret.flt]
            if fh:
                h = r.choice(fh)
                args = [conv(self.expr(d - 1, "float" if t.flt else "int"), t) for t in h.params]
                return E(f"{h.name}({', '.join(a.text for a in args)})", h.ret)
        fm = [m for m in self.ctx.macros if m.fn is not None and m.flt]
        if fm:
            m = r.choice(fm)
            a = self.expr(d - 1, "float")
            e = m.fn(a)
            return E(f"{m.name}({a.text})", e.ty)
        return self.leaf("float")
