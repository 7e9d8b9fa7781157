"""float16 (IEEE binary16) as an NVIDIA GPU computes it, in vgpu.arith, the simulator, both front ends and
both executors: round to nearest even, subnormals kept, NaN results 0x7FFF; fma rounded once.

References are independent of vgpu: correct rounding by searching the sorted list of every float16 value
(`ref_round`), and exact rationals (`fractions`) for fma."""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vgpu
from vgpu import arith, cuda
from vgpu.sim import compiled
from vgpu.sim.compiled import runtime as crt
from vgpu.types import F16, F32, F64, S32, S64, U16

sys.path.insert(0, str(Path(__file__).parent))

ALL = np.arange(65536, dtype=np.uint16).view(np.float16)
POS = np.unique(np.abs(ALL[np.isfinite(ALL)]).astype(np.float64))      # 0, subnormals, ..., 65504
NEXT = np.append(POS[1:], 65536.0)                                       # 2**16 stands for the step to inf
MODES = ("rn", "rz", "rm", "rp")


def ref_round(x, mode: str = "rn") -> np.ndarray:
    """The float16 bits of the float64 values x rounded with `mode`, found among all float16 values."""
    with np.errstate(all="ignore"):
        return _ref_round(np.asarray(x, np.float64), mode)


def _ref_round(x, mode):
    a = np.abs(x)
    fin = np.isfinite(a)
    k = np.clip(np.searchsorted(POS, np.where(fin, a, 0), "right") - 1, 0, len(POS) - 1)
    lo, hi = POS[k], NEXT[k]
    neg = np.signbit(x)
    if mode == "rn":
        even = (np.float16(lo).view(np.uint16) & 1) == 0 if np.ndim(lo) == 0 else \
            (lo.astype(np.float16).view(np.uint16) & 1) == 0
        up = (a - lo > hi - a) | ((a - lo == hi - a) & ~even)
    elif mode == "rz":
        up = np.zeros_like(a, bool)
    else:                                   # rm: away from zero for negatives; rp: for positives
        up = (neg if mode == "rm" else ~neg) & (a > lo)
    mag = np.where(a == lo, lo, np.where(up, hi, lo))
    mag = np.where(fin, mag, a)
    r = np.where(mag >= 65536.0, np.inf, mag).astype(np.float16)       # exact: every candidate is a float16
    r = np.where(neg, -r, r)
    return np.where(np.isnan(x), np.uint16(0x7FFF), r.view(np.uint16))


def round_fraction(v: Fraction, zero_negative: bool) -> int:
    """The float16 bits nearest the rational v (ties to even; |v| >= 65520 is inf); an exact zero has the
    sign `zero_negative`."""
    if v == 0:
        return 0x8000 if zero_negative else 0
    a = abs(v)
    k = int(np.searchsorted(POS, float(a), "right")) - 1
    cands = [c for c in {max(k - 1, 0), k, min(k + 1, len(POS) - 1)}]
    vals = sorted({Fraction(float(POS[c])) for c in cands} | {Fraction(65536)})
    best = min(vals, key=lambda c: (abs(c - a), int(np.float16(float(min(c, 65504))).view(np.uint16)) & 1
                                    if c < 65536 else 0))
    bits = 0x7C00 if best >= 65536 else int(np.float16(float(best)).view(np.uint16))
    return bits | (0x8000 if v < 0 else 0)


def bits(x) -> np.ndarray:
    return np.asarray(x).view(np.uint16)


# -- vgpu.arith ------------------------------------------------------------------------------------------
def test_f16_to_f32_and_f64_are_exact_for_all_patterns():
    for t, nan in ((F32, 0x7FFFFFFF), (F64, 0xFFF8000000000000)):
        got = arith.evaluate("cvt", t, [ALL], F16)
        want = ALL.astype(t.dtype)
        ints = got.view(np.uint32 if t == F32 else np.uint64)
        assert np.array_equal(np.isnan(got), np.isnan(ALL))
        assert (ints[np.isnan(ALL)] == nan).all()
        assert np.array_equal(got[~np.isnan(ALL)].view(ints.dtype), want[~np.isnan(ALL)].view(ints.dtype))


def _f32_samples() -> np.ndarray:
    """Every float16 value, every midpoint between neighbours and its f32 neighbours, the overflow and
    subnormal edges, random floats over the range, and NaN/inf."""
    v = POS.astype(np.float32)
    mids = ((POS[:-1] + POS[1:]) / 2).astype(np.float32)
    edge = np.array([65504, 65519.996, 65520, 65535, 65536, 1e5, 3e38, 2 ** -24, 2 ** -25, 2 ** -26,
                     3 * 2 ** -26, 1e-10, np.inf, np.nan], np.float32)
    rng = np.random.default_rng(7)
    rand = (rng.uniform(-1, 1, 20000) * 10.0 ** rng.uniform(-9, 5, 20000)).astype(np.float32)
    x = np.concatenate([v, mids, np.nextafter(mids, np.float32(0)), np.nextafter(mids, np.float32(np.inf)),
                        edge, rand])
    return np.concatenate([x, -x])


@pytest.mark.parametrize("mode", MODES)
def test_f32_and_f64_to_f16_round_as_the_mode_says(mode):
    x = _f32_samples()
    got = arith.evaluate("cvt", F16, [x], F32, mode)
    assert np.array_equal(bits(got), ref_round(x.astype(np.float64), mode))
    d = np.concatenate([x.astype(np.float64), [1 + 2 ** -11 + 2 ** -40, 1 + 2 ** -11 - 2 ** -40]])
    assert np.array_equal(bits(arith.evaluate("cvt", F16, [d], F64, mode)), ref_round(d, mode))


@pytest.mark.parametrize("mode", MODES)
def test_int_to_f16_rounds_once(mode):
    i = np.concatenate([np.arange(-70000, 70000, 7), [2 ** 31 - 1, -2 ** 31, 65519, 65520, 2049, 2051]])
    assert np.array_equal(bits(arith.evaluate("cvt", F16, [i.astype(np.int32)], S32, mode)), ref_round(i, mode))
    big = np.array([2 ** 62 + 1, -(2 ** 40) - 3, 4097, 2 ** 53 + 1], np.int64)
    assert np.array_equal(bits(arith.evaluate("cvt", F16, [big], S64, mode)), ref_round(big.astype(float), mode))


def test_f16_to_int_truncates_and_saturates():
    x = ALL
    s32 = arith.evaluate("cvt", S32, [x], F16, "rzi")
    f = x.astype(np.float64)
    want = np.where(np.isnan(f), 0, np.trunc(np.clip(np.nan_to_num(f, posinf=3e9, neginf=-3e9), -2 ** 31, 2 ** 31 - 1)))
    assert np.array_equal(s32, want.astype(np.int32))
    u16 = arith.evaluate("cvt", U16, [x], F16, "rni")         # 16-bit targets saturate (cvt.rni.u16.f16)
    want16 = np.where(np.isnan(f), 0, np.clip(np.rint(np.nan_to_num(f, posinf=1e6, neginf=-1e6)), 0, 65535))
    assert np.array_equal(u16, want16.astype(np.uint16))


def _pairs():
    rng = np.random.default_rng(11)
    special = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3C01, 0x7BFF, 0xFBFF,
                        0x7C00, 0xFC00, 0x7E00, 0xFE01, 0x7D00, 0x1400, 0x5BFF], np.uint16)
    sa, sb = np.meshgrid(special, special)
    a = np.concatenate([sa.ravel(), rng.integers(0, 65536, 200000).astype(np.uint16)])
    b = np.concatenate([sb.ravel(), rng.integers(0, 65536, 200000).astype(np.uint16)])
    return a.view(np.float16), b.view(np.float16)


@pytest.mark.parametrize("op, f", [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                                   ("div", np.divide)])
def test_add_sub_mul_div_are_correctly_rounded(op, f):
    a, b = _pairs()
    with np.errstate(all="ignore"):
        exact = f(a.astype(np.float64), b.astype(np.float64))   # exact for + - *; RN-53 for / (safe to round)
    got = arith.evaluate(op, F16, [a, b])
    assert np.array_equal(bits(got), ref_round(exact, "rn"))


FINITE16 = st.integers(0, 65535).filter(lambda u: (u & 0x7C00) != 0x7C00)


def _u(x: float) -> int:
    return int(np.float16(x).view(np.uint16))


# a*b exactly halfway between two halves (1023 * 3 = 3069) or just below the overflow threshold, and a c
# too small to survive a rounding to float32 first: only a single rounding gets these right
HARD = [(_u(1023), _u(3), 0x0001), (_u(1023), _u(3), 0x8001), (_u(1023), _u(3), 0x0000),
        (_u(-1023), _u(3), 0x0001), (_u(1023), _u(-3), 0x8001), (_u(2047), _u(31.5), 0x0001),
        (_u(0.0009765625), _u(0.0009765625), 0x0001), (_u(255.875), _u(256), 0x8001), (0x0001, 0x3800, 0x0000),
        (0x0003, 0x3800, 0x8000), (_u(1023), _u(3), _u(2 ** -14))]


@pytest.mark.parametrize("ua, ub, uc", HARD)
def test_hfma_rounds_once_where_double_rounding_fails(ua, ub, uc):
    test_hfma_is_exactly_rounded.hypothesis.inner_test(ua, ub, uc)


@settings(max_examples=1500, deadline=None)
@given(FINITE16, FINITE16, FINITE16)
def test_hfma_is_exactly_rounded(ua, ub, uc):
    a, b, c = (np.array([u], np.uint16).view(np.float16) for u in (ua, ub, uc))
    fa, fb, fc = (Fraction(float(x[0])) for x in (a, b, c))
    prod_neg = bool(np.signbit(a[0])) != bool(np.signbit(b[0]))
    zero_neg = fa * fb == 0 and fc == 0 and prod_neg and bool(np.signbit(c[0]))
    want = round_fraction(fa * fb + fc, zero_neg)
    assert int(bits(arith.evaluate("fma", F16, [a, b, c]))[0]) == want


def test_hfma_special_values():
    h = lambda *u: np.array(u, np.uint16).view(np.float16)        # noqa: E731
    got = arith.evaluate("fma", F16, [h(0x7C00, 0x0000, 0x7BFF, 0x7BFF, 0x0001), h(0x0000, 0x3C00, 0x7BFF, 0x3C00, 0x0001),
                                      h(0x3C00, 0x7E00, 0x0000, 0xFBFF, 0x8000)])
    assert bits(got).tolist() == [0x7FFF, 0x7FFF, 0x7C00, 0x0000, 0x0000]


# -- the simulator, both executors -------------------------------------------------------------------------
VK_ALL = r"""
#include <cuda_fp16.h>
__global__ void every(const unsigned short *u, const unsigned short *v, const unsigned short *w, float *f,
                      __half *s, __half *p, __half *q, __half *r)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    __half a = __ushort_as_half(u[i]), b = __ushort_as_half(v[i]), c = __ushort_as_half(w[i]);
    f[i] = __half2float(a);
    s[i] = a + b;
    p[i] = __hdiv(a, b);
    q[i] = __hfma(a, b, c);
    r[i] = __float2half(__half2float(a) * 1.3f) + __int2half_rn(u[i] - 30000) + (__half)(v[i] * 1e-3);
}
"""


def _run_every(executor: str):
    rng = np.random.default_rng(3)
    u = np.arange(65536, dtype=np.uint16)
    v, w = rng.permutation(u), rng.integers(0, 65536, 65536).astype(np.uint16)
    dev = vgpu.Device(executor=executor, workers=0)
    mod = vgpu.compile(VK_ALL, "every.vk")
    outs = [vgpu.zeros(65536, np.float32, device=dev)] + [vgpu.zeros(65536, np.float16, device=dev) for _ in range(4)]
    ins = [vgpu.to_device(x, device=dev) for x in (u, v, w)]
    mod.get_function("every")(*ins, *outs, grid=256, block=256, device=dev)
    return mod, (u, v, w), [o.copy_to_host() for o in outs]


def test_every_pattern_through_the_simulator_on_both_executors():
    mod, (u, v, w), got = _run_every("interp")
    a, b, c = u.view(np.float16), v.view(np.float16), w.view(np.float16)
    f = got[0]
    assert np.array_equal(f.view(np.uint32)[~np.isnan(a)], a[~np.isnan(a)].astype(np.float32).view(np.uint32))
    assert (f.view(np.uint32)[np.isnan(a)] == 0x7FFFFFFF).all()
    with np.errstate(all="ignore"):
        assert np.array_equal(bits(got[1]), ref_round(a.astype(np.float64) + b.astype(np.float64)))
        assert np.array_equal(bits(got[2]), ref_round(a.astype(np.float64) / b.astype(np.float64)))
        prod = ref_round((a.astype(np.float32) * np.float32(1.3)).astype(np.float64)).view(np.float16)
        plus = ref_round(prod.astype(np.float64) + ref_round(u.astype(np.float64) - 30000).view(np.float16))
        third = ref_round(v.astype(np.float64) * 1e-3).view(np.float16)
        assert np.array_equal(bits(got[4]), ref_round(plus.view(np.float16).astype(np.float64) + third))
    fin = np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
    for k in np.flatnonzero(fin)[::97]:                        # 600-odd lanes against exact rationals
        fa, fb, fc = Fraction(float(a[k])), Fraction(float(b[k])), Fraction(float(c[k]))
        zn = fa * fb == 0 and fc == 0 and (np.signbit(a[k]) != np.signbit(b[k])) and np.signbit(c[k])
        assert int(bits(got[3])[k]) == round_fraction(fa * fb + fc, bool(zn))
    assert compiled.supports(mod.program, "every") == (True, "")
    crt.COUNTS.clear()
    _, _, again = _run_every("compiled")                       # native code, the same bytes
    assert crt.COUNTS.get("native", 0) > 0 and not crt.COUNTS.get("fallback")
    assert all(np.array_equal(x.view(np.uint8), y.view(np.uint8)) for x, y in zip(got, again))
    rz = vgpu.compile("#include <cuda_fp16.h>\n__global__ void k(const float *f, __half *h) "
                      "{ h[threadIdx.x] = __float2half_rz(f[threadIdx.x]); }", "rz.vk")
    ok, why = compiled.supports(rz.program, "k")                # directed rounding to half: the interpreter's
    assert not ok and "cvt" in why


# -- .vk and Python give the same bytes ------------------------------------------------------------------------
VK_MIXED = r"""
#include <cuda_fp16.h>
__global__ void dot_rows(const __half *A, const __half *x, __half *y, float *yf, int n, int m)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float acc = 0.0f;
        for (int j = 0; j < m; j++)
            acc += __half2float(A[i * m + j]) * __half2float(x[j]);
        yf[i] = acc;
        y[i] = __float2half(acc);
    }
}
__global__ void haxpy(__half a, const __half *x, __half *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        __half t = __hfma(a, x[i], y[i]);
        y[i] = t * t - x[i] / a;
    }
}
"""


@cuda.jit
def py_dot_rows(A, x, y, yf):
    i = cuda.grid(1)
    if i < A.shape[0]:
        acc = np.float32(0)
        for j in range(A.shape[1]):
            acc += np.float32(A[i, j]) * np.float32(x[j])
        yf[i] = acc
        y[i] = acc


@cuda.jit
def py_haxpy(a, x, y):
    i = cuda.grid(1)
    if i < x.size:
        t = cuda.fp16.hfma(a, x[i], y[i])
        y[i] = t * t - x[i] / a


def test_same_bytes_from_vk_and_python():
    rng = np.random.default_rng(8)
    n, m = 96, 40
    A = rng.standard_normal((n, m)).astype(np.float16)
    x = rng.standard_normal(m).astype(np.float16)
    mod = vgpu.compile(VK_MIXED, "mixed.vk")
    y1, yf1 = vgpu.zeros(n, np.float16), vgpu.zeros(n, np.float32)
    mod.get_function("dot_rows")[(n + 31) // 32, 32](vgpu.to_device(A), vgpu.to_device(x), y1, yf1, n, m)
    y2, yf2 = np.zeros(n, np.float16), np.zeros(n, np.float32)
    py_dot_rows[(n + 31) // 32, 32](A, x, y2, yf2)
    assert y1.copy_to_host().tobytes() == y2.tobytes() and yf1.copy_to_host().tobytes() == yf2.tobytes()
    acc = np.zeros(n, np.float32)
    for j in range(m):
        acc = acc + A[:, j].astype(np.float32) * x[j].astype(np.float32)   # products exact in f32
    assert yf2.tobytes() == acc.tobytes() and y2.tobytes() == acc.astype(np.float16).tobytes()

    xs, ys = rng.standard_normal(n).astype(np.float16), rng.standard_normal(n).astype(np.float16)
    a = np.float16(0.7)
    d_y = vgpu.to_device(ys)
    mod.get_function("haxpy")[(n + 31) // 32, 32](a, vgpu.to_device(xs), d_y, n)
    py_y = ys.copy()
    py_haxpy[(n + 31) // 32, 32](a, xs, py_y)
    assert d_y.copy_to_host().tobytes() == py_y.tobytes()
    t = np.array([round_fraction(Fraction(float(a)) * Fraction(float(p)) + Fraction(float(q)), False)
                  for p, q in zip(xs, ys)], np.uint16).view(np.float16)
    assert py_y.tobytes() == ((t * t) - (xs / a)).tobytes()          # numpy float16 ops round correctly


# -- Python kernels: numba-cuda's float16 -------------------------------------------------------------------
@cuda.jit
def py_ops(a, b, h, i, f):
    k = cuda.grid(1)
    if k < a.size:
        x, y = a[k], b[k]
        h[k, 0] = cuda.fp16.hadd(x, y)
        h[k, 1] = cuda.fp16.hsub(x, y)
        h[k, 2] = cuda.fp16.hmul(x, y)
        h[k, 3] = cuda.fp16.hdiv(x, y)
        h[k, 4] = cuda.fp16.hneg(x)
        h[k, 5] = cuda.fp16.habs(x)
        h[k, 6] = cuda.fp16.hmax(x, y)
        h[k, 7] = cuda.fp16.hmin(x, y)
        h[k, 8] = -x + y * x
        h[k, 9] = cuda.fp16.hsqrt(cuda.fp16.habs(x))
        i[k, 0] = (cuda.fp16.heq(x, y) | cuda.fp16.hne(x, y) << 1 | cuda.fp16.hgt(x, y) << 2
                   | cuda.fp16.hge(x, y) << 3 | cuda.fp16.hlt(x, y) << 4 | cuda.fp16.hle(x, y) << 5
                   | (x != y) << 6)
        i[k, 1] = int(x) if abs(x) < np.float16(30000) else 0
        f[k] = x + np.float32(0.25)                     # float16 + float32 computes in float32


def test_python_float16_operations():
    rng = np.random.default_rng(4)
    u = np.concatenate([np.array([0x3C00, 0x4100, 0x4300, 0xC100, 0x7E00, 0x7C00, 0x0001, 0x8000], np.uint16),
                        rng.integers(0, 65536, 248).astype(np.uint16)])
    a, b = u.view(np.float16), np.roll(u, 3).view(np.float16)
    h, i, f = np.zeros((256, 10), np.float16), np.zeros((256, 2), np.int64), np.zeros(256, np.float32)
    py_ops[8, 32](a, b, h, i, f)
    A, B = a.astype(np.float64), b.astype(np.float64)
    with np.errstate(all="ignore"):
        for col, want in enumerate([A + B, A - B, A * B, A / B, -A, np.abs(A),
                                    np.where(np.isnan(A), B, np.where(np.isnan(B), A, np.maximum(A, B))),
                                    np.where(np.isnan(A), B, np.where(np.isnan(B), A, np.minimum(A, B))),
                                    (-a) + (b * a), np.sqrt(np.abs(A))]):
            w = ref_round(want.astype(np.float64)) if col != 8 else ref_round(want.astype(np.float64))
            assert np.array_equal(bits(h[:, col]), w), col
        flags = ((A == B) * 1 | ((A < B) | (A > B)) * 2 | (A > B) * 4 | (A >= B) * 8 | (A < B) * 16 | (A <= B) * 32
                 | (A != B) * 64)
        assert np.array_equal(i[:, 0], flags)
        small = np.abs(A) < 30000
        assert np.array_equal(i[:, 1], np.where(small, np.rint(np.where(small, A, 0)), 0))   # cvt.rni: 2.5 -> 2
        assert i[1, 1] == 2 and i[2, 1] == 4 and i[3, 1] == -2                                 # 2.5, 3.5, -2.5
        assert np.array_equal(f.view(np.uint32)[~np.isnan(a)],
                              (a.astype(np.float32) + np.float32(0.25)).view(np.uint32)[~np.isnan(a)])


def test_numba_float16_typing_in_kernels():
    @cuda.jit
    def k(a, out):
        x = a[0]
        out[0] = x + np.int8(1)          # float16 + int8: float16 (rounded in half)
        out[1] = x + 1                   # float16 + int64 literal: float64, rounded on store
        out[2] = cuda.float16(np.float32(1.0009765625) + np.float32(2 ** -12))
    a = np.array([2049.0], np.float16)
    out = np.zeros(3, np.float16)
    k[1, 1](a, out)
    assert out[0] == np.float16(2048) + np.float16(1) == 2048       # 2049 -> 2048; 2048 + 1 ties to 2048
    assert out[1] == np.float16(2049.0)                               # 2048 + 1 in float64 -> 2048 again
    assert out[2] == np.float16(1.0009765625)


# -- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, msg", [
    ("__half h = p[0]; p[1] = h + 1.0f;", "ambiguous"),
    ("__half h = p[0]; float f = 2.0f; f += h;", "ambiguous"),
    ("__half h = p[0]; p[1] = h % h;", "invalid operands"),
    ("__half h = p[0]; printf(\"%f\\n\", h);", "non-trivial type '__half'"),
    ("__half h = p[0]; p[1] = sqrt(h);", "ambiguous"),
    ("__half h = p[0]; p[1] = threadIdx.x ? h : 1.0f;", "ambiguous"),
])
def test_vk_errors_are_diagnosed(body, msg):
    src = "#include <cuda_fp16.h>\n__global__ void k(__half *p) { " + body + " }\n"
    with pytest.raises(vgpu.CompileError, match=msg):
        vgpu.compile(src, "bad.vk")


def test_half_needs_the_header():
    with pytest.raises(vgpu.CompileError, match="declared in <cuda_fp16.h>"):
        vgpu.compile("__global__ void k(__half *p) { }\n", "bad.vk")


def test_python_errors_are_diagnosed():
    @cuda.jit
    def k(a):
        a[0] = math.exp(a[0])

    @cuda.jit
    def k2(a):
        a[0] = cuda.fp16.hpow(a[0], a[0])
    with pytest.raises(vgpu.CompileError, match="math.exp of a float16 is not supported yet"):
        k[1, 1](np.zeros(1, np.float16))
    with pytest.raises(vgpu.CompileError, match="cuda.fp16.hpow is not supported"):
        k2[1, 1](np.zeros(1, np.float16))


# -- memory spaces, parameters, device functions, printf ---------------------------------------------------
VK_SPACES = r"""
#include <cuda_fp16.h>
__device__ __half twice(__half h) { return h + h; }
__global__ void spaces(const __half *in, __half *out, __half bias)
{
    __shared__ __half tile[64];
    __half loc[4];
    int t = threadIdx.x;
    tile[t] = in[t];
    for (int k = 0; k < 4; k++) loc[k] = in[(t + k) % 64];
    __syncthreads();
    __half s = bias;
    for (int k = 0; k < 4; k++) s = __hadd(s, loc[k]);
    out[t] = twice(tile[63 - t]) + s;
    if (t == 1) printf("%f %f\n", (float)tile[1], __half2float(bias));
}
"""


@cuda.jit
def py_spaces(inp, out, bias):
    tile = cuda.shared.array(64, np.float16)
    loc = cuda.local.array(4, np.float16)
    t = cuda.threadIdx.x
    tile[t] = inp[t]
    for k in range(4):
        loc[k] = inp[(t + k) % 64]
    cuda.syncthreads()
    s = bias
    for k in range(4):
        s = cuda.fp16.hadd(s, loc[k])
    out[t] = (tile[63 - t] + tile[63 - t]) + s
    if t == 1:
        print(float(tile[1]), float(bias))


def test_shared_local_params_and_printf_in_both_front_ends(capfd):
    x = (np.arange(64) / 7).astype(np.float16)
    want = np.empty(64, np.float16)
    for t in range(64):
        s = np.float16(0.5)
        for k in range(4):
            s = s + x[(t + k) % 64]
        want[t] = (x[63 - t] + x[63 - t]) + s
    out = vgpu.zeros(64, np.float16)
    vgpu.compile(VK_SPACES, "spaces.vk").get_function("spaces")[1, 64](vgpu.to_device(x), out, 0.5)
    assert out.copy_to_host().tobytes() == want.tobytes()
    py_out = np.zeros(64, np.float16)
    py_spaces[1, 64](x, py_out, np.float16(0.5))
    assert py_out.tobytes() == want.tobytes()
    printed = capfd.readouterr().out.split()
    assert printed == ["0.142822", "0.500000"] * 2          # float16(1/7) = 0.142822265625


VK_CONVERT = r"""
#include <cuda_fp16.h>
__global__ void convert(const float *f, const double *d, const int *i, __half *hf, __half *hd, __half *hi,
                        int *back)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    hf[k] = __float2half_rn(f[k]);
    hd[k] = __double2half(d[k]);
    hi[k] = __int2half_rn(i[k]);
    back[k] = __half2int_rz(hf[k]) + (short)hd[k];
}
"""


@pytest.mark.parametrize("executor", ["interp", "compiled"])
def test_conversions_of_random_bits_on_both_executors(executor):
    rng = np.random.default_rng(21)
    n = 16384
    f = rng.integers(0, 2 ** 32, n, dtype=np.uint64).astype(np.uint32).view(np.float32)
    f[: n // 2] = (rng.standard_normal(n // 2) * 10.0 ** rng.uniform(-9, 6, n // 2)).astype(np.float32)
    d = rng.standard_normal(n) * 10.0 ** rng.uniform(-9, 6, n)
    with np.errstate(all="ignore"):                                      # just past an f32 (NaN/inf stay)
        d[::5] = f[::5].astype(np.float64) + np.ldexp(np.abs(f[::5].astype(np.float64)), -40)
    i = rng.integers(-2 ** 31, 2 ** 31, n).astype(np.int32)
    i[::2] = rng.integers(-70000, 70000, n // 2)
    dev = vgpu.Device(executor=executor, workers=0)
    mod = vgpu.compile(VK_CONVERT, "convert.vk")
    outs = [vgpu.zeros(n, np.float16, device=dev) for _ in range(3)] + [vgpu.zeros(n, np.int32, device=dev)]
    crt.COUNTS.clear()
    mod.get_function("convert")(*(vgpu.to_device(x, device=dev) for x in (f, d, i)), *outs, grid=n // 256,
                                block=256, device=dev)
    hf, hd, hi, back = (o.copy_to_host() for o in outs)
    assert (crt.COUNTS.get("native", 0) > 0) == (executor == "compiled")
    with np.errstate(all="ignore"):
        assert np.array_equal(bits(hf), ref_round(f.astype(np.float64)))
    assert np.array_equal(bits(hd), ref_round(d))
    assert np.array_equal(bits(hi), ref_round(i.astype(np.float64)))
    a, c = hf.astype(np.float64), hd.astype(np.float64)
    with np.errstate(all="ignore"):                                      # NaN lanes are masked out
        ia = np.where(np.isnan(a), 0, np.trunc(np.clip(np.nan_to_num(a, posinf=1e10, neginf=-1e10), -2 ** 31, 2 ** 31 - 1)))
        ic = np.where(np.isnan(c), 0, np.trunc(np.clip(np.nan_to_num(c, posinf=1e10, neginf=-1e10), -32768, 32767)))
        assert np.array_equal(back, (ia + ic).astype(np.int64).astype(np.int32))


@cuda.jit
def py_floor_mod_pow(x, y):
    y[0] = x[0] // x[1]            # float16 // float16, % and ** compute in float32 (Numba's rules)
    y[1] = x[0] % x[1]
    y[2] = x[1] ** 2
    y[3] = max(x[0], x[1])         # unify: float16
    y[4] = round(x[2])             # int64, half to even


def test_python_float16_floor_mod_pow_follow_numba():
    x = np.array([7.5, 2.0, 2.5], np.float16)
    y = np.zeros(5, np.float32)
    py_floor_mod_pow[1, 1](x, y)
    assert y.tolist() == [3.0, 1.5, 4.0, 7.5, 2.0]
