"""What an H200 computes where C leaves the result open: one test per row of
/work/shared/reference/h200-edge-semantics.md, each run as real kernels through vgpu twice:

- the runtime path: the operands come from device memory, so the simulator computes the result;
- the folded path: the operands are constants, the IR constant folder computes the result (the test checks
  that the kernel's IR has no arithmetic left).

In: a C type for the operands, their values, an expression over `x` (and `y`), the result type.
Out: the result's bits, compared with the GPU's.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import vgpu
from vgpu import pipeline
from vgpu.ir import print_module

DTYPE = {"int": np.int32, "unsigned": np.uint32, "long long": np.int64, "unsigned long long": np.uint64,
         "short": np.int16, "unsigned short": np.uint16, "signed char": np.int8, "unsigned char": np.uint8,
         "float": np.float32, "double": np.float64}
BITS = {np.dtype(d): np.dtype(d).itemsize * 8 for d in DTYPE.values()}
UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
NAN, INF = math.nan, math.inf
ADDRESS = re.compile(r"%\d+ = add\.u64 %out, \d+$")     # out + i: the only instruction a folded kernel keeps


def literal(v, ctype: str) -> str:
    """A C constant expression of type ctype with value v."""
    if DTYPE[ctype] in (np.float32, np.float64):
        f = "f" if ctype == "float" else ""
        if math.isnan(v):
            return f"(0.0{f} / 0.0{f})"
        if math.isinf(v):
            return f"({'-' if v < 0 else ''}1.0{f} / 0.0{f})"
        return f"(({ctype}){float(v)!r})"
    return f"(({ctype}){int(v) & ((1 << BITS[np.dtype(DTYPE[ctype])]) - 1)}ULL)"


def bits(values, ctype: str) -> list[int]:
    a = np.asarray(values, DTYPE[ctype])
    return a.view(UINT[a.dtype.itemsize * 8]).tolist()


def run_both(ctype: str, rtype: str, expr: str, xs: list, ys: list | None = None) -> tuple[list[int], list[int]]:
    """The bits of `expr` for each (x, y), computed at run time and by the constant folder."""
    ys = ys if ys is not None else [0] * len(xs)
    runtime = (f"__global__ void k({rtype} *out, const {ctype} *xs, const {ctype} *ys)\n{{\n"
               f"    int i = threadIdx.x;\n    {ctype} x = xs[i];\n    {ctype} y = ys[i];\n"
               f"    out[i] = {expr};\n}}\n")
    folded = f"__global__ void c({rtype} *out)\n{{\n" + "".join(
        f"    {{ {ctype} x = {literal(x, ctype)}; {ctype} y = {literal(y, ctype)}; out[{i}] = {expr}; }}\n"
        for i, (x, y) in enumerate(zip(xs, ys))) + "}\n"
    ir = print_module(pipeline.to_ir(folded, "folded.vk"))
    left = [ln.strip() for ln in ir.splitlines() if " = " in ln and not ADDRESS.fullmatch(ln.strip())]
    assert not left, f"the folded kernel still computes: {left}"
    dev = vgpu.Device(workers=0)
    n = len(xs)
    out = vgpu.to_device(np.zeros(n, DTYPE[rtype]), device=dev)
    vgpu.compile(runtime, "runtime.vk").get_function("k")(
        out, vgpu.to_device(np.array(xs, DTYPE[ctype]), device=dev),
        vgpu.to_device(np.array(ys, DTYPE[ctype]), device=dev), grid=1, block=n, device=dev)
    got_runtime = bits(out.copy_to_host(), rtype)
    out = vgpu.to_device(np.zeros(n, DTYPE[rtype]), device=dev)
    vgpu.compile(folded, "folded.vk").get_function("c")(out, grid=1, block=1, device=dev)
    return got_runtime, bits(out.copy_to_host(), rtype)


def check(ctype, rtype, expr, xs, want, ys=None):
    """ints in `want` are the result's bits (floats: their bit patterns), floats are values."""
    width = BITS[np.dtype(DTYPE[rtype])]
    want = [w & ((1 << width) - 1) for w in want] if all(isinstance(w, int) for w in want) else bits(want, rtype)
    runtime, folded = run_both(ctype, rtype, expr, xs, ys)
    assert runtime == want, f"runtime {expr}: {[hex(v) for v in runtime]} != {[hex(v) for v in want]}"
    assert folded == want, f"folded {expr}: {[hex(v) for v in folded]} != {[hex(v) for v in want]}"


# ------------------------------------------------------------------------ division and remainder by zero

@pytest.mark.parametrize("ctype", ["int", "unsigned", "long long", "unsigned long long", "short", "unsigned short",
                                   "signed char", "unsigned char"])
def test_remainder_by_zero_is_the_dividend(ctype):
    info = np.iinfo(DTYPE[ctype])
    xs = sorted({0, 1, 7, int(info.max), int(info.min), int(info.max) // 3} | ({-1, -7} if info.min < 0 else set()))
    check(ctype, ctype, f"({ctype})(x % y)", xs, xs)


def test_int_divided_by_zero_is_minus_one():
    xs = [0, 1, 7, -1, -7, 2 ** 31 - 1, -2 ** 31]
    check("int", "int", "x / y", xs, [-1] * len(xs))


def test_unsigned_divided_by_zero_is_all_ones():
    xs = [0, 1, 7, 2 ** 31, 2 ** 32 - 1]
    check("unsigned", "unsigned", "x / y", xs, [0xFFFFFFFF] * len(xs))


def test_unsigned_long_long_divided_by_zero():
    small = [0, 1, 7, 4294967295]
    large = [2 ** 32, 2 ** 63, 2 ** 64 - 1]
    check("unsigned long long", "unsigned long long", "x / y", small + large,
          [0xFFFFFFFF] * len(small) + [2 ** 64 - 1] * len(large))


def test_long_long_divided_by_zero():
    small = [0, 1, 7, 2147483648]
    other = [-1, -7, 4294967296, -2147483648, 2 ** 63 - 1, -2 ** 63, -(2 ** 63 - 1)]
    check("long long", "long long", "x / y", small + other, [4294967295] * len(small) + [-1] * len(other))


@pytest.mark.parametrize("ctype", ["int", "long long"])
def test_most_negative_divided_by_minus_one(ctype):
    lo = int(np.iinfo(DTYPE[ctype]).min)
    check(ctype, ctype, "x / y", [lo], [lo], ys=[-1])
    check(ctype, ctype, "x % y", [lo], [0], ys=[-1])


# ------------------------------------------------------------------------ floating point to integer

BIG = {"int": 2.0 ** 31, "unsigned": 2.0 ** 32, "long long": 2.0 ** 63, "unsigned long long": 2.0 ** 64}
# rtype: (NaN from float, NaN from double, +inf / too large, -inf / too small)
FLOAT_TO_INT = {
    "int": (0, 0x80000000, 2 ** 31 - 1, -2 ** 31),
    "unsigned": (0, 0x80000000, 2 ** 32 - 1, 0),
    "long long": (2 ** 63, 2 ** 63, 2 ** 63 - 1, -2 ** 63),
    "unsigned long long": (2 ** 63, 2 ** 63, 2 ** 64 - 1, 0),
}


@pytest.mark.parametrize("src", ["float", "double"])
@pytest.mark.parametrize("rtype", sorted(FLOAT_TO_INT))
def test_float_to_int(src, rtype):
    nan_f, nan_d, hi, lo = FLOAT_TO_INT[rtype]
    xs = [NAN, INF, -INF, BIG[rtype] * 4, -BIG[rtype] * 4, 1e30, -1e30]
    check(src, rtype, f"({rtype})x", xs, [nan_f if src == "float" else nan_d, hi, lo, hi, lo, hi, lo])


NARROW = [  # (type, value, result), from the reference's examples and the rule behind them
    ("short", INF, -1), ("short", -INF, 0), ("short", 2147483520.0, -128), ("short", NAN, 0),
    ("short", 70000.0, 70000 - 65536), ("short", -40000.0, -40000 + 65536), ("short", 12.75, 12),
    ("signed char", INF, -1), ("signed char", -INF, 0), ("signed char", 300.0, 44), ("signed char", NAN, 0),
    ("unsigned short", 2147483648.0, 0), ("unsigned short", INF, 65535), ("unsigned short", -5.0, 0),
    ("unsigned short", 70000.0, 70000 - 65536), ("unsigned short", NAN, 0),
    ("unsigned char", 4294967040.0, 0), ("unsigned char", INF, 255), ("unsigned char", 300.0, 44),
    ("unsigned char", -1.0, 0), ("unsigned char", NAN, 0),
]


@pytest.mark.parametrize("src", ["float", "double"])
@pytest.mark.parametrize("rtype", ["short", "signed char", "unsigned short", "unsigned char"])
def test_float_to_narrow_goes_through_32_bits(src, rtype):
    rows = [(v, r) for t, v, r in NARROW if t == rtype]
    check(src, rtype, f"({rtype})x", [v for v, _ in rows], [r for _, r in rows])


# ------------------------------------------------------------------------ NaN bit patterns

def test_float_arithmetic_nan_is_7fffffff():
    check("float", "float", "x / y", [0.0, INF, -0.0], [0x7FFFFFFF] * 3, [0.0, -INF, 0.0])
    check("float", "float", "x * y", [0.0, -INF], [0x7FFFFFFF] * 2, [INF, 0.0])
    check("float", "float", "x - y", [INF], [0x7FFFFFFF], [INF])
    check("float", "float", "sqrtf(x)", [-1.0, -INF], [0x7FFFFFFF] * 2)


def test_double_arithmetic_nan_is_fff8():
    check("double", "double", "x / y", [0.0, INF], [0xFFF8000000000000] * 2, [0.0, INF])
    check("double", "double", "x * y", [0.0, INF], [0xFFF8000000000000] * 2, [INF, 0.0])
    check("double", "double", "x - y", [INF], [0xFFF8000000000000], [INF])
    check("double", "double", "fmod(x, y)", [1.0, 5.5], [0xFFF8000000000000] * 2, [0.0, 0.0])
    check("double", "double", "sqrt(x)", [-1.0], [0xFFF8000000000000])


def test_float_of_double_nan_is_ffc00000():
    check("double", "float", "(float)x", [NAN, -NAN], [0xFFC00000] * 2)


def test_double_of_float_nan_is_fff8():
    check("float", "double", "(double)x", [NAN, -NAN], [0xFFF8000000000000] * 2)


def test_double_fmin_fmax_of_two_nans_is_fff8():
    check("double", "double", "fmin(x, y)", [NAN], [0xFFF8000000000000], [NAN])
    check("double", "double", "fmax(x, y)", [NAN], [0xFFF8000000000000], [-NAN])
