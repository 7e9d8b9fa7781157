"""The CUDA Math API and intrinsics beyond the basic functions, each against an independent reference:

- IEEE arithmetic with a rounding mode (`__fadd_rd`, `__fmul_ru`, `__fdiv_rz`, `__fsqrt_rd`, `__fmaf_ru`,
  `__dadd_rz`, ... : PTX add.rm.f32 and kin) against the exact rational result rounded by tests/cmodel.py,
  in vgpu.arith (also f16) and through the whole pipeline;
- the conversions with a rounding mode (`__int2float_rd`, `__double2float_ru`, `__float2ll_rd`, ...);
- the functions nvcc compiles to libdevice (`frexpf`, `scalbnf`, `ilogbf`, `normcdff`, `erfinvf`,
  `j0f`, `norm3df`, `sincospif`, ...; and the double ones) bit for bit against libdevice's own code run
  on the CPU (tools/libdevice_check.py's JIT), and the exact ones (frexp ldexp scalbn ilogb logb modf
  rint lrint llround copysign signbit fdim) against numpy / Python's math;
- what nvcc compiles a call to (rintf is cvt.rni.f32.f32, __fadd_rd add.rm.f32, ...), from nvcc's PTX
  when nvcc is installed;
- the integer intrinsics (`__hadd` family, cache-hinted loads and stores) against Python integers.
"""
from __future__ import annotations

import math
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu import arith
from vgpu.isa.disasm import disassemble
from vgpu.pipeline import compile_source
from vgpu.types import scalar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cmodel import round_float  # noqa: E402

MODES = ("rn", "rz", "rm", "rp")
CUDA_MODE = {"rn": "rn", "rz": "rz", "rm": "rd", "rp": "ru"}
RNG = np.random.default_rng(11)


def _values(dt, n):
    """Random operands of dtype dt: ordinary, wide-ranging, subnormal, huge, and the specials."""
    fi = np.finfo(dt)
    tiny, big = float(fi.smallest_subnormal), float(fi.max)
    lo, hi = math.log2(tiny), math.log2(big)
    mags = 2.0 ** RNG.uniform(lo, hi, n)
    vals = np.concatenate([RNG.standard_normal(n) * 10, mags * RNG.choice([-1, 1], n),
                           RNG.integers(-2 ** 30, 2 ** 30, n // 4) * 1.0,
                           [0.0, -0.0, 1.0, -1.0, tiny, -tiny, big, -big, 1.5, 3.0, np.inf, -np.inf, np.nan,
                            float(fi.tiny), 1 + float(fi.eps), 2.0 ** (fi.maxexp - 1)]])
    with np.errstate(over="ignore"):
        return vals.astype(dt)


def _sqrt_exact(q: Fraction) -> Fraction:
    """sqrt(q) when it is rational, else a rational strictly between sqrt(q) and every float: sqrt(q) =
    sqrt(num) / (den * 2**k) with num = q's numerator * den * 4**k, isqrt(num) of 130 bits or more."""
    k = max(0, (260 - q.numerator.bit_length() - q.denominator.bit_length()) // 2 + 1)
    num = q.numerator * q.denominator * 4 ** k
    r = math.isqrt(num)
    if r * r == num:
        return Fraction(r, q.denominator * 2 ** k)
    return Fraction(2 * r + 1, q.denominator * 2 ** (k + 1))


def reference(op, fmt, mode, *xs):
    """The IEEE result of op on the (float) operands in mode, from the exact rational (None: an infinite or
    NaN operand or result, which the rounding mode does not touch: the test compares those with .rn)."""
    if not all(math.isfinite(x) for x in xs):
        return None
    f = [Fraction(x) for x in xs]
    if op in ("div", "rcp") and (xs[-1] == 0):
        return None
    if op == "sqrt" and xs[0] < 0:
        return None
    exact = {"add": lambda: f[0] + f[1], "sub": lambda: f[0] - f[1], "mul": lambda: f[0] * f[1],
             "div": lambda: f[0] / f[1], "rcp": lambda: 1 / f[0], "fma": lambda: f[0] * f[1] + f[2],
             "sqrt": lambda: _sqrt_exact(f[0])}[op]()
    if exact == 0:                                       # the sign of an exact zero (IEEE 754 6.3)
        if op in ("mul", "div"):
            return math.copysign(0.0, math.copysign(1, xs[0]) * math.copysign(1, xs[1]))
        if op == "sqrt":
            return xs[0]
        addends = {"add": (xs[0], xs[1]), "sub": (xs[0], -xs[1]),
                   "fma": (math.copysign(0.0, math.copysign(1, xs[0]) * math.copysign(1, xs[1])) if
                           xs[0] * xs[1] == 0 else xs[0] * xs[1], xs[2])}[op]
        if all(a == 0 and math.copysign(1, a) < 0 for a in addends):
            return -0.0
        if all(a == 0 and math.copysign(1, a) > 0 for a in addends):
            return 0.0
        return -0.0 if mode == "rm" else 0.0
    return round_float(exact, fmt, mode)


def _check_op(op, dt, n):
    fmt = {np.float32: "f32", np.float64: "f64"}[dt]
    t = scalar(fmt)
    nargs = {"rcp": 1, "sqrt": 1, "fma": 3}.get(op, 2)
    base = _values(dt, n)
    args = [RNG.permutation(base) for _ in range(nargs)]
    if nargs == 3:                                       # c near -(a*b): cancellation and exact zeros
        with np.errstate(all="ignore"):
            near = (-(args[0].astype(np.float64) * args[1])).astype(dt)
        args[2] = np.where(RNG.random(args[2].size) < 0.3, near, args[2])
    if op == "sqrt":
        args[0] = np.abs(args[0])
    rn = arith.evaluate(op, t, args, mode="rn")
    for mode in MODES[1:]:
        got = arith.evaluate(op, t, args, mode=mode)
        for k in range(got.size):
            xs = [float(a[k]) for a in args]
            want = reference(op, fmt, mode, *xs)
            g = float(got[k])
            if want is None:
                assert (math.isnan(g) and math.isnan(rn[k])) or g == rn[k], (op, mode, xs)
                continue
            assert g == want and math.copysign(1, g) == math.copysign(1, want), (op, fmt, mode, xs, g, want)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "rcp", "sqrt", "fma"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_directed_rounding_is_the_exact_result_rounded(op, dt):
    with np.errstate(all="ignore"):
        _check_op(op, dt, 400)


def test_directed_rounding_edges():
    """Overflow (to the largest finite value where the mode rounds back), results that round into the
    subnormal range, and the sign of an exact zero sum in mode rm."""
    f32, f64 = scalar("f32"), scalar("f64")
    big = np.array([3.4028234663852886e38], np.float32)
    ev = lambda op, t, xs, m: arith.evaluate(op, t, [np.array(x, t.dtype) for x in xs], mode=m)   # noqa: E731
    assert ev("add", f32, [big, big], "rz")[0] == big[0]
    assert ev("add", f32, [big, big], "rm")[0] == big[0] and np.isinf(ev("add", f32, [big, big], "rp")[0])
    assert ev("add", f32, [-big, -big], "rp")[0] == -big[0]
    tiny = np.array([2.0 ** -1074])
    assert ev("mul", f64, [tiny, [0.5]], "rp")[0] == 2.0 ** -1074 and ev("mul", f64, [tiny, [0.5]], "rz")[0] == 0
    assert ev("div", f64, [tiny, [3.0]], "rp")[0] == 2.0 ** -1074
    one = np.array([1.0], np.float32)
    assert np.signbit(ev("sub", f32, [one, one], "rm")[0]) and not np.signbit(ev("sub", f32, [one, one], "rp")[0])
    assert np.signbit(ev("fma", f64, [[2.0], [3.0], [-6.0]], "rm")[0])
    h = scalar("f16")                                    # the ISA's f16 rows take the modes too
    for mode, side in (("rm", -1), ("rp", 1)):
        r = ev("div", h, [np.array([1.0], np.float16), np.array([3.0], np.float16)], mode)[0]
        other = np.nextafter(r, np.float16(-side))
        assert (Fraction(float(r)) - Fraction(1, 3)) * side > 0 > (Fraction(float(other)) - Fraction(1, 3)) * side


RMODE_KERNEL = """
__global__ void k(const float *x, const float *y, const float *z, float *o,
                  const double *a, const double *b, const double *c, double *d, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  OPS
}"""


def test_rounding_mode_intrinsics_run_through_the_pipeline():
    ops, plan, rows = [], [], {"f": 0, "d": 0}
    singles = [("fadd", "add", 2), ("fsub", "sub", 2), ("fmul", "mul", 2), ("fdiv", "div", 2), ("frcp", "rcp", 1),
               ("fsqrt", "sqrt", 1), ("fmaf", "fma", 3)]
    doubles = [("dadd", "add", 2), ("dsub", "sub", 2), ("dmul", "mul", 2), ("ddiv", "div", 2), ("drcp", "rcp", 1),
               ("dsqrt", "sqrt", 1), ("fma", "fma", 3)]
    for kind, table, out, names in (("f", singles, "o", "xyz"), ("d", doubles, "d", "abc")):
        for cuda, ptx in [("rn", "rn"), ("rz", "rz"), ("rd", "rm"), ("ru", "rp")]:
            for name, op, n in table:
                args = ", ".join(names[k] + "[i]" for k in range(n))
                ops.append(f"{out}[{rows[kind]} * n + i] = __{name}_{cuda}({args});")
                plan.append((kind, op, ptx, rows[kind], n))
                rows[kind] += 1
    fidx, idx = rows["f"], rows["d"]
    src = RMODE_KERNEL.replace("OPS", "\n  ".join(ops))
    n = 256
    with np.errstate(all="ignore"):
        fx = [np.abs(_values(np.float32, 64))[:n] for _ in range(3)]
        dx = [np.abs(_values(np.float64, 64))[:n] for _ in range(3)]
    fx = [np.resize(v, n) for v in fx]
    dx = [np.resize(RNG.permutation(v), n) for v in dx]
    fx[1] = RNG.permutation(fx[1])
    o, d = vgpu.zeros(fidx * n, np.float32), vgpu.zeros(idx * n, np.float64)
    mod = vgpu.compile(src, filename="rmodes.vk")
    mod.get_function("k")(*(vgpu.to_device(v) for v in fx), o, *(vgpu.to_device(v) for v in dx), d, n,
                          grid=2, block=128)
    o, d = o.copy_to_host().reshape(-1, n), d.copy_to_host().reshape(-1, n)
    for kind, op, ptx, row, nargs in plan:
        t = scalar("f32" if kind == "f" else "f64")
        args = (fx if kind == "f" else dx)[:nargs]
        with np.errstate(all="ignore"):
            want = arith.evaluate(op, t, args, mode=ptx)
        got = (o if kind == "f" else d)[row]
        u = np.uint32 if kind == "f" else np.uint64
        assert np.array_equal(got.view(u), want.view(u)), (kind, op, ptx)
    text = disassemble(compile_source(src, "rmodes.vk"))
    for mnemonic in ("add.rm.f32", "mul.rp.f32", "div.rz.f32", "sqrt.rm.f32", "rcp.rp.f32", "fma.rz.f32",
                     "add.rm.f64", "div.rp.f64", "sqrt.rz.f64", "fma.rm.f64"):
        assert mnemonic in text, mnemonic


# -- the functions with exact results, against numpy and Python's math ---------------------------------
EXACT = """
__global__ void k(const T *x, const T *y, const int *n, T *o, int *e, long long *l, int m) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= m) return;
  int ex; T ip;
  o[0 * m + i] = frexp(x[i], &ex); e[0 * m + i] = ex;
  o[1 * m + i] = ldexp(x[i], n[i]);
  o[2 * m + i] = scalbn(x[i], n[i]);
  e[1 * m + i] = ilogb(x[i]);
  o[3 * m + i] = logb(x[i]);
  o[4 * m + i] = modf(x[i], &ip); o[5 * m + i] = ip;
  o[6 * m + i] = rint(x[i]);
  o[7 * m + i] = nearbyint(x[i]);
  o[8 * m + i] = copysign(x[i], y[i]);
  o[9 * m + i] = fdim(x[i], y[i]);
  e[2 * m + i] = signbit(x[i]);
  l[0 * m + i] = lrint(x[i]);
  l[1 * m + i] = llrint(x[i]);
  l[2 * m + i] = lround(x[i]);
  l[3 * m + i] = llround(x[i]);
}"""


def _saturate(v, dt):
    """PTX's conversion to s64 of an integral value: saturating, NaN the sign bit alone."""
    with np.errstate(invalid="ignore"):
        r = np.where(np.isnan(v), -2 ** 63, np.clip(np.nan_to_num(v), -2.0 ** 63, 2.0 ** 63 - 1))
    return np.array([-2 ** 63 if np.isnan(a) else 2 ** 63 - 1 if a >= 2.0 ** 63 else int(b)
                     for a, b in zip(v, r)], np.int64)


@pytest.mark.parametrize("t", ["float", "double"])
def test_exact_functions_against_numpy(t):
    dt = np.float32 if t == "float" else np.float64
    with np.errstate(all="ignore"):
        x = np.concatenate([_values(dt, 300), (np.round(RNG.uniform(-50, 50, 100)) / 2).astype(dt)])
    y = RNG.permutation(x)
    n = RNG.integers(-300, 300, x.size).astype(np.int32)
    n[:8] = [2 ** 31 - 1, -2 ** 31, 0, 1, -1, 1100, -1100, 200]
    m = x.size
    o, e, ll = vgpu.zeros(10 * m, dt), vgpu.zeros(3 * m, np.int32), vgpu.zeros(4 * m, np.int64)
    vgpu.compile(EXACT.replace("T", t), filename="exact.vk").get_function("k")(
        vgpu.to_device(x), vgpu.to_device(y), vgpu.to_device(n), o, e, ll, m, grid=(m + 127) // 128, block=128)
    o, e, ll = o.copy_to_host().reshape(10, m), e.copy_to_host().reshape(3, m), ll.copy_to_host().reshape(4, m)
    u = np.uint32 if dt == np.float32 else np.uint64

    def same(a, b):
        return np.array_equal(a.view(u), b.view(u)) or np.array_equal(np.isnan(a), np.isnan(b)) and \
            np.array_equal(a[~np.isnan(a)].view(u), b[~np.isnan(b)].view(u))

    with np.errstate(all="ignore"):
        mant, ex = np.frexp(x)
        fin = np.isfinite(x)
        assert same(o[0], mant) and np.array_equal(e[0][fin], ex[fin])
        ld = np.ldexp(x, np.clip(n, -2000, 2000))
        assert same(o[1], ld) and same(o[2], ld)
        finz = fin & (x != 0)
        assert np.array_equal(e[1][finz], (ex - 1)[finz])                         # ilogb
        assert same(o[3][finz], (ex - 1)[finz].astype(dt))                        # logb
        assert np.array_equal(e[1][~fin | (x == 0)],                             # CUDA: INT_MIN, INT_MAX
                              np.where(np.isinf(x), 2 ** 31 - 1, -2 ** 31)[~fin | (x == 0)])
        frac, whole = np.modf(x)
        assert same(o[4], frac) and same(o[5], whole)
        assert same(o[6], np.rint(x)) and same(o[7], np.rint(x))
        assert same(o[8], np.copysign(x, y))
        fd = np.where(np.isnan(x) | np.isnan(y), np.nan, np.where(x > y, x - y, 0.0)).astype(dt)
        assert same(o[9], fd)
        assert np.array_equal(e[2], np.signbit(x).astype(np.int32))
        assert np.array_equal(ll[0], _saturate(np.rint(x), dt)) and np.array_equal(ll[1], ll[0])
        half_away = np.where(np.abs(x - np.trunc(x)) >= 0.5, np.trunc(x) + np.sign(x), np.trunc(x))
        big = ~(np.abs(x) < 2.0 ** 63)                  # out of range and NaN: libdevice's own answers
        assert np.array_equal(ll[2][~big], _saturate(half_away, dt)[~big]) and np.array_equal(ll[3], ll[2])


def test_overloads_and_result_types():
    """The float overload for float arguments (erf(float) was __nv_erf on a float), float * for the
    pointer; long for lrint/lround, bool for signbit (libstdc++'s std::signbit), int for ilogb."""
    src = """__global__ void k(float *o, double *d, int *s) {
      float f = o[0]; int e; float fi;
      o[1] = erf(f); o[2] = frexp(f, &e); o[3] = modf(f, &fi); o[4] = fi; o[5] = normcdf(f);
      d[0] = modf((double)f, &d[1]); d[2] = frexp(f, &e) ;
      s[0] = sizeof(signbit(f)); s[1] = sizeof(lrint(f)); s[2] = sizeof(lrintf(f)); s[3] = sizeof(ilogb(1.0));
      s[4] = sizeof(rint(f)); s[5] = sizeof(llround(2.0)); s[6] = sizeof(erf(f)); s[7] = sizeof(jn(2, f)); }"""
    o, d, s = vgpu.to_device(np.array([2.75, 0, 0, 0, 0, 0], np.float32)), vgpu.zeros(3, np.float64), vgpu.zeros(8, np.int32)
    vgpu.compile(src, filename="ov.vk").get_function("k")(o, d, s, grid=1, block=1)
    o, d = o.copy_to_host(), d.copy_to_host()
    assert o[1] == np.float32(math.erf(2.75)) and o[2] == 0.6875 and (o[3], o[4]) == (0.75, 2.0)
    assert list(d) == [0.75, 2.0, 0.6875]
    assert list(s.copy_to_host()) == [1, 8, 8, 4, 4, 8, 4, 4]


def test_halving_adds_and_cache_hints():
    src = """__global__ void k(const int *a, const unsigned *b, int *o, unsigned *u, float *f, int n) {
      int i = threadIdx.x; if (i >= n) return;
      o[4 * i] = __hadd(a[i], a[n - 1 - i]); o[4 * i + 1] = __rhadd(a[i], a[n - 1 - i]);
      u[2 * i] = __uhadd(b[i], b[n - 1 - i]); u[2 * i + 1] = __urhadd(b[i], b[n - 1 - i]);
      o[4 * i + 2] = __ldcs(a + i) + __ldcg(a + i) - __ldca(a + i) - __ldlu(a + i) + __ldcv(a + i);
      __stcs(o + 4 * i + 3, a[i]); __stwb(f + 4 * i, 1.5f); __stwt(f + 4 * i + 1, __ldcs(f + 4 * i));
      __stcg(f + 4 * i + 2, fdividef(1.0f, 3.0f)); __nanosleep(1000); }"""
    a = RNG.integers(-2 ** 31, 2 ** 31, 64).astype(np.int32)
    a[:4] = [2 ** 31 - 1, 2 ** 31 - 1, -2 ** 31, -2 ** 31]
    b = RNG.integers(0, 2 ** 32, 64).astype(np.uint32)
    b[:2] = [2 ** 32 - 1, 2 ** 32 - 1]
    o, u, f = vgpu.zeros(4 * 64, np.int32), vgpu.zeros(2 * 64, np.uint32), vgpu.zeros(4 * 64, np.float32)
    vgpu.compile(src, filename="hadd.vk").get_function("k")(vgpu.to_device(a), vgpu.to_device(b), o, u, f, 64,
                                                            grid=1, block=64)
    o, u, f = o.copy_to_host().reshape(64, 4), u.copy_to_host().reshape(64, 2), f.copy_to_host().reshape(64, 4)
    s = a.astype(object) + a[::-1].astype(object)
    us = b.astype(object) + b[::-1].astype(object)
    assert list(o[:, 0]) == [v >> 1 for v in s] and list(o[:, 1]) == [(v + 1) >> 1 for v in s]
    assert list(u[:, 0]) == [v >> 1 for v in us] and list(u[:, 1]) == [(v + 1) >> 1 for v in us]
    assert np.array_equal(o[:, 2], a) and np.array_equal(o[:, 3], a)
    assert (f[:, 0] == 1.5).all() and (f[:, 1] == 1.5).all() and (f[:, 2] == np.float32(1) / np.float32(3)).all()


# -- what nvcc compiles them to ------------------------------------------------------------------------
PTX_CASES = [("rintf(x)", "cvt.rni.f32.f32"), ("nearbyintf(x)", "cvt.rni.f32.f32"), ("rint(d)", "cvt.rni.f64.f64"),
             ("(float)lrintf(x)", "cvt.rni.s64.f32"), ("(float)llrint(d)", "cvt.rni.s64.f64"),
             ("__fadd_rd(x, y)", "add.rm.f32"), ("__fsub_ru(x, y)", "sub.rp.f32"), ("__fmul_rz(x, y)", "mul.rz.f32"),
             ("__fdiv_ru(x, y)", "div.rp.f32"), ("__frcp_rd(x)", "rcp.rm.f32"), ("__fsqrt_rz(x)", "sqrt.rz.f32"),
             ("__fmaf_ru(x, y, x)", "fma.rp.f32"), ("(float)__dadd_rd(d, d)", "add.rm.f64"),
             ("(float)__dmul_ru(d, d)", "mul.rp.f64"), ("(float)__ddiv_rz(d, d)", "div.rz.f64"),
             ("(float)__dsqrt_ru(d)", "sqrt.rp.f64"), ("(float)__fma_rd(d, d, d)", "fma.rm.f64"),
             ("(float)__drcp_rz(d)", "rcp.rz.f64"), ("__int2float_rd(n)", "cvt.rm.f32.s32"),
             ("__uint2float_ru(n)", "cvt.rp.f32.u32"), ("__ll2float_rz(n)", "cvt.rz.f32.s64"),
             ("__double2float_ru(d)", "cvt.rp.f32.f64"), ("(float)__float2ll_rd(x)", "cvt.rmi.s64.f32"),
             ("(float)__double2uint_ru(d)", "cvt.rpi.u32.f64"), ("(float)__ll2double_rd(n)", "cvt.rm.f64.s64"),
             ("fdividef(x, y)", "div.rn.f32")]


@pytest.mark.parametrize("expr, mnemonic", PTX_CASES)
def test_calls_compile_to_the_instruction_nvcc_gives(expr, mnemonic, tmp_path):
    """vgpu's listing has the instruction nvcc's PTX has for the call (checked against nvcc when installed)."""
    src = f"__global__ void k(float *o, float x, float y, double d, int n) {{ o[0] = {expr}; }}"
    assert f"{mnemonic} " in disassemble(compile_source(src, "ptx.vk"))
    nvcc = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if Path("/usr/local/cuda/bin/nvcc").exists() else None)
    if nvcc is None:
        return
    cu = tmp_path / "k.cu"
    cu.write_text(src)
    ptx = subprocess.run([nvcc, "-arch=sm_90", "-ptx", str(cu), "-o", "-"], capture_output=True, text=True)
    cu.unlink()
    assert ptx.returncode == 0, ptx.stderr
    assert f"{mnemonic} " in ptx.stdout, ptx.stdout[-2000:]


def test_norm_of_an_array_is_libdevices_code():
    """normf(dim, a), rnormf, norm, rnorm read the array through the pointer: bit for bit libdevice's code
    run on the CPU (tools/libdevice_check.py's JIT)."""
    if not (shutil.which("llvm-dis") and Path("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc").exists()):
        pytest.skip("llvm-dis or CUDA's libdevice.10.bc is not installed here")
    pytest.importorskip("llvmlite")
    import ctypes
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
    import libdevice_check
    engine = libdevice_check._engine(["normf", "rnormf", "norm", "rnorm"])
    for t, ct, dt in (("float", ctypes.c_float, np.float32), ("double", ctypes.c_double, np.float64)):
        with np.errstate(all="ignore"):
            a = np.concatenate([_values(dt, 200), RNG.standard_normal(200)]).astype(dt)
        dims = RNG.integers(1, 9, 256).astype(np.int32)
        starts = RNG.integers(0, a.size - 9, 256).astype(np.int32)
        sfx = "f" if t == "float" else ""
        src = f"""__global__ void k(const {t} *a, const int *dim, const int *at, {t} *o) {{
          int i = threadIdx.x + blockIdx.x * blockDim.x;
          o[2 * i] = norm{sfx}(dim[i], a + at[i]); o[2 * i + 1] = rnorm{sfx}(dim[i], a + at[i]); }}"""
        o = vgpu.zeros(2 * 256, dt)
        vgpu.compile(src, filename="norm.vk").get_function("k")(vgpu.to_device(a), vgpu.to_device(dims),
                                                                vgpu.to_device(starts), o, grid=2, block=128)
        o = o.copy_to_host().reshape(-1, 2)
        for k, name in enumerate((f"norm{sfx}", f"rnorm{sfx}")):
            fn = ctypes.CFUNCTYPE(ct, ctypes.c_int32, ctypes.POINTER(ct))(engine.get_function_address("__nv_" + name))
            want = np.array([fn(int(d), a[s:].ctypes.data_as(ctypes.POINTER(ct))) for d, s in zip(dims, starts)], dt)
            u = np.uint32 if dt == np.float32 else np.uint64
            same = (o[:, k].view(u) == want.view(u)) | (np.isnan(o[:, k]) & np.isnan(want))
            assert same.all(), (name, o[:, k][~same][:3], want[~same][:3])


# -- SIMD video intrinsics and dot products -------------------------------------------------------------
# NVIDIA's own examples (crt/device_functions.h's documentation)
DOC_EXAMPLES = [("vcmpeq2", 0xffff0000), ("vcmpges2", 0xffff0000), ("vcmpgeu2", 0xffff0000), ("vcmpgts2", 0),
                ("vcmpgtu2", 0), ("vcmples2", 0xffffffff), ("vcmpleu2", 0xffffffff), ("vcmplts2", 0x0000ffff),
                ("vcmpltu2", 0x0000ffff), ("vcmpeq4", 0xffffff00), ("vcmpges4", 0xffffff00),
                ("vcmpgeu4", 0xffffff00), ("vcmpgts4", 0), ("vcmpgtu4", 0), ("vcmples4", 0xffffffff),
                ("vcmpleu4", 0xffffffff), ("vcmplts4", 0x000000ff), ("vcmpltu4", 0x000000ff)]


def _lanes(v, bits, signed):
    m = (1 << bits) - 1
    out = [(v >> k) & m for k in range(0, 32, bits)]
    return [x - (m + 1) if signed and x > m >> 1 else x for x in out]


def _pack(vals, bits):
    m = (1 << bits) - 1
    return sum((v & m) << (bits * i) for i, v in enumerate(vals))


def simd_model(name, a, b):
    """CUDA's SIMD intrinsic `name` (without the underscores) on 32-bit words a and b, from its documentation;
    the signed rounded average (vavgs) rounds half away from zero, as the PTX nvcc emits for it."""
    n = int(name[-1])
    bits = 32 // n
    stem = name[1:-1]
    lo, hi, uhi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1, (1 << bits) - 1
    signed = stem in ("addss", "subss", "avgs", "absdiffs", "maxs", "mins", "sads", "abs", "absss", "neg", "negss") \
        or stem.startswith(("cmp", "set")) and stem.endswith("s")
    x, y = _lanes(a, bits, signed), _lanes(b, bits, signed)
    if stem in ("sads", "sadu"):
        return sum(abs(p - q) for p, q in zip(x, y))
    cmp = {"eq": lambda p, q: p == q, "ne": lambda p, q: p != q, "ge": lambda p, q: p >= q,
           "gt": lambda p, q: p > q, "le": lambda p, q: p <= q, "lt": lambda p, q: p < q}
    if stem.startswith(("cmp", "set")):
        f = cmp[stem[3:5]]
        return _pack([(uhi if stem.startswith("cmp") else 1) if f(p, q) else 0 for p, q in zip(x, y)], bits)
    sat = lambda v, a_, b_: max(a_, min(b_, v))            # noqa: E731
    f = {"add": lambda p, q: p + q, "addss": lambda p, q: sat(p + q, lo, hi), "addus": lambda p, q: sat(p + q, 0, uhi),
         "sub": lambda p, q: p - q, "subss": lambda p, q: sat(p - q, lo, hi), "subus": lambda p, q: sat(p - q, 0, uhi),
         "avgs": lambda p, q: int(math.copysign(math.floor(abs(p + q) / 2 + 0.5), p + q)),
         "avgu": lambda p, q: (p + q + 1) // 2, "haddu": lambda p, q: (p + q) // 2,
         "absdiffs": lambda p, q: abs(p - q), "absdiffu": lambda p, q: abs(p - q),
         "maxs": max, "maxu": max, "mins": min, "minu": min,
         "abs": lambda p, q: abs(p), "absss": lambda p, q: min(abs(p), hi), "neg": lambda p, q: -p,
         "negss": lambda p, q: sat(-p, lo, hi)}[stem]
    return _pack([f(p, q) for p, q in zip(x, y)], bits)


SIMD = [f"v{s}{n}" for n in (2, 4) for s in (
    "add", "addss", "addus", "sub", "subss", "subus", "avgs", "avgu", "haddu", "absdiffs", "absdiffu", "maxs",
    "maxu", "mins", "minu", "abs", "absss", "neg", "negss", "sads", "sadu",
    *[p + c for p in ("cmp", "set") for c in ("eq", "ne", "ges", "gts", "les", "lts", "geu", "gtu", "leu", "ltu")])]
UNARY_SIMD = {"abs", "absss", "neg", "negss"}


def test_simd_intrinsics_against_their_documentation():
    calls = "\n".join(f"  o[{k} * n + i] = __{name}(a[i]{'' if name[1:-1] in UNARY_SIMD else ', b[i]'});"
                      for k, name in enumerate(SIMD))
    src = f"__global__ void k(const unsigned *a, const unsigned *b, unsigned *o, int n) {{\n" \
          f"  int i = blockIdx.x * blockDim.x + threadIdx.x; if (i >= n) return;\n{calls}\n}}"
    edge = [0, 0xFFFFFFFF, 0x80008000, 0x7FFF7FFF, 0x80808080, 0x7F7F7F7F, 0x00010001, 0x01010101, 0xFFFEFFFE]
    a = np.array(edge * 9 + list(RNG.integers(0, 2 ** 32, 175)), np.uint32)
    b = np.array([e for e in edge for _ in edge] + list(RNG.integers(0, 2 ** 32, 175)), np.uint32)
    a[0], b[0] = 0x1234aba5, 0x1234aba6
    n = a.size
    o = vgpu.zeros(len(SIMD) * n, np.uint32)
    vgpu.compile(src, filename="simd.vk").get_function("k")(vgpu.to_device(a), vgpu.to_device(b), o, n,
                                                            grid=(n + 127) // 128, block=128)
    o = o.copy_to_host().reshape(len(SIMD), n)
    for name, want in DOC_EXAMPLES:
        assert o[SIMD.index(name), 0] == want, name
    for k, name in enumerate(SIMD):
        want = [simd_model(name, int(x), int(y)) & 0xFFFFFFFF for x, y in zip(a, b)]
        assert list(o[k]) == want, name


def test_dot_product_intrinsics():
    src = """__global__ void k(const int *a, const int *b, const int *c, int *o, unsigned *u, int n) {
      int i = threadIdx.x + blockIdx.x * blockDim.x; if (i >= n) return;
      unsigned ua = (unsigned)a[i], ub = (unsigned)b[i], uc = (unsigned)c[i];
      o[3 * i] = __dp4a(a[i], b[i], c[i]); o[3 * i + 1] = __dp2a_lo(a[i], b[i], c[i]);
      o[3 * i + 2] = __dp2a_hi(a[i], b[i], c[i]);
      u[3 * i] = __dp4a(ua, ub, uc); u[3 * i + 1] = __dp2a_lo(ua, ub, uc); u[3 * i + 2] = __dp2a_hi(ua, ub, uc); }"""
    a, b, c = (RNG.integers(-2 ** 31, 2 ** 31, 256).astype(np.int32) for _ in range(3))
    a[:4], b[:4] = [-1, 0x7FFFFFFF, -2 ** 31, 0x7F7F7F7F], [-1, -2 ** 31, 0x7FFFFFFF, -0x7F7F7F80]
    o, u = vgpu.zeros(3 * 256, np.int32), vgpu.zeros(3 * 256, np.uint32)
    vgpu.compile(src, filename="dp.vk").get_function("k")(*(vgpu.to_device(v) for v in (a, b, c)), o, u, 256,
                                                          grid=2, block=128)
    o, u = o.copy_to_host().reshape(-1, 3), u.copy_to_host().reshape(-1, 3)
    wrap = lambda v, signed: (v + 2 ** 31) % 2 ** 32 - 2 ** 31 if signed else v % 2 ** 32   # noqa: E731
    for i in range(256):
        for signed, out in ((True, o), (False, u)):
            x, y, z = (int(v) % 2 ** 32 for v in (a[i], b[i], c[i]))
            bx, by = _lanes(x, 8, signed), _lanes(y, 8, signed)
            hx = _lanes(x, 16, signed)
            z = z - 2 ** 32 if signed and z >= 2 ** 31 else z
            want = [z + sum(p * q for p, q in zip(bx, by)), z + hx[0] * by[0] + hx[1] * by[1],
                    z + hx[0] * by[2] + hx[1] * by[3]]
            assert [int(v) for v in out[i]] == [wrap(w, signed) for w in want], (i, signed)


def _fns_model(mask, base, offset):
    """fns.b32 as the PTX ISA's pseudo-code defines it."""
    if offset == 0:
        return base if mask >> base & 1 else 0xFFFFFFFF
    pos, count, inc = base, abs(offset) - 1, 1 if offset > 0 else -1
    while 0 <= pos < 32:
        if mask >> pos & 1:
            if count == 0:
                return pos
            count -= 1
        pos += inc
    return 0xFFFFFFFF


def test_fns_and_address_space_predicates():
    from vgpu.sim import memory
    src = """__constant__ int cst[4];
    __global__ void k(const unsigned *m, const unsigned *b, const int *off, unsigned *o, unsigned *s, int *g, int n) {
      __shared__ int sh[4]; int loc[4];
      int i = threadIdx.x + blockIdx.x * blockDim.x; if (i >= n) return;
      o[i] = __fns(m[i], b[i], off[i]);
      loc[i & 3] = i; sh[i & 3] = loc[(i + 1) & 3];
      const void *p[4] = {g, sh, loc, cst};
      for (int k = 0; k < 4; k++)
        s[16 * i + 4 * k] = __isGlobal(p[k]), s[16 * i + 4 * k + 1] = __isShared(p[k]),
        s[16 * i + 4 * k + 2] = __isLocal(p[k]), s[16 * i + 4 * k + 3] = __isConstant(p[k]); }"""
    n = 256
    m = RNG.integers(0, 2 ** 32, n).astype(np.uint32)
    m[:4] = 0xaaaaaaaa
    b = RNG.integers(0, 32, n).astype(np.uint32)
    off = RNG.integers(-40, 40, n).astype(np.int32)
    b[:4], off[:4] = [3, 3, 2, 2], [1, -1, 1, -1]
    off[4:6] = [2 ** 31 - 1, -2 ** 31]
    o, s = vgpu.zeros(n, np.uint32), vgpu.zeros(16 * n, np.uint32)
    vgpu.compile(src, filename="fns.vk").get_function("k")(vgpu.to_device(m), vgpu.to_device(b), vgpu.to_device(off),
                                                           o, s, vgpu.zeros(4, np.int32), n, grid=2, block=128)
    o = o.copy_to_host()
    assert list(o[:4]) == [3, 3, 3, 1]                    # the PTX ISA's examples
    assert list(o) == [_fns_model(int(x), int(y), int(z)) for x, y, z in zip(m, b, off)]
    assert (s.copy_to_host().reshape(n, 4, 4) == np.eye(4, dtype=np.uint32)).all()
    # the header's windows are the simulator's address map
    assert (memory.SHARED_BASE, memory.LOCAL_BASE, memory.CONST_BASE, memory.WINDOW, memory.GLOBAL_BASE) == \
        (0x01000000, 0x02000000, 0x03000000, 0x01000000, 0x100000000)


def test_frsqrt_rn_is_correctly_rounded():
    """__frsqrt_rn (libdevice's refinement of rsqrt.approx) is 1/sqrt(x) rounded to nearest, exactly."""
    with np.errstate(all="ignore"):
        x = np.abs(_values(np.float32, 400))
    o = vgpu.zeros(x.size, np.float32)
    src = "__global__ void k(const float *x, float *o, int n) { int i = threadIdx.x + blockIdx.x * blockDim.x;" \
          " if (i < n) o[i] = __frsqrt_rn(x[i]); }"
    vgpu.compile(src, filename="rsqrt.vk").get_function("k")(vgpu.to_device(x), o, x.size,
                                                             grid=(x.size + 127) // 128, block=128)
    for v, g in zip(x, o.copy_to_host()):
        v = float(v)
        if v == 0 or not math.isfinite(v):
            assert g == math.inf if v == 0 else g == 0.0 if v == math.inf else math.isnan(g), v
            continue
        assert float(g) == round_float(1 / _sqrt_exact(Fraction(v)), "f32", "rn"), v


def test_integer_hadd_beside_the_half_one():
    """With <cuda_fp16.h>, __hadd(int, int) is still the integer halving add (CUDA overloads the name)."""
    src = """#include <cuda_fp16.h>
    __global__ void k(int *o, __half *h) { o[0] = __hadd(o[1], o[2]); o[3] = __hadd(-7, 2); h[0] = __hadd(h[1], h[2]); }"""
    o, h = vgpu.to_device(np.array([0, 5, 8, 0], np.int32)), vgpu.to_device(np.array([0, 1.5, 2.25], np.float16))
    vgpu.compile(src, filename="hadd16.vk").get_function("k")(o, h, grid=1, block=1)
    assert list(o.copy_to_host()) == [6, 5, 8, -3] and h.copy_to_host()[0] == 3.75
