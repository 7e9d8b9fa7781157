"""C scalar types of the fuzzer, their value ranges, C's conversion rules, and literal spellings.

In: nothing (tables and small pure functions).  Out: `Ty` objects (`I8` ... `F64`), `promote`/`common`
(integer promotion and the usual arithmetic conversions of C on LP64, which CUDA device code shares), and
literal generators that return the literal's text together with the type C gives it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Ty:
    key: str          # i8 u8 i16 u16 i32 u32 i64 u64 f32 f64
    spell: str        # how the type is written in .vk and C
    bits: int
    signed: bool
    flt: bool = False

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def np(self) -> str:
        return {"f32": "float32", "f64": "float64"}.get(self.key, ("int" if self.signed else "uint") + str(self.bits))

    def __repr__(self) -> str:
        return self.key


I8 = Ty("i8", "signed char", 8, True)
CH = Ty("i8", "char", 8, True)            # plain char is signed on x86-64 and in CUDA device code
U8 = Ty("u8", "unsigned char", 8, False)
I16 = Ty("i16", "short", 16, True)
U16 = Ty("u16", "unsigned short", 16, False)
I32 = Ty("i32", "int", 32, True)
U32 = Ty("u32", "unsigned int", 32, False)
I64 = Ty("i64", "long long", 64, True)
U64 = Ty("u64", "unsigned long long", 64, False)
F32 = Ty("f32", "float", 32, True, True)
F64 = Ty("f64", "double", 64, True, True)
LONG = Ty("i64", "long", 64, True)          # LP64: the host and CUDA device code agree on 64 bits
SIZE_T = Ty("u64", "size_t", 64, False)
UNS = Ty("u32", "unsigned", 32, False)
BOOL = Ty("bool", "bool", 8, False)         # values 0 and 1 only (variables of it get that range)
INTS = [I8, U8, I16, U16, I32, U32, I64, U64]
ALL = INTS + [F32, F64]
UNSIGNED_OF = {"i32": U32, "u32": U32, "i64": U64, "u64": U64}


def promote(t: Ty) -> Ty:
    """Integer promotion: every type narrower than int becomes int."""
    return I32 if not t.flt and t.bits < 32 else t


def common(a: Ty, b: Ty) -> Ty:
    """The usual arithmetic conversions (LP64: long and long long are both 64 bits)."""
    if a.flt or b.flt:
        return F64 if F64 in (a, b) or (a.flt and a.bits == 64) or (b.flt and b.bits == 64) else F32
    a, b = promote(a), promote(b)
    if a == b:
        return a
    if a.signed == b.signed:
        return a if a.bits > b.bits else b
    u, s = (a, b) if not a.signed else (b, a)
    if u.bits >= s.bits:
        return u
    return s                                   # the signed type is wider and holds every value


def fits(lo: int, hi: int, t: Ty) -> bool:
    return t.lo <= lo and hi <= t.hi


def convert_range(lo: int, hi: int, t: Ty) -> tuple[int, int]:
    """Range after converting an integer range to integer type t (wrapping gives the full range)."""
    return (lo, hi) if fits(lo, hi, t) else (t.lo, t.hi)


# ----- literals --------------------------------------------------------------------------------------

def int_literal(rng, value: int | None = None) -> tuple[str, Ty, int]:
    """A non-negative integer literal in a random form: (text, C type, value)."""
    if value is None:
        value = rng.choice([0, 1, 2, 3, 7, 9, 15, 31, 32, 63, 100, 127, 128, 255, 256, 1000, 4095, 65535,
                            65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, (1 << 40) + 3, (1 << 63) - 1,
                            rng.randrange(0, 1 << 16), rng.randrange(0, 1 << 31), rng.randrange(0, 1 << 62)])
    base = rng.choice(["dec", "dec", "hex", "oct"])
    suffix = rng.choice(["", "", "", "u", "U", "l", "L", "ll", "LL", "ul", "UL", "ull", "ULL", "uLL", "llu",
                         "LLU", "lu"])
    if base == "dec" and value > (1 << 63) - 1 and "u" not in suffix.lower():
        suffix = "ull"
    unsigned = "u" in suffix.lower()
    long = "l" in suffix.lower()
    if base == "dec":
        order = ([U32, U64] if unsigned else [I32, I64])
    else:
        order = ([U32, U64] if unsigned else [I32, U32, I64, U64])
    if long:
        order = [t for t in order if t.bits == 64]
    ty = next(t for t in order if value <= t.hi)
    if base == "hex":
        digits = rng.choice(["0x%x", "0X%X", "0x%X"]) % value
    elif base == "oct":
        digits = "0%o" % value if value else "0"
    else:
        digits = str(value)
    return digits + suffix, ty, value


def char_literal(rng) -> tuple[str, int]:
    """A character literal (type int in C) and its value."""
    return rng.choice([("'A'", 65), ("'z'", 122), ("'0'", 48), ("'\\n'", 10), ("'\\0'", 0), ("'\\x41'", 65),
                       ("'\\''", 39), ("'\\\\'", 92), ("' '", 32), ("'\\t'", 9), ("'\\177'", 127)])


def f32_round(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def float_literal(rng, ty: Ty) -> str:
    """A finite float (suffix f/F) or double literal in a random spelling: exponent or not, leading or
    trailing dot.  Both compilers round the decimal text directly to the literal's type."""
    kind = rng.randrange(6)
    if kind == 0:
        text = rng.choice(["0.0", "1.0", "2.", ".5", "0.1", "3.14159265358979", "1e3", "1.5e-3", "2.5E+2",
                           "3.0e38", "1e-40", "1.17549435e-38", "16777217.0", "0.33333333333333333",
                           "1e-310", "1.7976931348623157e308", "4.9e-324", "65504.0", "1e10"])
        if ty.bits == 32 and text in ("1e-310", "1.7976931348623157e308", "4.9e-324"):
            text = "1e-45"
    elif kind == 1:
        text = "%d.%d" % (rng.randrange(0, 1000), rng.randrange(0, 1000))
    elif kind == 2:
        text = "%de%d" % (rng.randrange(1, 10), rng.randrange(-8, 9))
    elif kind == 3:
        text = repr(rng.uniform(-4, 4)).lstrip("-")
    elif kind == 4:
        text = "%d.%dE%+d" % (rng.randrange(1, 10), rng.randrange(0, 100), rng.randrange(-30, 30))
    else:
        text = "%d." % rng.randrange(0, 100000)
    if ty.bits == 32:
        text += rng.choice(["f", "f", "F"])
    return text
