"""cuda.match_any_sync / match_all_sync (Python) against __match_any_sync / __match_all_sync (.vk) and
PTX's definition; atomic.nanmax/nanmin and 64-bit atomic.inc/dec as numba-cuda's CAS loops compute
them; their types against numba-cuda's typing."""
import numpy as np
import pytest

import vgpu
from vgpu import cuda


@cuda.jit
def match_py(vals, fv, out, outa, pa):
    i = cuda.grid(1)
    m = cuda.activemask()
    out[i] = cuda.match_any_sync(m, vals[i])
    r, p = cuda.match_all_sync(m, fv[i])
    outa[i] = r
    pa[i] = p


MATCH_VK = """
__global__ void match(const long long *vals, const float *fv, int *out, int *outa, int *pa) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned m = __activemask();
    out[i] = __match_any_sync(m, vals[i]);
    int p;
    outa[i] = __match_all_sync(m, fv[i], &p);
    pa[i] = p;
}"""


def _reference(vals, fv, n):
    """PTX match.any / match.all over each warp's active lanes (bits compared)."""
    out, outa, pa = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool)
    fbits = fv.view(np.uint32)
    for w in range(0, n, 32):
        lanes = range(w, min(w + 32, n))
        mask = sum(1 << (j - w) for j in lanes)
        for j in lanes:
            out[j] = sum(1 << (k - w) for k in lanes if vals[k] == vals[j])
            same = all(fbits[k] == fbits[j] for k in lanes)
            outa[j], pa[j] = (mask if same else 0), same
    return out.astype(np.uint32).view(np.int32), outa.astype(np.uint32).view(np.int32), pa


def test_match_python_vk_and_ptx_agree():
    n = 72                                    # two full warps and one of 8 lanes
    vals = np.random.default_rng(5).integers(0, 4, n).astype(np.int64)
    fv = np.full(n, 1.5, np.float32)
    fv[40] = np.float32(1.5000001)            # warp 1 differs in one lane
    fv[64:] = 0.0
    fv[65] = -0.0                             # -0.0 and 0.0 have different bits: no match
    out, outa, pa = np.zeros(n, np.int32), np.zeros(n, np.int32), np.zeros(n, np.bool_)
    match_py[1, n](vals, fv, out, outa, pa)
    ro, ra, rp = _reference(vals, fv, n)
    assert out.tolist() == ro.tolist() and outa.tolist() == ra.tolist() and pa.tolist() == rp.tolist()
    k = vgpu.compile(MATCH_VK, filename="match.vk").get_function("match")
    do, da, dp = vgpu.zeros(n, np.int32), vgpu.zeros(n, np.int32), vgpu.zeros(n, np.int32)
    k(vgpu.to_device(vals), vgpu.to_device(fv), do, da, dp, grid=1, block=n)
    assert do.copy_to_host().tobytes() == out.tobytes()
    assert da.copy_to_host().tobytes() == outa.tobytes()
    assert dp.copy_to_host().astype(bool).tolist() == pa.tolist()


@cuda.jit
def atomics_py(u, f, d, i):
    t = cuda.grid(1)
    cuda.atomic.inc(u, 0, np.uint64(9))
    cuda.atomic.dec(u, 1, np.uint64(100))
    cuda.atomic.nanmax(f, 0, f[2 + t % 2])
    cuda.atomic.nanmin(f, 1, f[2 + t % 2])
    cuda.atomic.max(d, 0, d[2 + t % 2])
    cuda.atomic.min(d, 1, d[2 + t % 2])
    cuda.atomic.nanmax(i, 0, t)
    cuda.atomic.nanmin(i, 1, t)


def test_nan_atomics_and_uint64_inc_dec():
    u = np.array([0, 0], np.uint64)
    f = np.array([np.nan, 5, 3, np.nan], np.float32)
    d = np.array([1, np.nan, 3, np.nan], np.float64)
    i = np.array([0, 100], np.int32)
    atomics_py[1, 64](u, f, d, i)
    assert u.tolist() == [64 % 10, (0 - 64) % 101]          # CUDA's wrap-around, 64 bits
    assert f[:2].tolist() == [3.0, 3.0]                     # nanmax/nanmin replace a stored NaN, skip a NaN value
    assert d[0] == 3.0 and np.isnan(d[1])                   # max/min leave a stored NaN (numba-cuda's early return)
    assert i.tolist() == [63, 0]


@cuda.jit
def returns_py(u, f, out):
    out[0] = cuda.atomic.inc(u, 0, np.uint64(5))
    out[1] = cuda.atomic.dec(u, 1, np.uint64(5))
    out[2] = cuda.atomic.nanmax(f, 0, 2.0)


def test_atomics_return_the_old_value():
    u = np.array([5, 0], np.uint64)
    f = np.array([np.nan], np.float64)
    out = np.zeros(3, np.float64)
    returns_py[1, 1](u, f, out)
    assert out[:2].tolist() == [5.0, 0.0] and np.isnan(out[2])
    assert u.tolist() == [0, 5] and f.tolist() == [2.0]


cudadecl = pytest.importorskip("numba.cuda.cudadecl")


def test_atomic_types_match_numba_cuda():
    from vgpu.frontend.python.memory import _ATOMIC_TYPES
    theirs = {"add": cudadecl.all_numba_types, "nanmax": cudadecl.all_numba_types,
              "nanmin": cudadecl.all_numba_types, "inc": cudadecl.unsigned_int_numba_types,
              "dec": cudadecl.unsigned_int_numba_types, "xor": cudadecl.integer_numba_types}
    for name, types in theirs.items():
        assert set(_ATOMIC_TYPES[name]) == {str(t) for t in types}, name


@cuda.jit
def match_types(v, out):
    i = cuda.grid(1)
    out[i] = cuda.match_any_sync(cuda.activemask(), v[i])


def test_match_value_types_follow_numba_cuda():
    """numba-cuda's overloads take int32, int64, float32, float64: a uint32 value compares as int64,
    a uint64 one as float64 (so 2^53 + 1 and 2^53 match), narrower ints as int32."""
    from numba.core import types
    from numba.cuda import target
    ctx = target.CUDATypingContext()
    ctx.refresh()
    for name, want in [("int8", "int32"), ("uint16", "int32"), ("uint32", "int64"), ("uint64", "float64")]:
        sig = ctx.resolve_function_type(cudadecl.Cuda_match_any_sync.key, (types.int32, getattr(types, name)), {})
        assert str(sig.args[1]) == want and str(sig.return_type) == "int32", name
    v = np.array([2 ** 53, 2 ** 53 + 1] + [7] * 30, np.uint64)
    out = np.zeros(32, np.int32)
    match_types[1, 32](v, out)
    assert out[0] == 3 and out[2] == (0xFFFFFFFC - 2 ** 32)
