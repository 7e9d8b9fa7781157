"""float16 atomics and __half2: atomicAdd on __half (atom/red.add.noftz.f16) in lane order against a serial
numpy model, hot addresses included; __half2's fma lanes against exact rationals; both executors give the
same bytes; mistakes are diagnosed (.vk and Python, where numba-cuda has no float16 atomics or shuffles).
The functions and operators themselves are tested by tests/run/tier4_fp16_half2*.vk and tier4_fp16_atomic.vk."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu import cuda
from vgpu.isa import assemble
from vgpu.sim import compiled

sys.path.insert(0, str(Path(__file__).parent))
from test_fp16 import ref_round, round_fraction  # noqa: E402

RUN = Path(__file__).parent / "run"

VK_ATOMIC = r"""
#include <cuda_fp16.h>
__global__ void acc(__half *sums, const __half *x, __half *old, int bins)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    old[i] = atomicAdd(&sums[i % bins], x[i]);
}
"""


def _serial(sums, x, bins):
    """Each add rounded to float16 (ties to even), the lanes of a warp in order, warps in order."""
    s, old = sums.copy(), np.empty_like(x)
    for i in range(x.size):
        old[i] = s[i % bins]
        s[i % bins] = ref_round(s[i % bins].astype(np.float64) + x[i].astype(np.float64)).view(np.float16)
    return s, old


@pytest.mark.parametrize("bins", [1, 3, 64])
def test_atomic_add_half_rounds_each_sum_in_lane_order(bins):
    rng = np.random.default_rng(bins)
    x = (rng.standard_normal(32) * 3).astype(np.float16)              # one warp, so the order is the lanes'
    sums = (rng.standard_normal(bins) * 100).astype(np.float16)
    mod = vgpu.compile(VK_ATOMIC, "acc.vk")
    d, o = vgpu.to_device(sums), vgpu.zeros(32, np.float16)
    mod.get_function("acc")(d, vgpu.to_device(x), o, bins, grid=1, block=32)
    want_s, want_old = _serial(sums, x, bins)
    assert np.array_equal(d.copy_to_host().view(np.uint16), want_s.view(np.uint16))
    assert np.array_equal(o.copy_to_host().view(np.uint16), want_old.view(np.uint16))


def test_atomic_add_half_is_not_a_float_sum():
    """2048 + 1 rounds back to 2048 every time: the sum of 64 ones leaves 2048, not 2112."""
    mod = vgpu.compile(VK_ATOMIC, "acc.vk")
    d = vgpu.to_device(np.array([2048], np.float16))
    mod.get_function("acc")(d, vgpu.to_device(np.ones(64, np.float16)), vgpu.zeros(64, np.float16), 1,
                            grid=2, block=32)
    assert d.copy_to_host()[0] == 2048


@pytest.mark.parametrize("executor", ["interp", "compiled"])
def test_atomic_add_half_same_on_both_executors(executor):
    x = np.arange(256).astype(np.float16) % 8                          # exact sums: any order gives them
    dev = vgpu.Device(executor=executor, workers=0)
    mod = vgpu.compile(VK_ATOMIC, "acc.vk")
    d = vgpu.zeros(4, np.float16, device=dev)
    mod.get_function("acc")(d, vgpu.to_device(x, device=dev), vgpu.zeros(256, np.float16, device=dev), 4,
                            grid=8, block=32, device=dev)
    assert d.copy_to_host().tolist() == [x[k::4].astype(np.float64).sum() for k in range(4)]
    ok, why = compiled.supports(mod.program, "acc")
    assert not ok and "float atomics" in why                           # handed to the interpreter


def test_atom_f16_needs_noftz_in_the_assembly():
    src = (".version 1.0\n.target vgpu\n.visible .entry k(.param .u64 p)\n{\n.reg .b16 %rs<3>;\n"
           ".reg .b64 %rd<2>;\nld.param.u64 %rd1, [p];\nINS\nret;\n}\n")
    assemble(src.replace("INS", "atom.global.add.noftz.f16 %rs2, [%rd1], %rs1;"), "ok.vasm")
    with pytest.raises(vgpu.CompileError, match="needs one of .noftz"):
        assemble(src.replace("INS", "atom.global.add.f16 %rs2, [%rd1], %rs1;"), "bad.vasm")
    with pytest.raises(vgpu.CompileError, match="not allowed with .f32"):
        assemble(src.replace("INS", "red.global.add.noftz.f32 [%rd1], %rs1;"), "bad.vasm")


# -- __half2 -------------------------------------------------------------------------------------------------
VK_ATOMIC2 = r"""
#include <cuda_fp16.h>
__global__ void acc2(__half2 *sums, const __half2 *x, __half2 *old, int bins)
{
    int i = threadIdx.x;
    old[i] = atomicAdd(&sums[i % bins], x[i]);
}
"""


@pytest.mark.parametrize("bins", [1, 5])
def test_atomic_add_half2_rounds_each_lane_in_lane_order(bins):
    rng = np.random.default_rng(40 + bins)
    x = (rng.standard_normal((32, 2)) * 3).astype(np.float16)
    sums = (rng.standard_normal((bins, 2)) * 100).astype(np.float16)
    mod = vgpu.compile(VK_ATOMIC2, "acc2.vk")
    d, o = vgpu.to_device(sums.ravel()), vgpu.zeros(64, np.float16)
    mod.get_function("acc2")(d, vgpu.to_device(x.ravel()), o, bins, grid=1, block=32)
    for lane in range(2):                                              # each half of the pair on its own
        want_s, want_old = _serial(sums[:, lane].copy(), x[:, lane].copy(), bins)
        assert np.array_equal(d.copy_to_host().reshape(bins, 2)[:, lane].view(np.uint16), want_s.view(np.uint16))
        assert np.array_equal(o.copy_to_host().reshape(32, 2)[:, lane].view(np.uint16), want_old.view(np.uint16))


VK_FMA2 = r"""
#include <cuda_fp16.h>
__global__ void fma2(const __half2 *a, const __half2 *b, const __half2 *c, __half2 *d)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    d[i] = __hfma2(a[i], b[i], c[i]);
}
"""


def _fma2(executor, u):
    dev = vgpu.Device(executor=executor, workers=0)
    mod = vgpu.compile(VK_FMA2, "fma2.vk")
    d = vgpu.zeros(u[0].size, np.uint16, device=dev)
    mod.get_function("fma2")(*(vgpu.to_device(x, device=dev) for x in u), d, grid=u[0].size // 128, block=64,
                             device=dev)
    return d.copy_to_host()


def test_hfma2_lanes_round_once_on_both_executors():
    rng = np.random.default_rng(5)
    u = [rng.integers(0, 65536, 8192).astype(np.uint16) for _ in range(3)]
    got = _fma2("interp", u)
    assert np.array_equal(got, _fma2("compiled", u))
    a, b, c = (x.view(np.float16) for x in u)
    fin = np.flatnonzero(np.isfinite(a) & np.isfinite(b) & np.isfinite(c))
    for k in fin[::29]:                                                 # both lanes, against exact rationals
        fa, fb, fc = Fraction(float(a[k])), Fraction(float(b[k])), Fraction(float(c[k]))
        zn = fa * fb == 0 and fc == 0 and (np.signbit(a[k]) != np.signbit(b[k])) and np.signbit(c[k])
        assert int(got[k]) == round_fraction(fa * fb + fc, bool(zn)), k
    assert (got[np.isnan(a) | np.isnan(b) | np.isnan(c)] == 0x7FFF).all()


@pytest.mark.parametrize("name", ["tier4_fp16_half2", "tier4_fp16_half2_ops"])
def test_half2_run_files_same_bytes_on_both_executors(name):
    src = (RUN / f"{name}.vk").read_text()
    outs = []
    for executor in ("interp", "compiled"):
        dev = vgpu.Device(executor=executor, workers=0)
        mod = vgpu.compile(src, f"{name}.vk")
        assert compiled.supports(mod.program, "k") == (True, "")
        fn = mod.get_function("k")
        rng = np.random.default_rng(9)
        ins = [vgpu.to_device(rng.integers(0, 65536, 128).astype(np.uint16), device=dev) for _ in range(3)]
        h = vgpu.zeros(128 * 20, np.uint16, device=dev)
        r = vgpu.zeros(64 * 3, np.uint32, device=dev)
        if name.endswith("_ops"):
            fn(ins[0], ins[1], h, r, grid=1, block=64, device=dev)
            outs.append([h.copy_to_host(), r.copy_to_host()])
        else:
            f = vgpu.to_device(rng.standard_normal(128).astype(np.float32) * 1e4, device=dev)
            g = vgpu.zeros(256, np.float32, device=dev)
            fn(*ins, f, h, g, r, grid=1, block=64, device=dev)
            outs.append([h.copy_to_host(), g.copy_to_host(), r.copy_to_host()])
    assert all(np.array_equal(x.view(np.uint8), y.view(np.uint8)) for x, y in zip(*outs))


def test_half2_layout():
    mod = vgpu.compile("#include <cuda_fp16.h>\nstruct S { char c; half2 h; };\n"
                       "__global__ void k(int *r) { __half2 v[3]; S s; "
                       "r[0] = sizeof(__half2); r[1] = (int)((char *)&s.h - (char *)&s); "
                       "r[2] = (int)((char *)&v[1] - (char *)&v[0]); r[3] = sizeof(v); }", "lay.vk")
    r = vgpu.zeros(4, np.int32)
    mod.get_function("k")(r, grid=1, block=1)
    assert r.copy_to_host().tolist() == [4, 4, 4, 12]


@pytest.mark.parametrize("body, msg", [
    ("a[0] = a[0] + f;", r"invalid operands to binary expression \('__half2' and 'float'\)"),
    ("a[0] = a[0] % a[1];", "invalid operands"),
    ("a[1] = ~a[0];", "invalid argument type '__half2'"),
    ("a[0]++;", "'\\+\\+' on a __half2 as postfix"),
    ("++a[p[0]++];", "on a place with side effects"),
    ("a[p[0]++] += a[1];", "whose place has side effects"),
    ("a[0] += f;", "invalid operands"),
    ("const __half2 c = a[0]; c += a[1];", "const"),
    ("__half2 v = f;", "__half2"),
    ("float2 g = __half22float2(f);", "__half2"),
    ("atomicSub(a, a[1]);", "no matching function for call to 'atomicSub'"),
    ("a[0] = __shfl_sync(0xffffffffu, a[1]);", "too few arguments"),
])
def test_half2_mistakes_are_diagnosed(body, msg):
    src = "#include <cuda_fp16.h>\n__global__ void k(__half2 *a, float f, int *p) { " + body + " }\n"
    with pytest.raises(vgpu.CompileError, match=msg):
        vgpu.compile(src, "bad.vk")


def test_half2_needs_the_header():
    with pytest.raises(vgpu.CompileError, match="declared in <cuda_fp16.h>"):
        vgpu.compile("__global__ void k(__half2 *p) { }\n", "bad.vk")
    with pytest.raises(vgpu.CompileError, match="declared in <cuda_fp16.h>"):
        vgpu.compile("__global__ void k(int *p) { half2 v; }\n", "bad.vk")


# -- Python kernels: numba-cuda 0.30 types neither atomics nor shuffles on float16 ------------------------------
@cuda.jit
def py_atomic_half(a):
    cuda.atomic.add(a, 0, a[1])


@cuda.jit
def py_shfl_half(a):
    a[0] = cuda.shfl_sync(0xFFFFFFFF, a[1], 0)


def test_python_float16_atomics_and_shuffles_are_errors_as_in_numba_cuda():
    with pytest.raises(vgpu.CompileError, match=r"cuda.atomic.add\(\) does not support arrays of float16"):
        py_atomic_half[1, 32](np.zeros(4, np.float16))
    with pytest.raises(vgpu.CompileError, match="shfl_sync only supports 32- and 64-bit ints and floats"):
        py_shfl_half[1, 32](np.zeros(4, np.float16))
