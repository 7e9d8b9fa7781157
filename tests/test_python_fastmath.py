"""cuda.jit(fastmath=True) as numba-cuda + NVVM compile it (vgpu/frontend/python/fastmath.py): float32
operations flush subnormals (.ftz), float32 division is div.approx, exp/log/pow/tan their fast
versions; float64 is unchanged; without fastmath nothing changes."""
import math

import numpy as np

from vgpu import cuda

TINY = np.float32(1e-39)          # subnormal in float32


def k_ops(a, b, o, d):
    i = cuda.grid(1)
    if i < a.size:
        o[i, 0] = a[i] / b[i]
        o[i, 1] = math.sqrt(a[i])
        o[i, 2] = a[i] * b[i]
        o[i, 3] = a[i] + b[i]
        o[i, 4] = 1.0 if a[i] > 0 else 0.0
        o[i, 5] = math.exp(a[i])
        o[i, 6] = math.log(a[i])
        o[i, 7] = math.pow(a[i], b[i])
        d[i, 0] = a[i]                  # float32 -> float64: cvt.ftz flushes the input
        d[i, 1] = d[i, 0] / 3.0         # float64 division stays IEEE


FAST = cuda.jit(fastmath=True)(k_ops)
SLOW = cuda.jit(k_ops)


def _run(k, a, b):
    o, d = np.zeros((a.size, 8), np.float32), np.zeros((a.size, 2))
    k[1, 32](a, b, o, d)
    return o, d


def test_float32_subnormals_flush_with_fastmath_only():
    a = np.array([TINY, -TINY, 2.0], np.float32)
    b = np.array([1.0, 1.0, TINY], np.float32)
    fo, fd = _run(FAST, a, b)
    so, sd = _run(SLOW, a, b)
    assert so[0, 0] == TINY and so[0, 2] == TINY and so[0, 4] == 1.0 and sd[0, 0] == float(TINY)
    assert fo[0, 0] == 0.0 and fo[0, 2] == 0.0 and fo[0, 3] == 1.0 and fo[0, 4] == 0.0 and fd[0, 0] == 0.0
    assert np.signbit(fo[1, 0]) and fo[1, 0] == 0.0 and np.signbit(fd[1, 0])       # -0.0: the sign is kept
    assert fo[2, 0] == np.inf and so[2, 0] == np.inf                               # 2 / (flushed 0); overflow
    assert fo[0, 6] == -np.inf and so[0, 6] == np.float32(math.log(float(TINY)))


def test_fast_division_and_functions():
    a = np.array([0.25, 3.0, 7.0], np.float32)
    b = np.array([np.float32(3e38), 3.0, 0.1], np.float32)
    fo, fd = _run(FAST, a, b)
    so, _ = _run(SLOW, a, b)
    assert fo[0, 0] == 0.0 and so[0, 0] > 0          # div.approx: 0 for 2^126 < |y| < 2^128
    assert fo[1, 0] == np.float32(3.0) * (np.float32(1.0) / np.float32(3.0))   # x * (1/y), two roundings
    f32 = np.float32
    assert fo[1, 5] == f32(np.exp2(np.float64(f32(f32(3.0) * f32(1.4426950216293335)))))   # ex2(x * log2 e)
    assert fo[1, 5] != so[1, 5]                      # e^3: the fast version is an ulp off here
    assert fo[2, 6] == f32(f32(np.log2(np.float64(f32(7.0)))) * f32(0.6931471824645996))    # lg2(x) * ln 2
    assert fo[2, 7] == f32(np.exp2(np.float64(f32(f32(0.1) * f32(np.log2(7.0))))))          # ex2(y lg2 x)
    assert fd[1, 1] == 3.0 / 3.0 and fd[2, 1] == 7.0 / 3.0                     # float64: unchanged


def test_fastmath_signature_and_cache():
    k = cuda.jit("void(float32[::1], float32[::1], float32[:, ::1], float64[:, ::1])", fastmath=True)(k_ops)
    text = next(iter(k.inspect_asm().values()))
    divs = [ln.split()[0:1] + ln.split()[1:3] for ln in text.splitlines() if ln.strip().startswith("div.")]
    assert ["div.rn.f64"] == [d[0] for d in divs if d[0].endswith("f64")]
    assert all(d[2] == "0f3F800000," for d in divs if d[0] == "div.rn.f32")      # only 1/y of the x * (1/y)
    plain = cuda.jit("void(float32[::1], float32[::1], float32[:, ::1], float64[:, ::1])")(k_ops)
    # without fastmath a / b is one IEEE division (libdevice's rcp.approx inside powf is a 1/x of its own)
    assert any(ln.split()[2] != "0f3F800000," for ln in next(iter(plain.inspect_asm().values())).splitlines()
               if ln.strip().startswith("div.rn.f32"))


# PTX floating-point opcodes of tests/nvvm/fastmath_ops.py's probe (numba-cuda 0.30.4, libNVVM 13.0), and
# what vgpu does for each (vgpu/frontend/python/fastmath.py and the fast math functions in calls.py)
RECORDED_OPS = {
    "cvt.ftz.f64.f32": "float32 input flushed", "cvt.rn.ftz.f32.f64": "float32 result flushed",
    "div.approx.ftz.f32": "x * (1/y) model, flushed", "div.rn.f64": "unchanged",
    "ex2.approx.ftz.f32": "exp2 (correctly rounded model) of x * log2 e, flushed", "fma.rn.ftz.f32": "flushed",
    "lg2.approx.ftz.f32": "log2 model, flushed", "mul.ftz.f32": "flushed", "selp.f32": "unchanged",
    "setp.lt.ftz.f32": "inputs flushed", "sin.approx.ftz.f32": "sin model, flushed",
    "sqrt.approx.ftz.f32": "sqrt, flushed", "sqrt.rn.f64": "unchanged"}


def _nvvm_ops():
    import glob
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = dict(os.environ)
    homes = sorted(glob.glob("/usr/local/cuda*/lib*/libnvvm.so*") + glob.glob("/usr/local/cuda*/nvvm/lib64/libnvvm.so*"))
    if "CUDA_HOME" not in env and homes:
        env["CUDA_HOME"] = str(Path(homes[-1]).parents[1 if "/nvvm/" not in homes[-1] else 2])
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    r = subprocess.run([sys.executable, str(Path(__file__).parent / "nvvm" / "fastmath_ops.py")], env=env,
                       capture_output=True, text=True, timeout=600)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    return json.loads(lines[-1]) if r.returncode == 0 and lines else None


def test_fastmath_opcodes_are_nvvms():
    ops = _nvvm_ops()
    if ops is None:
        import pytest
        pytest.skip("numba-cuda cannot reach libNVVM here: the recorded opcodes stand")
    assert sorted(RECORDED_OPS) == ops
