"""Tier 4, the C++ that real kernels use (issue 18): kernel templates instantiated on demand by name,
files of templates alone, __launch_bounds__ honoured, surfaces, struct and default kernel arguments at
the API and the CLI, nvcc's implicit includes.  Every kernel source here also compiles with nvcc."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import vgpu
from vgpu.cli import main
from vgpu.diagnostics import CompileError
from vgpu.sim.occupancy import bounded_registers, registers_per_thread

TEMPLATES = """
template <typename T, int N>
__global__ void fill(T *p, T v) { p[threadIdx.x] = v * N; }
template <unsigned int blockSize, bool twice>
__global__ void sum(const int *in, int *out)
{
    __shared__ int s[blockSize];
    s[threadIdx.x] = in[threadIdx.x];
    __syncthreads();
    for (unsigned int k = blockSize / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k)
            s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        *out = twice ? 2 * s[0] : s[0];
}
"""

SURFACES = """
__global__ void copy(const float *in, int width, cudaSurfaceObject_t out, cudaSurfaceObject_t bytes,
                     unsigned int *o, int mode)
{
    unsigned int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y;
    if (x < width)
        surf2Dwrite(in[y * width + x] * 2.0f, out, x * 4, y, cudaBoundaryModeTrap);
    unsigned char b;
    surf2Dread(&b, bytes, x, y, cudaBoundaryModeClamp);
    o[y * blockDim.x * gridDim.x + x] = b + 1000 * surf2Dread<unsigned char>(bytes, x, y, cudaBoundaryModeZero);
    if (mode == 2)
        surf2Dwrite(1.0f, out, x * 4, y);
}
"""

BOUNDS = """
__global__ void __launch_bounds__(1024, 2) heavy(float *o)
{
    float a[24];
    for (int i = 0; i < 24; i++)
        a[i] = o[i * 1024 + threadIdx.x];
    float s = 0.0f;
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 24; j++)
            s += a[i] * a[j] * (i - j);
    o[threadIdx.x] = s;
}
__global__ void __launch_bounds__(64) small(int *o) { o[threadIdx.x] = threadIdx.x; }
"""

IMPLICIT = """
__global__ void k(unsigned int *o, uint x, ushort y, ulong z, int64_t w)
{
    o[0] = UINT_MAX - x;
    o[1] = o == NULL;
    o[2] = INT_MAX + y;
    o[3] = CHAR_BIT * sizeof(z) + sizeof(w);
#if defined(__linux__) && __cplusplus >= 201703L && CUDART_VERSION >= 13000
    o[4] = 1;
#endif
}
"""


def _compile(tmp_path, src, name="k.cu"):
    path = tmp_path / name
    path.write_text(src)
    return vgpu.compile_file(str(path))


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
@pytest.mark.parametrize("name", ["TEMPLATES", "SURFACES", "BOUNDS", "IMPLICIT", "LAYERED", "ALIGNED", "CUBEMAP",
                                  "PIPELINE"])
def test_sources_compile_with_nvcc(name, tmp_path):
    (tmp_path / "k.cu").write_text(globals()[name])
    r = subprocess.run(["nvcc", "-arch=sm_90", "-c", str(tmp_path / "k.cu"), "-o", str(tmp_path / "k.o")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_a_file_of_kernel_templates_compiles_and_makes_instances_by_name(tmp_path):
    mod = _compile(tmp_path, TEMPLATES)
    assert mod.kernel_names == []
    out = vgpu.to_device(np.zeros(1, np.int32))
    x = np.arange(64, dtype=np.int32) * 3 - 50
    k = mod.get_function("sum<64,true>")                  # blanks optional; named as vgpu spells it
    assert k.name == "sum<64, true>"
    k(vgpu.to_device(x), out, grid=1, block=64)
    assert out.copy_to_host()[0] == 2 * x.sum()
    f = mod.get_function("fill<unsigned short, 3>")
    p = vgpu.to_device(np.zeros(8, np.uint16))
    f(p, 7, grid=1, block=8)
    assert (p.copy_to_host() == 21).all()
    k(vgpu.to_device(x), out, grid=1, block=64)           # the first kernel still runs after recompiling
    assert out.copy_to_host()[0] == 2 * x.sum()
    assert set(mod.kernel_names) == {"sum<64, true>", "fill<unsigned short, 3>"}


def test_instances_by_name_are_diagnosed(tmp_path):
    mod = _compile(tmp_path, TEMPLATES)
    with pytest.raises(KeyError, match="kernel templates: fill, sum"):
        mod.get_function("nope<1>")
    with pytest.raises(CompileError, match="template argument 'x' in 'sum<x, true>' is not an integer or bool"):
        mod.get_function("sum<x, true>")
    with pytest.raises(CompileError, match="too many template arguments in 'fill<int, 1, 2>'"):
        mod.get_function("fill<int, 1, 2>")
    with pytest.raises(CompileError, match="couldn't deduce template parameter 'twice'"):
        mod.get_function("sum<64>")


def test_vgpuc_asm_instantiates_and_check_lists_templates(tmp_path, capsys):
    (tmp_path / "k.cu").write_text(TEMPLATES)
    assert main(["asm", str(tmp_path / "k.cu"), "--kernel", "sum<32,false>", "--kernel", "fill<float, 2>"]) == 0
    text = capsys.readouterr().out
    assert ".entry sum<32, false>(" in text and ".entry fill<float, 2>(" in text
    assert main(["check", str(tmp_path / "k.cu")]) == 0
    assert "0 kernels, kernel templates fill, sum" in capsys.readouterr().out


def test_launch_bounds_cap_registers_and_block_size(tmp_path):
    assert bounded_registers(1024, 2) == 32 and bounded_registers(256) == 255 and bounded_registers(128, 8) == 64
    mod = _compile(tmp_path, BOUNDS)
    heavy = mod.get_function("heavy")
    assert registers_per_thread(heavy.code.regs) <= 32
    o = np.arange(24 * 1024, dtype=np.float32) % 5
    a = o.reshape(24, 1024)
    want = sum(a[i] * a[j] * (i - j) for i in range(24) for j in range(24))
    d = vgpu.to_device(o)
    heavy(d, grid=1, block=32)
    assert np.allclose(d.copy_to_host()[:32], want[:32])
    small = mod.get_function("small")
    with pytest.raises(vgpu.DeviceError, match=r"__launch_bounds__\(64\) \(at most 64 threads per block\)"):
        small(vgpu.to_device(np.zeros(128, np.int32)), grid=1, block=128)


def test_surfaces_write_read_and_boundary_modes(tmp_path):
    mod = _compile(tmp_path, SURFACES)
    k = mod.get_function("copy")
    w, h = 8, 3
    a = np.arange(w * h, dtype=np.float32).reshape(h, w)
    out = vgpu.to_device(np.zeros((h, w), np.float32))
    by = (np.arange(w * h) * 7 % 256).astype(np.uint8).reshape(h, w)
    o = vgpu.to_device(np.zeros(2 * w * h, np.uint32))
    k(vgpu.to_device(a), w, vgpu.surface(out), vgpu.surface(vgpu.to_device(by)), o, 0, grid=(2, h), block=w)
    assert (out.copy_to_host() == 2 * a).all()
    got = o.copy_to_host().reshape(h, 2 * w).astype(np.int64)
    clamped = by[:, np.minimum(np.arange(2 * w), w - 1)].astype(np.int64)
    zero = np.concatenate([by, np.zeros_like(by)], axis=1).astype(np.int64)
    assert (got == clamped + 1000 * zero).all()
    with pytest.raises(vgpu.DeviceError, match="trap"):        # cudaBoundaryModeTrap, the default
        k(vgpu.to_device(a), w, vgpu.surface(out), vgpu.surface(vgpu.to_device(by)), o, 2, grid=(2, h), block=w)


def test_struct_argument_layout_and_mistakes(tmp_path):
    mod = _compile(tmp_path, "struct S { char c; double d; int n[2]; };\n"
                             "__global__ void k(int a, S s, short b, float *o)\n"
                             "{ o[0] = a + s.c + s.d + s.n[0] * 10 + s.n[1] * 100 + b; }\n")
    k = mod.get_function("k")
    assert k.param_names == ["a", "s", "b", "o"]
    assert [(p.name, p.offset) for p in k.code.params] == [("a", 0), ("s.c", 8), ("s.d", 16), ("s.n.0", 24),
                                                           ("s.n.1", 28), ("b", 32), ("o", 40)]
    o = vgpu.to_device(np.zeros(1, np.float32))
    k(1, (2, 0.5, [3, 4]), 5, o, grid=1, block=1)
    assert o.copy_to_host()[0] == 1 + 2 + 0.5 + 30 + 400 + 5
    rec = np.array((2, 0.5, [3, 4]), dtype=[("c", "i1"), ("d", "f8"), ("n", "i4", 2)])[()]
    k(1, rec, 5, o, grid=1, block=1)                      # a numpy structured scalar works too
    assert o.copy_to_host()[0] == 1 + 2 + 0.5 + 30 + 400 + 5
    with pytest.raises(TypeError, match="parameter 's' is a struct of 4 scalar"):
        k(1, (2, 0.5), 5, o, grid=1, block=1)


def test_vgpuc_run_takes_struct_default_and_texture_arguments(tmp_path, capsys):
    src = ("__global__ void k(float2 v, cudaTextureObject_t t, float *o, float s = 2.0f)\n"
           "{ o[threadIdx.x] = (v.x + v.y + tex1Dfetch<float>(t, threadIdx.x)) * s; }\n")
    (tmp_path / "k.cu").write_text(src)
    np.save(tmp_path / "o.npy", np.zeros(4, np.float32))
    np.save(tmp_path / "t.npy", np.arange(4, dtype=np.float32) * 10)
    assert main(["run", str(tmp_path / "k.cu"), "v=1,2", f"t=texture:@{tmp_path}/t.npy:filter=point",
                 f"o=@{tmp_path}/o.npy", "--grid", "1", "--block", "4", "--print", "o"]) == 0
    assert "o = [ 6. 26. 46. 66.]" in capsys.readouterr().out
    assert main(["run", str(tmp_path / "k.cu"), "v=1", f"t=texture:@{tmp_path}/t.npy",
                 f"o=@{tmp_path}/o.npy", "--grid", "1", "--block", "4"]) == 2
    assert "is a struct of 2 scalars (v.x, v.y): give v=V1,V2,..." in capsys.readouterr().err
    assert main(["run", str(tmp_path / "k.cu"), "v=1,2", f"t=texture:@{tmp_path}/t.npy:wrap=1",
                 f"o=@{tmp_path}/o.npy", "--grid", "1", "--block", "4"]) == 2
    assert "options are filter=, address=, normalized=, channels=, read_mode=" in capsys.readouterr().err


def test_implicit_includes_are_nvccs(tmp_path):
    mod = _compile(tmp_path, IMPLICIT)
    o = vgpu.to_device(np.zeros(5, np.uint32))
    mod.get_function("k")(o, 5, 3, 9, -1, grid=1, block=1)
    assert list(o.copy_to_host()) == [2**32 - 1 - 5, 0, 2**31 - 1 + 3, 64 + 8, 1]
    with pytest.raises(CompileError, match="unknown type name 'uint8_t'"):   # <stdint.h> is not implicit
        vgpu.compile("__global__ void k(uint8_t *p) { }")
    vgpu.compile("#include <cuda.h>\n__global__ void k(uint8_t *p, CUtexObject t, CUsurfObject s) { }")


LAYERED = """
__global__ void k(float *out, int width, int height, int layer, cudaTextureObject_t tex, cudaSurfaceObject_t surf)
{
    unsigned int x = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned int y = blockIdx.y * blockDim.y + threadIdx.y;
    float u = (x + 0.5f) / (float)width, v = (y + 0.5f) / (float)height;
    float r = tex2DLayered<float>(tex, u, v, layer) + tex1DLayered<float>(tex, u, 0) * 0.0f;
    out[y * width + x] = r;
    surf2DLayeredwrite(r * 2.0f, surf, x * 4, y, layer < 0 ? 0 : layer > 2 ? 2 : layer);
}
"""


def test_layered_textures_and_surfaces(tmp_path):
    layers, h, w = 3, 4, 5
    a = np.arange(layers * h * w, dtype=np.float32).reshape(layers, h, w)
    mod = _compile(tmp_path, LAYERED)
    tex = vgpu.texture(vgpu.to_device(a), filter="linear", normalized=True)
    s = vgpu.to_device(np.zeros((layers, h, w), np.float32))
    for layer, want in ((0, a[0]), (1, a[1]), (2, a[2]), (7, a[2]), (-1, a[0])):    # the layer index is clamped
        o = vgpu.to_device(np.zeros(h * w, np.float32))
        mod.get_function("k")(o, w, h, layer, tex, vgpu.surface(s), grid=1, block=(w, h))
        assert (o.copy_to_host().reshape(h, w) == want).all()
    assert (s.copy_to_host() == 2 * a).all()


ALIGNED = """__device__ alignas(32) float gbuf[8];
__global__ void k(const float *in, float *out, unsigned long *addr) {
    __shared__ char pad;
    __shared__ alignas(alignof(float4)) float As[4][4];
    __shared__ alignas(16) float Bs[16];
    alignas(16) float loc[4];
    int t = threadIdx.x;
    As[t / 4][t % 4] = in[t];
    Bs[t] = in[t] * 2.0f;
    loc[t % 4] = t;
    pad = 1;
    __syncthreads();
    if (t < 4) {
        float4 v = reinterpret_cast<float4 *>(&As[0][0])[t];
        float4 w = reinterpret_cast<float4 *>(Bs)[t];
        out[t] = v.x + v.y + v.z + v.w + w.x + loc[t % 4] * 0 + pad;
    }
    addr[0] = (unsigned long)&As[0][0] % 16; addr[1] = (unsigned long)Bs % 16; addr[2] = (unsigned long)gbuf % 32;
    addr[3] = alignof(float4) + alignof(double) * 100 + alignof(char) * 1000;
}
"""


def test_alignas_and_alignof(tmp_path):
    mod = _compile(tmp_path, ALIGNED)
    syms = mod.program.symbols
    assert (syms["As"].align, syms["Bs"].align, syms["gbuf"].align, syms["pad"].align) == (16, 16, 32, 1)
    assert mod.program.kernels["k"].locals["__local_loc"].align == 16
    x = np.arange(16, dtype=np.float32)
    o = vgpu.to_device(np.zeros(4, np.float32))
    a = vgpu.to_device(np.zeros(4, np.uint64))
    mod.get_function("k")(vgpu.to_device(x), o, a, grid=1, block=16)
    assert (o.copy_to_host() == x.reshape(4, 4).sum(1) + 2 * x[::4] + 1).all()
    assert list(a.copy_to_host()) == [0, 0, 0, 16 + 8 * 100 + 1000]
    with pytest.raises(CompileError, match="requested alignment 3 is not a positive power of 2"):
        vgpu.compile("__global__ void k(float *o) { alignas(3) float x = 1; o[0] = x; }")
    with pytest.raises(CompileError, match="requested alignment 4 is less than the type's alignment 8"):
        vgpu.compile("__global__ void k(double *o) { alignas(4) double x = 1; o[0] = x; }")


CUBEMAP = """
__global__ void look(const float3 *dirs, float *out, cudaTextureObject_t cube)
{
    int i = threadIdx.x;
    out[i] = texCubemap<float>(cube, dirs[i].x, dirs[i].y, dirs[i].z);
}
"""


def _cube_model(a, d):
    """Point-sampled cubemap lookup of direction d in faces a (6, w, w), as the CUDA guide's table."""
    x, y, z = (float(v) for v in d)
    ax, ay, az = abs(x), abs(y), abs(z)
    if ax >= ay and ax >= az:
        face, m, s, t = (0, ax, -z, -y) if x >= 0 else (1, ax, z, -y)
    elif ay >= az:
        face, m, s, t = (2, ay, x, z) if y >= 0 else (3, ay, x, -z)
    else:
        face, m, s, t = (4, az, x, -y) if z >= 0 else (5, az, -x, -y)
    w = a.shape[1]
    i = min(max(int(np.floor(np.float32((np.float32(s) / np.float32(m) + 1) * 0.5) * w)), 0), w - 1)
    j = min(max(int(np.floor(np.float32((np.float32(t) / np.float32(m) + 1) * 0.5) * w)), 0), w - 1)
    return a[face, j, i]


def test_cubemap_texture_faces_and_coordinates(tmp_path):
    w = 8
    a = np.arange(6 * w * w, dtype=np.float32).reshape(6, w, w)
    rng = np.random.default_rng(7)
    dirs = rng.uniform(-1, 1, (64, 3)).astype(np.float32)
    dirs[:6] = [[1, 0.2, -0.3], [-1, 0.1, 0.4], [0.3, 1, 0.2], [0.1, -1, -0.6], [0.2, 0.3, 1], [-0.4, 0.5, -1]]
    mod = _compile(tmp_path, CUBEMAP)
    out = vgpu.to_device(np.zeros(64, np.float32))
    mod.get_function("look")(vgpu.to_device(dirs), out, vgpu.texture(vgpu.to_device(a), normalized=True),
                             grid=1, block=64)
    got = out.copy_to_host()
    assert [int(v) // (w * w) for v in got[:6]] == [0, 1, 2, 3, 4, 5]      # one face per axis and sign
    assert (got == [_cube_model(a, d) for d in dirs]).all()


PIPELINE = """#include <cuda/pipeline>
template <int BLOCK_SIZE>
__global__ void mm(float *C, const float *A, const float *B, int wA, int wB)
{
    __shared__ alignas(alignof(float4)) float As[BLOCK_SIZE][BLOCK_SIZE];
    __shared__ alignas(alignof(float4)) float Bs[BLOCK_SIZE][BLOCK_SIZE];
    int aBegin = wA * BLOCK_SIZE * blockIdx.y, aEnd = aBegin + wA - 1, aStep = BLOCK_SIZE;
    int bBegin = BLOCK_SIZE * blockIdx.x, bStep = BLOCK_SIZE * wB;
    float Csub = 0.0;
    cuda::pipeline<cuda::thread_scope_thread> pipe = cuda::make_pipeline();
    const auto shape1 = cuda::aligned_size_t<alignof(float)>(sizeof(float));
    const auto shape4 = cuda::aligned_size_t<alignof(float4)>(sizeof(float4));
    for (int a = aBegin, b = bBegin; a <= aEnd; a += aStep, b += bStep) {
        pipe.producer_acquire();
        cuda::memcpy_async(&As[threadIdx.y][threadIdx.x], &A[a + wA * threadIdx.y + threadIdx.x], shape1, pipe);
        if (threadIdx.x < BLOCK_SIZE / 4)
            cuda::memcpy_async(&Bs[threadIdx.y][threadIdx.x * 4], &B[b + wB * threadIdx.y + threadIdx.x * 4], shape4, pipe);
        pipe.producer_commit();
        pipe.consumer_wait();
        __syncthreads();
        for (int k = 0; k < BLOCK_SIZE; ++k)
            Csub += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
    int c = wB * BLOCK_SIZE * blockIdx.y + BLOCK_SIZE * blockIdx.x;
    C[c + wB * threadIdx.y + threadIdx.x] = Csub;
}
template __global__ void mm<8>(float *, const float *, const float *, int, int);
"""


def test_thread_scope_pipeline_matrix_multiply(tmp_path):
    """A tiled matrix multiply shaped like the globalToShmemAsyncCopy sample: cuda::pipeline of thread
    scope, cuda::memcpy_async of floats and float4 chunks, `const auto` sizes, alignas shared tiles."""
    mod = _compile(tmp_path, PIPELINE)
    n = 16
    a = (np.arange(n * n, dtype=np.float32) % 7).reshape(n, n)
    b = (np.arange(n * n, dtype=np.float32) % 5 - 2).reshape(n, n)
    c = vgpu.to_device(np.zeros((n, n), np.float32))
    mod.get_function("mm<8>")(c, vgpu.to_device(a), vgpu.to_device(b), n, n, grid=(2, 2), block=(8, 8))
    assert (c.copy_to_host() == a @ b).all()
    with pytest.raises(CompileError, match="vgpu supports cuda::pipeline<cuda::thread_scope_thread> only"):
        vgpu.compile("__global__ void k(float *o) { cuda::pipeline<cuda::thread_scope_block> p; "
                     "p.producer_acquire(); }")
    with pytest.raises(CompileError, match="vgpu has cuda::pipeline<cuda::thread_scope_thread>"):
        vgpu.compile("__global__ void k(float *o) { cuda::barrier<cuda::thread_scope_block> b; }")
    with pytest.raises(CompileError, match="'auto' is supported only as"):
        vgpu.compile("__global__ void k(float *o) { auto x; o[0] = 1; }")


def test_template_arguments_by_name_take_every_c_integer_suffix():
    mod = vgpu.compile("template <unsigned long long N> __global__ void k(unsigned long long *o) { *o = N; }",
                       "suffix.vk")
    for name, want in (("k<1LLU>", 1), ("k<5ull>", 5), ("k<0x10lu>", 16), ("k<7>", 7)):
        o = vgpu.zeros(1, np.uint64)
        mod.get_function(name)(o, grid=1, block=1)
        assert o.copy_to_host()[0] == want, name
    for bad in ("k<1uu>", "k<1lL>"):
        with pytest.raises(CompileError, match="not an integer or bool literal"):
            mod.get_function(bad)
