"""Numba's types as the Python front end sees them, and Numba's typing rules for them.

In:  host values (kernel arguments), signature strings, and the types of operands.
Out: `Number` / `Array` / `Tuple` / ... types and the result type of every operator, as numba-cuda's
     typing context computes it (tests/test_python_types.py compares these rules with Numba's own
     context over every pair when numba-cuda is installed).

The numbers are one table, `NUMBERS`: a row per Numba scalar type (adding float16 is one row).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import types as T


@dataclass(frozen=True)
class Number:
    name: str            # Numba's name: 'int32', 'float64', 'bool'
    ir: T.Scalar         # the IR type of a value in a register (bool: pred)
    mem: T.Scalar        # the IR type in memory (bool: u8)
    kind: str            # 'bool', 'signed', 'unsigned', 'float'
    bits: int

    @property
    def is_int(self) -> bool:
        return self.kind in ("signed", "unsigned")

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def signed(self) -> bool:
        return self.kind in ("signed", "bool")

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.bool_) if self.kind == "bool" else self.mem.dtype

    def __str__(self) -> str:
        return self.name


_ROWS = [  # name, register type, memory type, kind, bits
    ("bool", T.PRED, T.U8, "bool", 1),
    ("int8", T.S8, T.S8, "signed", 8), ("uint8", T.U8, T.U8, "unsigned", 8),
    ("int16", T.S16, T.S16, "signed", 16), ("uint16", T.U16, T.U16, "unsigned", 16),
    ("int32", T.S32, T.S32, "signed", 32), ("uint32", T.U32, T.U32, "unsigned", 32),
    ("int64", T.S64, T.S64, "signed", 64), ("uint64", T.U64, T.U64, "unsigned", 64),
    ("float16", T.F16, T.F16, "float", 16), ("float32", T.F32, T.F32, "float", 32), ("float64", T.F64, T.F64, "float", 64),
]
NUMBERS: dict[str, Number] = {r[0]: Number(*r) for r in _ROWS}
ALIASES = {"boolean": "bool", "b1": "bool", "i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16",
           "i4": "int32", "u4": "uint32", "i8": "int64", "u8": "uint64", "f2": "float16", "f4": "float32", "f8": "float64", "half": "float16",
           "intp": "int64", "uintp": "uint64", "float_": "float32", "double": "float64", "int_": "int64",
           "bool_": "bool"}
BOOL, INT32, INT64, UINT32, UINT64 = (NUMBERS[n] for n in ("bool", "int32", "int64", "uint32", "uint64"))
FLOAT16, FLOAT32, FLOAT64 = NUMBERS["float16"], NUMBERS["float32"], NUMBERS["float64"]


def number(name: str) -> Number:
    return NUMBERS[ALIASES.get(name, name)]


def int_of(bits: int, signed: bool) -> Number:
    return NUMBERS[("int" if signed else "uint") + str(bits)]


def from_dtype(dt) -> Number:
    dt = np.dtype(dt)
    for n in NUMBERS.values():
        if n.dtype == dt:
            return n
    raise TypeError(f"arrays of dtype {dt} are not supported in kernels")


@dataclass(frozen=True)
class Array:
    dtype: Number
    ndim: int
    space: str = "global"       # global, shared, local, const
    shape: tuple[int, ...] | None = None     # static shape (shared/local/const arrays)
    layout: str = "C"

    def __str__(self) -> str:
        return f"array({self.dtype}, {self.ndim}d, {self.layout})"

    def accepts(self, other) -> bool:
        """An argument of array type `other` can be passed for this (signature) type: same dtype, ndim
        and space, and the same layout or this one 'A' (Numba converts C and F arrays to A)."""
        return (isinstance(other, Array) and (other.dtype, other.ndim, other.space) ==
                (self.dtype, self.ndim, self.space) and self.layout in (other.layout, "A"))


@dataclass(frozen=True)
class Tuple:
    items: tuple

    def __str__(self) -> str:
        return "(" + ", ".join(map(str, self.items)) + ("," if len(self.items) == 1 else "") + ")"


@dataclass(frozen=True)
class Dim3:
    """cuda.threadIdx and friends: .x .y .z read special registers (int32)."""
    sreg: str

    def __str__(self) -> str:
        return "Dim3"


@dataclass(frozen=True)
class Ref:
    """A compile-time name: a module (cuda, math, cuda.atomic), a function, a dtype, a device function."""
    path: str
    obj: object = None

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True)
class NoneType:
    def __str__(self) -> str:
        return "none"


@dataclass(frozen=True)
class Range:
    item: Number

    def __str__(self) -> str:
        return f"range({self.item})"


NONE = NoneType()


# -- Numba's typing rules ----------------------------------------------------------------------------

def safe_to_float32(t: Number) -> bool:
    """Numba's casting graph: bool, int8, uint8 and int16 convert safely to float32; wider ints only to float64."""
    return t.kind == "bool" or (t.is_int and (t.bits <= 8 or (t.signed and t.bits <= 16)))


def _half_pair(a: Number, b: Number) -> bool:
    """numba-cuda's float16 operators (+ - * / and comparisons) apply: a float16 with a float16, int8 or bool."""
    return FLOAT16 in (a, b) and all(x in (FLOAT16, NUMBERS["int8"], BOOL) for x in (a, b))


def _no_half(t: Number) -> Number:
    """float16 where Numba's own number rules see it: they type it as float32 (it promotes to float32)."""
    return FLOAT32 if t == FLOAT16 else t


def arith_result(a: Number, b: Number, op: str = "+") -> Number:
    """+ - * // % (and ** between non-floats): ints compute in 64 bits, unsigned only if both are.
    float16 + - * (and /) with float16, int8 or bool stay float16; // % and other mixes compute as float32."""
    if FLOAT16 in (a, b):
        if op in ("+", "-", "*", "/") and _half_pair(a, b):
            return FLOAT16
        a, b = _no_half(a), _no_half(b)
    if a.is_float or b.is_float:
        if FLOAT64 in (a, b):
            return FLOAT64
        other = b if a == FLOAT32 else a
        return FLOAT32 if other == FLOAT32 or safe_to_float32(other) else FLOAT64
    signed = a.signed or b.signed
    return int_of(64, signed)


def truediv_result(a: Number, b: Number) -> Number:
    if a.is_float or b.is_float:
        return arith_result(a, b, "/")
    return FLOAT64


def pow_result(a: Number, b: Number) -> Number:
    a, b = _no_half(a), _no_half(b)
    if a == FLOAT32 and not b.is_float:
        return FLOAT32
    return arith_result(a, b)


def bitwise_result(a: Number, b: Number) -> Number | None:
    if a.is_float or b.is_float:
        return None
    if a == BOOL and b == BOOL:
        return BOOL
    return arith_result(a, b)


def shift_result(a: Number, b: Number) -> Number | None:
    if a.is_float or b.is_float:
        return None
    return int_of(64, a.signed)


def unary_result(op: str, a: Number) -> Number | None:
    if op == "not":
        return BOOL
    if op == "invert":
        if a.is_float:
            return None
        return BOOL if a == BOOL else int_of(64, a.signed)
    return a if a.is_float else int_of(64, a.signed)       # neg, pos


def unify(a, b):
    """The type of a variable that holds `a` on one path and `b` on another (Numba's unify_types);
    None when they do not unify."""
    if a == b:
        return a
    if isinstance(a, Number) and isinstance(b, Number):
        if a == BOOL:
            return b
        if b == BOOL:
            return a
        if a.is_float or b.is_float:
            if FLOAT64 in (a, b):
                return FLOAT64
            if FLOAT16 in (a, b):
                other = b if a == FLOAT16 else a
                if other.bits <= 8 or other == FLOAT16:
                    return FLOAT16
                a, b = FLOAT32, other
            other = b if a == FLOAT32 else a
            if other == FLOAT32:
                return FLOAT32
            return FLOAT32 if other.bits <= 16 else FLOAT64
        if a.signed == b.signed:
            return a if a.bits >= b.bits else b
        s, u = (a, b) if a.signed else (b, a)
        bits = max(s.bits, 2 * u.bits)
        return int_of(bits, True) if bits <= 64 else FLOAT64
    if isinstance(a, Tuple) and isinstance(b, Tuple) and len(a.items) == len(b.items):
        items = tuple(unify(x, y) for x, y in zip(a.items, b.items))
        return None if None in items else Tuple(items)
    if isinstance(a, Array) and isinstance(b, Array) and (a.dtype, a.ndim, a.space) == (b.dtype, b.ndim, b.space):
        return Array(a.dtype, a.ndim, a.space, a.shape if a.shape == b.shape else None,
                     a.layout if a.layout == b.layout else "A")
    return None


def math_result(args: list[Number]) -> Number:
    """math.* on numbers: float32 when every argument is float32, else float64 (float16 alone: float16,
    numba-cuda's h* overloads)."""
    if len(args) == 1 and args[0] == FLOAT16:
        return FLOAT16
    return FLOAT32 if all(a == FLOAT32 for a in args) else FLOAT64


def minmax_result(args: list[Number]) -> Number | None:
    if FLOAT16 in args and BOOL in args:
        return None                               # numba-cuda has no max(float16, bool)
    t = args[0]
    for a in args[1:]:
        t = unify(t, a)
        if t is None:
            return None
    return t


def builtin_cast_result(name: str, a: Number) -> Number | None:
    """int(x): integers keep their type, floats and bool give int64; float(x): float32 stays, ints give
    float64, bool is an error (None); bool(x): bool."""
    if name == "int":
        return a if a.is_int else INT64
    if name == "float":
        return None if a == BOOL else (a if a.is_float else FLOAT64)
    return BOOL


def abs_result(a: Number) -> Number:
    return NUMBERS["int8"] if a == BOOL else a


# -- host values -> types --------------------------------------------------------------------------

def typeof(value, what: str = "argument"):
    """The Numba type of a launch argument: Python int -> int64, float -> float64, bool -> bool,
    NumPy scalars their dtype, arrays (NumPy or device) Array(dtype, ndim)."""
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, (np.integer, np.floating)):
        return from_dtype(value.dtype)
    if isinstance(value, int):
        return INT64 if -2 ** 63 <= value < 2 ** 63 else UINT64
    if isinstance(value, float):
        return FLOAT64
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if dtype is not None and shape is not None:
        return Array(from_dtype(dtype), len(shape), layout=layout_of_value(value))
    raise TypeError(f"{what}: values of type {type(value).__name__} cannot be passed to a kernel")


def layout_of_value(value) -> str:
    """Numba's layout of an array argument: 'C' (C-contiguous), 'F' (Fortran-contiguous), else 'A'."""
    flags = getattr(value, "flags", None)
    if flags is None:
        return "C"                  # vgpu's device arrays are C-contiguous
    if flags["C_CONTIGUOUS"]:
        return "C"
    return "F" if flags["F_CONTIGUOUS"] else "A"


def parse_type(text: str):
    """'float32', 'float32[:]', 'int64[:, :]', 'float32[::1]' -> a type; ValueError otherwise."""
    s = text.strip()
    if "[" in s:
        base, _, rest = s.partition("[")
        if not rest.endswith("]"):
            raise ValueError(f"bad type {text!r}")
        dims = [d.replace(" ", "") for d in rest[:-1].split(",")]
        if not all(d in (":", "::1") for d in dims) or dims.count("::1") > 1 or \
                ("::1" in dims and dims.index("::1") not in (0, len(dims) - 1)):
            raise ValueError(f"bad array type {text!r}: use float32[:], float32[::1] or float32[:, ::1]")
        # Numba's layouts: [::1] last is C, first (of several) is F, none is A
        layout = "C" if dims[-1] == "::1" else ("F" if dims[0] == "::1" else "A")
        return Array(number(base.strip()), len(dims), layout=layout)
    try:
        return number(s)
    except KeyError:
        raise ValueError(f"unknown type {s!r}") from None


def parse_signature(sig: str) -> list:
    """'void(float32[:], int32)' -> the parameter types."""
    s = sig.strip()
    if "(" not in s or not s.endswith(")"):
        raise ValueError(f"bad signature {sig!r}: expected e.g. 'void(float32[:], int32)'")
    ret, _, body = s.partition("(")
    if ret.strip() not in ("void", "none", ""):
        raise ValueError(f"a kernel returns void, not {ret.strip()!r}")
    parts, depth, cur = [], 0, ""
    for ch in body[:-1]:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        cur += ch
    if cur.strip():
        parts.append(cur)
    return [parse_type(p) for p in parts]


# -- Numba's overload resolution (for comparisons and range()) ----------------------------------------
# Conversion kinds along Numba's casting graph (numba/core/typeconv/rules.py): 1 promote, 2 safe, 3 unsafe;
# tests/test_python_types.py checks every pair against numba's typing context.
_EDGES = [("bool", "int8", 2), ("bool", "uint8", 2), ("int8", "int16", 1), ("uint8", "uint16", 1),
          ("int16", "int32", 1), ("uint16", "uint32", 1), ("int32", "int64", 1), ("uint32", "uint64", 1),
          ("uint8", "int16", 2), ("uint16", "int32", 2), ("uint32", "int64", 2), ("int16", "float32", 2), ("int8", "float16", 2), ("float16", "float32", 1),
          ("int32", "float64", 2), ("int64", "float64", 2), ("uint64", "float64", 2), ("float32", "float64", 1)]


def _conversions() -> dict[tuple[str, str], int]:
    names = list(NUMBERS)
    kind = {(a, b): 3 for a in names for b in names if a != b}     # every other number conversion is unsafe
    best = {k: 99 for k in kind}
    for a, b, k in _EDGES:
        best[(a, b)] = k
    for m in names:                                               # min over paths of the worst step
        for a in names:
            for b in names:
                if a != b and a != m and b != m:
                    best[(a, b)] = min(best[(a, b)], max(best[(a, m)], best[(m, b)]))
    return {k: min(v, kind[k]) for k, v in best.items()}


CONVERSION = _conversions()


def resolve(cases: list[tuple], args: list[Number]):
    """The first case with the best rating (fewest unsafe, then safe, then promoting conversions)."""
    best, best_rate = None, None
    for case in cases:
        rate = [0, 0, 0]
        for a, p in zip(args, case):
            if a != p:
                rate[3 - CONVERSION[(a.name, p.name)]] += 1
        r = tuple(rate)
        if best_rate is None or r < best_rate:
            best, best_rate = case, r
    return best


_ORDERED = [NUMBERS[n] for n in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                                 "float16", "float32", "float64")]


def compare_type(a: Number, b: Number) -> Number:
    """The type both operands of a comparison are converted to."""
    if a == b:
        return a
    if _half_pair(a, b):
        return FLOAT16
    return resolve([(t, t) for t in [BOOL] + _ORDERED], [a, b])[0]


def range_type(args: list[Number]) -> Number:
    """The item type of range(args): int32, int64 or uint64 as Numba's range overloads resolve."""
    return resolve([(t,) * len(args) for t in (INT32, INT64, UINT64)], args)[0]
