"""vgpu.arith against tests/cmodel.py, an independent pure-Python model of C / PTX arithmetic.

Every op and type: exact equality (floats bit for bit, any NaN equal to any NaN) except the
transcendental functions (<= 2 ulp).  Numpy warnings (RuntimeWarning) are errors: arith must never warn.
"""
from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cmodel  # tests/cmodel.py
from vgpu import arith
from vgpu.ir.ops import OPS as IR_OPS
from vgpu.types import F32, F64, INTS, PRED, S8, S16, S32, S64, U16, U32, U64

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
FAST = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
MANY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
LANES = 12


# ------------------------------------------------------------------------------------ strategies

def ints(t):
    lo, hi = cmodel.int_range(t.name)
    tie = ((1 << 24) + 1) << 30                          # int -> float rounding ties and near-ties
    edges = [v for v in (lo, lo + 1, -1, 0, 1, 2, 3, 7, -7, hi - 1, hi, (1 << 24) + 1, (1 << 24) + 3,
                         (1 << 53) + 1, tie, tie + 1, -tie, tie - (1 << 29)) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


def _f32(x):
    return float(np.float32(x))


_FLOAT_EDGES = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.0,
                2.0 ** 24 + 2, 2.0 ** 31, -2.0 ** 31, 2.0 ** 32, -2.0 ** 32, 2.0 ** 63, -2.0 ** 63, 2.0 ** 64,
                3e9, -3e9, 1e20, -1e20, 0.1, 255.5, -128.5, 65535.9]
EDGES = {
    "f32": [_f32(x) for x in _FLOAT_EDGES] + [2.0 ** -149, -2.0 ** -149, 2.0 ** -126, _f32(3.4028234e38),
                                              -_f32(3.4028234e38), 2.0 ** -127],
    "f64": _FLOAT_EDGES + [5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                           -1.7976931348623157e308, 2.0 ** 53 + 2, 2.0 ** -1070],
}


def floats(t):
    return st.one_of(st.sampled_from(EDGES[t.name]), st.floats(width=t.bits))


def values(t):
    if t is PRED:
        return st.booleans()
    return floats(t) if t.is_float else ints(t)


def shift_amounts():
    return st.one_of(st.integers(0, 70), st.integers(0, 2 ** 32 - 1))


def lanes(*strategies):
    return st.lists(st.tuples(*strategies), min_size=1, max_size=LANES)


# ------------------------------------------------------------------------------------ comparison

def bits(x, t):
    return struct.unpack("<I" if t.bits == 32 else "<Q", struct.pack("<f" if t.bits == 32 else "<d", x))[0]


def same(got, want, t) -> bool:
    if t.is_float:
        if math.isnan(got) or math.isnan(want):
            return math.isnan(got) and math.isnan(want)
        return bits(got, t) == bits(want, t)
    return got == want


def ulp_distance(a: float, b: float, t) -> float:
    if math.isnan(a) or math.isnan(b):
        return 0 if math.isnan(a) and math.isnan(b) else math.inf
    def ordered(x):
        v = bits(x, t)
        sign = 1 << (t.bits - 1)
        return -(v ^ sign) if v & sign else v
    return abs(ordered(a) - ordered(b))


def run(op, t, arg_types, rows, model, src=None, mode=None, res=None, ulps=0):
    """Evaluate op over the lanes `rows` and compare each lane with model(*row)."""
    res = res or t
    args = [np.array([r[i] for r in rows], dtype=ty.dtype) for i, ty in enumerate(arg_types)]
    got = arith.evaluate(op, t, args, src=src, mode=mode)
    assert got.dtype == res.dtype and got.shape == (len(rows),)
    inputs = list(zip(*(a.tolist() for a in args)))
    for row, g in zip(inputs, got.tolist()):
        want = model(*row)
        ok = ulp_distance(g, want, res) <= ulps if ulps else same(g, want, res)
        assert ok, f"{op}.{t} {mode or ''} {row}: got {g!r}, want {want!r}"


# --------------------------------------------------------------------------------------- the table

def test_every_ir_op_has_semantics():
    for info in IR_OPS.values():
        if info.group in ("alu", "cmp", "cvt", "math"):
            assert info.name in arith.OPS, info.name


# ----------------------------------------------------------------------------------------- integer

INT_BINARY = ["add", "sub", "mul", "div", "rem", "and", "or", "xor", "min", "max"]


@pytest.mark.parametrize("t", INTS, ids=str)
@MANY
@given(data=st.data())
def test_int_binary(t, data):
    rows = data.draw(lanes(ints(t), ints(t)))
    for op in INT_BINARY:
        run(op, t, (t, t), rows, lambda a, b: cmodel.INT_OPS[op](t.name, a, b))


@pytest.mark.parametrize("t", INTS, ids=str)
@FAST
@given(data=st.data())
def test_shifts(t, data):
    rows = data.draw(lanes(ints(t), shift_amounts()))
    for op in ("shl", "shr"):
        run(op, t, (t, U32), rows, lambda a, s: cmodel.INT_OPS[op](t.name, a, s))


@pytest.mark.parametrize("t", INTS, ids=str)
@FAST
@given(data=st.data())
def test_int_unary(t, data):
    rows = data.draw(lanes(ints(t)))
    for op in ("not", "neg", "abs"):
        run(op, t, (t,), rows, lambda a: cmodel.INT_OPS[op](t.name, a))


@pytest.mark.parametrize("t", [S16, U16, S32, U32, S64, U64], ids=str)
@FAST
@given(data=st.data())
def test_mul_hi_and_mad_lo(t, data):
    rows = data.draw(lanes(ints(t), ints(t), ints(t)))
    run("mul_hi", t, (t, t), [r[:2] for r in rows], lambda a, b: cmodel.INT_OPS["mul_hi"](t.name, a, b))
    run("mad_lo", t, (t, t, t), rows, lambda a, b, c: cmodel.INT_OPS["mad_lo"](t.name, a, b, c))


@pytest.mark.parametrize("narrow,wide", [(S16, S32), (U16, U32), (S32, S64), (U32, U64)], ids=str)
@FAST
@given(data=st.data())
def test_mul_wide_and_mad_wide(narrow, wide, data):
    rows = data.draw(lanes(ints(narrow), ints(narrow), ints(wide)))
    run("mul_wide", wide, (narrow, narrow), [r[:2] for r in rows], lambda a, b: a * b, src=narrow)
    run("mad_wide", wide, (narrow, narrow, wide), rows, lambda a, b, c: cmodel.wrap(a * b + c, wide.name),
        src=narrow)


def test_gpu_integer_corner_cases():
    ev = lambda op, t, *xs: arith.fold(op, t, list(xs))
    assert ev("div", U32, 7, 0) == 0xFFFFFFFF and ev("rem", U32, 7, 0) == 7
    assert ev("div", S32, 7, 0) == -1 and ev("div", S32, -7, 0) == -1 and ev("rem", S32, -7, 0) == -7
    assert ev("div", S32, -2 ** 31, -1) == -2 ** 31 and ev("rem", S32, -2 ** 31, -1) == 0
    assert ev("div", S64, -2 ** 63, -1) == -2 ** 63 and ev("div", U64, 1, 0) == 0xFFFFFFFF
    assert ev("div", U64, 2 ** 32, 0) == 2 ** 64 - 1 and ev("div", S64, -1, 0) == -1
    assert ev("div", S64, 2 ** 32 - 1, 0) == 2 ** 32 - 1 and ev("rem", S64, -2 ** 63, 0) == -2 ** 63
    assert ev("div", S32, -7, 2) == -3 and ev("rem", S32, -7, 2) == -1 and ev("rem", S32, 7, -2) == 1
    assert ev("abs", S32, -2 ** 31) == -2 ** 31 and ev("neg", S8, -128) == -128
    assert ev("shl", U32, 1, 32) == 0 and ev("shr", S32, -5, 99) == -1 and ev("shr", U32, 2 ** 31, 32) == 0


# ------------------------------------------------------------------------------------------- float

FLOAT_EXACT = ["add", "sub", "mul", "div", "min", "max", "fmin", "fmax", "fmod", "copysign",
               "neg", "abs", "fabs", "sqrt", "rcp", "floor", "ceil", "trunc", "rint", "round"]


@pytest.mark.parametrize("t", [F32, F64], ids=str)
@MANY
@given(data=st.data())
def test_float_exact(t, data):
    rows = data.draw(lanes(floats(t), floats(t)))
    for op in FLOAT_EXACT:
        f = cmodel.FLOAT_OPS[op]
        n = f.__code__.co_argcount - 1
        run(op, t, (t,) * n, [r[:n] for r in rows], lambda *xs: f(t.name, *xs))


@pytest.mark.parametrize("op", ["rsqrt", "rsqrt_approx"])
@FAST
@given(data=st.data())
def test_rsqrt(op, data):
    run(op, F32, (F32,), data.draw(lanes(floats(F32))), lambda x: cmodel.frsqrt(x, "f32"))
    run("rsqrt", F64, (F64,), data.draw(lanes(floats(F64))), lambda x: cmodel.frsqrt(x, "f64"), ulps=1)


def fma_rows(t):
    """Operands that stress the single rounding: c near -(a*b), or a*b's tail near a tie."""
    def craft(a, b, k, how):
        with np.errstate(all="ignore"):
            p = float(np.array(a, t.dtype) * np.array(b, t.dtype))
            c = {0: -p, 1: p * 2.0 ** k, 2: -p * (1 + 2.0 ** -k)}[how]
            return a, b, float(np.array(c, t.dtype))
    p = 24 if t is F32 else 53

    def tie(i, e, j, sign):
        """a*b = 2**-e * (1 - 2**-2i) just below a rounding tie of c + a*b: double rounding breaks it."""
        return 1 + 2.0 ** -i, sign * 2.0 ** -e * (1 - 2.0 ** -i), sign * (1 + j * 2.0 ** (1 - p))
    crafted = st.builds(craft, floats(t), floats(t), st.integers(1, 80), st.integers(0, 2))
    ties = st.builds(tie, st.integers(p // 2, p - 1), st.integers(p - 4, p + 4), st.integers(0, 3),
                     st.sampled_from([1.0, -1.0]))
    return st.lists(st.one_of(st.tuples(floats(t), floats(t), floats(t)), crafted, ties),
                    min_size=1, max_size=LANES)


@pytest.mark.parametrize("t", [F32, F64], ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fma_rounds_once(t, data):
    run("fma", t, (t, t, t), data.draw(fma_rows(t)), lambda a, b, c: cmodel.ffma(a, b, c, t.name))


def test_fma_edge_cases():
    cases = [(1e300, 1e10, -1.7976931348623157e308), (2.0 ** -600, 2.0 ** -500, 2.0 ** -1074),
             (1 + 2.0 ** -52, 1 - 2.0 ** -53, -1.0), (3.0, 2.0 ** -1074, -2.0 ** -1073),
             (1e308, 10.0, -math.inf), (0.0, math.inf, 1.0), (-0.0, 5.0, 0.0), (-1e-200, 1e-200, 0.0),
             (1e200, 1e200, -1e308), (2.0 ** 512, 2.0 ** 511, -1.7976931348623157e308)]
    run("fma", F64, (F64, F64, F64), cases, lambda a, b, c: cmodel.ffma(a, b, c, "f64"))


@pytest.mark.parametrize("t", [F32, F64], ids=str)
@MANY
@given(data=st.data())
def test_transcendental_within_2_ulp(t, data):
    rows = data.draw(lanes(floats(t), floats(t)))
    for op in cmodel.TRANSCENDENTAL:
        if t is F64 and op.endswith("_approx"):
            continue                                     # the hardware approximations are f32 only
        n = 2 if op in ("pow", "atan2") else 1
        run(op, t, (t,) * n, [r[:n] for r in rows], lambda *xs: cmodel.transcendental(op, t.name, *xs),
            ulps=2)


def test_pow_special_cases():
    cases = [(-8.0, 1 / 3), (1.0, math.nan), (math.nan, 0.0), (-2.0, 3.0), (0.0, -1.0), (-0.0, -3.0),
             (-1.0, math.inf), (2.0, 2000.0), (-2.0, 2001.0), (0.5, -math.inf)]
    for t in (F32, F64):
        run("pow", t, (t, t), cases, lambda x, y: cmodel.transcendental("pow", t.name, x, y), ulps=1)


def test_nan_results_are_canonical():
    nan32 = np.array([np.inf, np.nan], np.float32)
    for op in ("add", "sub", "mul", "div", "neg", "abs"):
        args = [nan32, -nan32] if op in ("add", "sub", "mul", "div") else [nan32[1:]]
        got = arith.evaluate(op, F32, args)
        assert set(got[np.isnan(got)].view(np.uint32).tolist()) == {0x7FFFFFFF}, op
    got = arith.evaluate("cvt", F32, [np.array([np.nan])], src=F64)
    assert got.view(np.uint32)[0] == 0xFFC00000
    assert arith.evaluate("sqrt", F64, [np.array([-1.0])]).view(np.uint64)[0] == 0xFFF8000000000000
    got = arith.evaluate("cvt", F64, [np.array([np.nan], np.float32)], src=F32)
    assert got.view(np.uint64)[0] == 0xFFF8000000000000


# ------------------------------------------------------------------------------------------ compare

COMPARE_TYPES = [PRED, *INTS, F32, F64]
ORDERED = ["eq", "ne", "lt", "le", "gt", "ge"]


@pytest.mark.parametrize("t", COMPARE_TYPES, ids=str)
@FAST
@given(data=st.data())
def test_compare(t, data):
    rows = data.draw(lanes(values(t), values(t)))
    names = list(cmodel.COMPARE) if t.is_float else ORDERED
    for op in names:
        run(op, t, (t, t), rows, cmodel.COMPARE[op], res=PRED)


@pytest.mark.parametrize("t", [PRED, S8, U16, S32, U64, F32, F64], ids=str)
@FAST
@given(data=st.data())
def test_select(t, data):
    rows = data.draw(lanes(st.booleans(), values(t), values(t)))
    run("select", t, (PRED, t, t), rows, lambda p, a, b: a if p else b)


# ------------------------------------------------------------------------------------------ convert

ALL = [PRED, *INTS, F32, F64]


def modes(src, dst):
    if dst is PRED or src is PRED:
        return [None]
    if src.is_float and dst.is_float:
        return [None, "rni", "rzi", "rmi", "rpi", "sat"] + (["rn", "rz", "rm", "rp"] if dst.bits < src.bits else [])
    if src.is_float:
        return [None, "rni", "rzi", "rmi", "rpi", "rzi.sat"]
    if dst.is_float:
        return [None, "rn", "rz", "rm", "rp"]
    return [None, "sat"]


@pytest.mark.parametrize("src", ALL, ids=str)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_cvt(src, data):
    rows = data.draw(lanes(values(src)))
    for dst in ALL:
        mode = data.draw(st.sampled_from(modes(src, dst)))
        run("cvt", dst, (src,), rows, lambda x: cmodel.cvt(x, dst.name, src.name, mode), src=src, mode=mode)


@pytest.mark.parametrize("src", [*INTS, F32, F64], ids=str)
@FAST
@given(data=st.data())
def test_bitcast(src, data):
    rows = data.draw(lanes(values(src)))
    for dst in [*INTS, F32, F64]:
        if dst.bits == src.bits and dst != src:
            run("bitcast", dst, (src,), rows, lambda x: cmodel.bitcast(x, dst.name, src.name), src=src)


# --------------------------------------------------------------------------------------------- bits

@pytest.mark.parametrize("src", [S32, U32, S64, U64], ids=str)
@FAST
@given(data=st.data())
def test_bits(src, data):
    rows = data.draw(lanes(ints(src)))
    for op in ("popc", "clz", "ffs", "bfind", "brev"):
        res = src if op == "brev" else (U32 if op == "bfind" else S32)
        run(op, res, (src,), rows, lambda x: cmodel.wrap(cmodel.bits_op(op, x, src.name), res.name), src=src)


# --------------------------------------------------------------------------------------- interface

def test_fold_takes_and_gives_python_scalars():
    assert arith.fold("add", U32, [0xFFFFFFFF, 2]) == 1
    assert arith.fold("add", S32, [0xFFFFFFFF, 2]) == 1            # operands taken modulo 2**32
    assert arith.fold("cvt", S32, [-3.7], src=F32) == -3
    assert arith.fold("cvt", F32, [16777217], src=S32) == 16777216.0
    assert arith.fold("lt", F32, [1.0, math.nan]) is False
    assert arith.fold("select", S32, [True, 4, 5]) == 4
    assert arith.fold("shl", S64, [1, 40]) == 2 ** 40
    assert arith.fold("popc", S32, [-1], src=S64) == 64
    assert arith.fold("mul_wide", S64, [-2 ** 31, -2 ** 31], src=S32) == 2 ** 62
    r = arith.fold("mul", F32, [0.1, 0.1])
    assert type(r) is float and r == float(np.float32(0.1) * np.float32(0.1))


def test_shapes_broadcast_and_zero_d():
    r = arith.evaluate("add", S32, [np.int32(2 ** 31 - 1), np.int32(1)])
    assert r.shape == () and r.dtype == np.int32 and int(r) == -2 ** 31
    r = arith.evaluate("mul", F32, [np.ones((3, 1), np.float32), np.arange(4, dtype=np.float32)])
    assert r.shape == (3, 4) and r.dtype == np.float32
    r = arith.evaluate("fma", F64, [np.array(1e300), np.array([1e10, 2.0]), np.array(-1e308)])
    assert r.shape == (2,) and r[1] == 2e300 - 1e308

