"""Tier 4 of the language (templates, functional casts, cooperative groups on a block, __mul24): the
run tests of tests/run/tier4_*.vk compile with nvcc too, instantiations are kernels by their C++ name,
mistakes are diagnosed, and the real-kernel collection stays accepted."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vgpu
from vgpu.diagnostics import CompileError

HERE = Path(__file__).parent
TIER4 = sorted((HERE / "run").glob("tier4_*.vk"))
sys.path.insert(0, str(HERE.parent / "benchmarks"))
import realworld  # noqa: E402


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("path", TIER4, ids=lambda p: p.stem)
def test_tier4_run_files_compile_with_nvcc(path, tmp_path):
    src = tmp_path / "k.cu"
    src.write_text(path.read_text())
    r = subprocess.run(["nvcc", "-arch=sm_90", "-ptx", "-x", "cu", str(src), "-o", str(tmp_path / "k.ptx")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_instantiations_are_kernels_named_as_cpp_prints_them():
    mod = vgpu.compile("template <int N, bool B> __global__ void k(int *p) { p[threadIdx.x] = B ? N : -N; }\n"
                       "template __global__ void k<5, true>(int *);\n"
                       "template __global__ void k<7, false>(int *);\n")
    assert sorted(mod.kernel_names) == ["k<5, true>", "k<7, false>"]
    for name, want in (("k<5, true>", 5), ("k<7, false>", -7)):
        out = vgpu.to_device(np.zeros(4, np.int32))
        mod.get_function(name)(out, grid=1, block=4)
        assert (out.copy_to_host() == want).all()


def test_template_instances_round_trip_through_the_assembly():
    from vgpu.isa.disasm import disassemble
    mod = vgpu.compile("template <int N, bool B> __global__ void k(int *p) { p[threadIdx.x] = B ? N : -N; }\n"
                       "template __global__ void k<5, true>(int *);\n")
    text = disassemble(mod.program)
    assert ".entry k<5, true>(" in text
    again = vgpu.compile(text, filename="k.vasm")
    assert disassemble(again.program) == text
    out = vgpu.to_device(np.zeros(4, np.int32))
    again.get_function("k<5, true>")(out, grid=1, block=4)
    assert (out.copy_to_host() == 5).all()


def test_specialisation_replaces_the_primary_template():
    mod = vgpu.compile("template <typename T> __device__ int size_of(T x) { return 0; }\n"
                       "template <> __device__ int size_of<double>(double x) { return 8; }\n"
                       "__global__ void k(int *p) { p[0] = size_of(1.0) + 10 * size_of(1); }\n")
    out = vgpu.to_device(np.zeros(1, np.int32))
    mod.get_function("k")(out, grid=1, block=1)
    assert out.copy_to_host()[0] == 8


def test_reference_mistakes_are_diagnosed():
    cases = [("__device__ int &f(int *p) { return p[0] + 1; }", "non-const lvalue reference to type 'int' cannot bind "
                                                                 "to a temporary of type 'int' (returned by reference)"),
             ("struct S { int &r; };", "supported only as parameters and local variables"),
             ("__device__ void inc(int &x) { x++; }\n__global__ void g(int *p) { inc(3); }",
              "non-const lvalue reference to type 'int' cannot bind to a temporary"),
             ("__device__ void inc(int &x) { x++; }\n__global__ void g(float *p) { inc(p[0]); }",
              "cannot bind to a value of unrelated type of type 'float'"),
             ("__global__ void g(int &x) { x = 1; }", "cannot have a reference parameter"),
             ("__global__ void g(int *p) { int &r; }", "requires an initializer")]
    for src, msg in cases:
        with pytest.raises(CompileError, match=re.escape(msg)):
            vgpu.compile(src + ("\n__global__ void k() {}" if "__global__" not in src else ""))


def test_template_without_arguments_is_an_error():
    with pytest.raises(CompileError, match="unknown type name .P."):
        vgpu.compile("template <typename T> struct P { T a; };\n__global__ void k(int *p) { P q; p[0] = 0; }\n")


ACCEPTED = ["cuda-samples/matrixMul.cu", "cuda-samples/histogram64.cu", "cuda-samples/transposeCoalesced.cu",
            "cuda-samples/scanExclusiveShared.cu", "cuda-samples/convolutionRows.cu",
            "cuda-samples/fastWalshTransform.cu", "polybench/gemm.cu", "rodinia/hotspot.cu"]


@pytest.mark.parametrize("rel", ACCEPTED)
def test_real_kernels_stay_accepted(rel):
    import json
    instances = json.loads((realworld.ROOT / "instances.json").read_text())
    assert realworld.vgpu_compile(realworld.ROOT / rel, instances.get(rel, [])) is None


def _collection_module(rel: str, extra: str = ""):
    import json
    instances = json.loads((realworld.ROOT / "instances.json").read_text())
    return vgpu.compile(realworld.source(realworld.ROOT / rel, instances.get(rel, [])) + extra, rel)


@pytest.mark.parametrize("kernel,dtype", [("reduce6<int, 256, true>", np.int32),
                                          ("reduce6<float, 128, false>", np.float32)])
def test_sample_reduce6_template_matches_numpy(kernel, dtype):
    """NVIDIA's reduce6 (templates, SharedMemory<T>, warp shuffles): each block's partial sum."""
    mod = _collection_module("cuda-samples/reduce6.cu")
    block = int(kernel.split(",")[1])
    pow2 = kernel.endswith("true>")
    n = 4096 if pow2 else 3000
    x = (np.random.default_rng(1).integers(-100, 100, n)).astype(dtype)
    grid = 4
    out = vgpu.zeros(grid, dtype)
    mod.get_function(kernel)(vgpu.to_device(x), out, np.uint32(n), grid=grid, block=block,
                             shared=block * x.itemsize)
    got = out.copy_to_host()
    step = block * (2 if pow2 else 1)
    want = []
    for b in range(grid):
        idx = [i for t in range(block) for i in range(b * step + t, n, grid * step)]
        if pow2:
            idx += [i + block for i in idx if i + block < n]
        want.append(x[idx].astype(np.int64).sum())
    assert sum(want) == x.astype(np.int64).sum()
    assert np.allclose(got, want)


def test_sample_bitonic_sort_with_references_sorts():
    """NVIDIA's bitonicSortShared (a Comparator taking uint & references) sorts 1024 keys with values."""
    mod = _collection_module("cuda-samples/bitonicSortShared.cu")
    rng = np.random.default_rng(2)
    keys = rng.permutation(1024).astype(np.uint32)
    vals = np.arange(1024, dtype=np.uint32)
    dk, dv = vgpu.zeros(1024, np.uint32), vgpu.zeros(1024, np.uint32)
    mod.get_function("bitonicSortShared")(dk, dv, vgpu.to_device(keys), vgpu.to_device(vals), np.uint32(1024),
                                          np.uint32(1), grid=1, block=512)
    k, v = dk.copy_to_host(), dv.copy_to_host()
    assert (k == np.arange(1024)).all()
    assert (keys[v] == k).all()


def test_sample_cg_tile_reduce_matches_numpy():
    mod = _collection_module("cuda-samples/cg_reduce_plus.cu")
    x = np.random.default_rng(3).integers(-50, 50, 200).astype(np.int32)
    out = vgpu.to_device(np.array([0, -1000], np.int32))
    mod.get_function("reduceTile")(vgpu.to_device(x), out, np.int32(200), grid=2, block=128)
    assert out.copy_to_host().tolist() == [int(x.sum()), int(x.max())]


TEX_SRC = """
__global__ void sample2d(cudaTextureObject_t t, const float *xs, const float *ys, float *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = tex2D<float>(t, xs[i], ys[i]);
}
__global__ void sample1d(cudaTextureObject_t t, const float *xs, float4 *out, int *fetched, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out[i] = tex1D<float4>(t, xs[i]);
        fetched[i] = (int)(tex1Dfetch<float4>(t, i - 3).y * 255.0f + 0.5f);
    }
}
"""


def _tex_index(i, n, mode):
    if 0 <= i < n:
        return i
    if mode == "wrap":
        return i % n
    if mode == "mirror":
        m = i % (2 * n)
        return m if m < n else 2 * n - 1 - m
    if mode == "clamp":
        return 0 if i < 0 else n - 1
    return None


def _tex_coord(x, n, mode, normalized):
    x = np.float32(x)
    if normalized:
        if mode == "wrap":
            x = np.float32(x - np.floor(x))
        elif mode == "mirror":
            t = np.float32(x - np.float32(2) * np.floor(x * np.float32(0.5)))
            x = t if t < 1 else np.float32(2 - t)
        x = np.float32(x * np.float32(n))
    return x


def _model2d(img, x, y, filt, mode, normalized):
    """What tex2D<float> returns: CUDA's texture rules with 9-bit filter weights (the spec vgpu follows)."""
    h, w = img.shape
    cx, cy = _tex_coord(x, w, mode, normalized), _tex_coord(y, h, mode, normalized)

    def texel(i, j):
        i, j = _tex_index(i, w, mode), _tex_index(j, h, mode)
        return np.float32(0) if i is None or j is None else img[j, i]
    if filt == "point":
        return texel(int(np.floor(cx)), int(np.floor(cy)))
    xb, yb = np.float32(cx - np.float32(0.5)), np.float32(cy - np.float32(0.5))
    i0, j0 = int(np.floor(xb)), int(np.floor(yb))
    a = np.float32(np.rint(np.float32(xb - np.floor(xb)) * np.float32(256)) / np.float32(256))
    b = np.float32(np.rint(np.float32(yb - np.floor(yb)) * np.float32(256)) / np.float32(256))
    lerp = lambda p, q, t: np.float32(np.float32(np.float32(1) - t) * p + np.float32(t * q))  # noqa: E731
    return lerp(lerp(texel(i0, j0), texel(i0 + 1, j0), a), lerp(texel(i0, j0 + 1), texel(i0 + 1, j0 + 1), a), b)


@pytest.mark.parametrize("filt,mode,normalized", [("point", "clamp", False), ("linear", "clamp", False),
                                                  ("linear", "border", False), ("linear", "wrap", True),
                                                  ("point", "mirror", True), ("linear", "mirror", True)])
def test_tex2d_filters_and_addresses_as_the_model(filt, mode, normalized):
    mod = vgpu.compile(TEX_SRC, "tex.vk")
    rng = np.random.default_rng(4)
    img = rng.uniform(-10, 10, (5, 7)).astype(np.float32)
    n = 200
    scale = 1.0 if normalized else 7.0
    xs = rng.uniform(-0.6, 1.6, n).astype(np.float32) * np.float32(scale)
    ys = rng.uniform(-0.6, 1.6, n).astype(np.float32) * np.float32(scale * 5 / 7)
    xs[:4] = np.array([0.5, 1.0, 3.25, 6.999], np.float32) * np.float32(1 / 7 if normalized else 1)
    tex = vgpu.texture(vgpu.to_device(img), filter=filt, address=mode, normalized=normalized)
    out = vgpu.zeros(n, np.float32)
    mod.get_function("sample2d")(np.uint64(tex), vgpu.to_device(xs), vgpu.to_device(ys), out, np.int32(n),
                                 grid=2, block=128)
    want = np.array([_model2d(img, x, y, filt, mode, normalized) for x, y in zip(xs, ys)], np.float32)
    assert np.array_equal(out.copy_to_host(), want)
    vgpu.destroy_texture(tex)


def test_tex1d_uchar4_normalized_read_and_fetch():
    mod = vgpu.compile(TEX_SRC, "tex.vk")
    data = np.arange(40, dtype=np.uint8).reshape(10, 4) * 6
    tex = vgpu.texture(vgpu.to_device(data), filter="linear", channels=4, read_mode="normalized")
    xs = np.array([0.5, 1.5, 2.0, 2.25, 9.5, 11.0, -3.0, 4.75], np.float32)
    out, fetched = vgpu.zeros((8, 4), np.float32), vgpu.zeros(8, np.int32)
    mod.get_function("sample1d")(np.uint64(tex), vgpu.to_device(xs), out, fetched, np.int32(8), grid=1, block=8)
    got = out.copy_to_host()
    norm = data.astype(np.float32) * np.float32(1 / 255)
    for k, x in enumerate(xs):
        xb = np.float32(x - 0.5)
        i0 = int(np.floor(xb))
        a = np.float32(np.rint(np.float32(xb - np.floor(xb)) * 256) / 256)
        lo, hi = norm[min(max(i0, 0), 9)], norm[min(max(i0 + 1, 0), 9)]
        assert np.array_equal(got[k], (np.float32(1) - a) * lo + a * hi)
    assert fetched.copy_to_host().tolist() == [int(data[min(max(i - 3, 0), 9), 1]) for i in range(8)]


def test_texture_host_errors_are_clear():
    a = vgpu.to_device(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="needs normalized=True"):
        vgpu.texture(a, address="wrap")
    with pytest.raises(ValueError, match="filter must be"):
        vgpu.texture(a, filter="cubic")
    with pytest.raises(ValueError, match="linear filtering needs float texels"):
        vgpu.texture(vgpu.to_device(np.zeros(4, np.int32)), filter="linear")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_texture_kernels_compile_with_nvcc(tmp_path):
    src = tmp_path / "t.cu"
    src.write_text(TEX_SRC)
    r = subprocess.run(["nvcc", "-arch=sm_90", "-ptx", "-x", "cu", str(src), "-o", str(tmp_path / "t.ptx")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_sample_cg_thread_group_sums(capfd):
    """NVIDIA's cooperative-groups sample: a thread_group parameter given the block, then 16-thread tiles."""
    mod = _collection_module("cuda-samples/cg_reduce.cu")
    mod.get_function("cgkernel")(grid=1, block=64, shared=64 * 4)
    out = capfd.readouterr().out
    assert "Sum of all ranks 0..63 in threadBlockGroup is 2016 (expected 2016)" in out
    assert out.count("group is 120 (expected 120)") == 4


def test_dynamic_tiled_partition_is_a_thread_group():
    mod = vgpu.compile("#include <cooperative_groups.h>\nusing namespace cooperative_groups;\n"
                       "__global__ void k(int *out, int n) { thread_block b = this_thread_block();\n"
                       "  thread_group g = tiled_partition(b, n);\n"
                       "  out[b.thread_rank()] = g.thread_rank() * 100 + g.size(); g.sync(); }\n")
    out = vgpu.zeros(64, np.int32)
    mod.get_function("k")(out, np.int32(8), grid=1, block=64)
    assert (out.copy_to_host() == np.arange(64) % 8 * 100 + 8).all()


@pytest.mark.parametrize("kernel,dtype,block,pow2", [("reduce7<int, 256, true>", np.int32, 256, True),
                                                     ("reduce7<double, 64, false>", np.float64, 64, False)])
def test_sample_reduce7_matches_numpy(kernel, dtype, block, pow2):
    """reduce7: SharedMemory<double> specialisation, warpReduceSum<int> specialised to __reduce_add_sync."""
    mod = _collection_module("cuda-samples/reduce7.cu")
    n = 2048 if pow2 else 1000
    x = np.random.default_rng(5).integers(-1000, 1000, n).astype(dtype)
    grid = 2
    out = vgpu.zeros(grid, dtype)
    mod.get_function(kernel)(vgpu.to_device(x), out, np.uint32(n), grid=grid, block=block,
                             shared=max(block // 32, 1) * x.itemsize)
    assert out.copy_to_host().sum() == x.sum()


def test_sample_cg_reduce_with_group_reference_matches_numpy():
    mod = _collection_module("cuda-samples/cg_reduce_n.cu")
    x = np.random.default_rng(6).integers(-1000, 1000, 5000).astype(np.int32)
    out = vgpu.zeros(3, np.int32)
    mod.get_function("cg_reduce<int>")(vgpu.to_device(x), out, np.uint32(5000), grid=3, block=128, shared=128 * 4)
    assert out.copy_to_host().sum() == x.sum()


def test_sample_simple_texture_unrotated_is_the_filter_model():
    mod = _collection_module("cuda-samples/simpleTexture.cu")
    img = np.random.default_rng(7).uniform(0, 1, (16, 16)).astype(np.float32)
    tex = vgpu.texture(vgpu.to_device(img), filter="linear", address="clamp", normalized=True)
    out = vgpu.zeros(256, np.float32)
    mod.get_function("transformKernel")(out, np.int32(16), np.int32(16), np.float32(0.0), np.uint64(tex),
                                        grid=(2, 2), block=(8, 8))
    f = np.float32
    want = [[_model2d(img, (f(x) - f(8)) / f(16) + f(0.5), (f(y) - f(8)) / f(16) + f(0.5), "linear", "clamp", True)
             for x in range(16)] for y in range(16)]
    assert np.array_equal(out.copy_to_host().reshape(16, 16), np.array(want, np.float32))


FAST_MATH = """
__global__ void k(const float *x, float *o, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i], s, c;
        __sincosf(v, &s, &c);
        o[8 * i + 0] = __expf(v); o[8 * i + 1] = __logf(v + 2.0f); o[8 * i + 2] = __log2f(v + 2.0f);
        o[8 * i + 3] = __sinf(v) + s; o[8 * i + 4] = __cosf(v) + c; o[8 * i + 5] = __powf(v + 2.0f, 1.5f);
        o[8 * i + 6] = __fdividef(v, 3.0f); o[8 * i + 7] = __tanf(v);
    }
}
"""


def test_fast_math_intrinsics_are_within_the_guides_bounds(tmp_path):
    """CUDA's guide bounds these intrinsics (e.g. __expf: 2 + floor(|1.173 x|) ulp; __sinf/__cosf/__logf on
    their ranges: absolute error 2^-21.41); vgpu computes the same formulas correctly rounded."""
    src = tmp_path / "fm.cu"
    src.write_text(FAST_MATH)
    if shutil.which("nvcc"):
        ptx = subprocess.run(["nvcc", "-arch=sm_90", "-ptx", str(src), "-o", "-"], capture_output=True, text=True)
        assert ptx.returncode == 0, ptx.stderr
        for instr in ("ex2.approx", "lg2.approx", "sin.approx", "cos.approx", "div.approx"):
            assert instr in ptx.stdout
    x = np.linspace(-1.5, 1.5, 64).astype(np.float32)
    o = vgpu.zeros(64 * 8, np.float32)
    vgpu.compile(FAST_MATH, "fm.vk").get_function("k")(vgpu.to_device(x), o, 64, grid=1, block=64)
    got = o.copy_to_host().reshape(64, 8).astype(np.float64)
    d = x.astype(np.float64)
    want = np.stack([np.exp(d), np.log(d + 2), np.log2(d + 2), 2 * np.sin(d), 2 * np.cos(d), (d + 2) ** 1.5,
                     d / 3, np.tan(d)], 1)
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    assert (np.abs(got[:, 0] - want[:, 0]) <= (2 + np.floor(np.abs(1.173 * d))) * ulp[:, 0]).all()
    assert (np.abs(got[:, 1:5] - want[:, 1:5]) <= 2 * 2.0 ** -21.41).all()
    assert (np.abs(got[:, 5:] - want[:, 5:]) <= 8 * ulp[:, 5:]).all()


def test_fdividef_of_a_huge_divisor_is_zero_as_the_guide_says():
    o = vgpu.zeros(2, np.float32)
    vgpu.compile("__global__ void k(float *o) { o[0] = __fdividef(1.0f, 1e38f); o[1] = __fdividef(6.0f, 3.0f); }"
                 ).get_function("k")(o, grid=1, block=1)
    assert o.copy_to_host().tolist() == [0.0, 2.0]


@pytest.mark.parametrize("literal, want", [("3.40282347e38f", np.finfo(np.float32).max),
                                           ("3.402823466e+38F", np.finfo(np.float32).max),
                                           ("-3.4028235e38f", -np.finfo(np.float32).max),
                                           ("3.4028236e38f", np.inf), ("1e39f", np.inf)])
def test_float_literals_at_the_top_of_the_range_round_as_c_does(literal, want):
    o = vgpu.zeros(1, np.float32)
    vgpu.compile(f"__global__ void k(float *o) {{ o[0] = {literal}; }}").get_function("k")(o, grid=1, block=1)
    assert o.copy_to_host()[0] == np.float32(want)
