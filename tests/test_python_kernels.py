"""Python kernels (vgpu.cuda): typing, arrays, control flow, shared memory, atomics, warp functions.

Each test launches a kernel written as a Numba user writes it and checks the result against NumPy / Python.
"""
import math
from fractions import Fraction

import numpy as np

from vgpu import cuda


def test_axpy_float32_computes_in_double_and_fuses():
    @cuda.jit
    def axpy(a, x, y, n):
        i = cuda.grid(1)
        if i < n:
            y[i] = a * x[i] + y[i]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(300).astype(np.float32)
    y = rng.standard_normal(300).astype(np.float32)
    expect = np.empty_like(y)
    for k in range(300):      # a is float64 (a Python float): computed as fma in double, rounded on store
        expect[k] = np.float32(float(Fraction(2.5) * Fraction(float(x[k])) + Fraction(float(y[k]))))
    axpy[3, 128](2.5, x, y, 300)
    assert y.tobytes() == expect.tobytes()


def test_int_typing_floor_division_and_modulo():
    @cuda.jit
    def k(a, b, q, r, t):
        i = cuda.grid(1)
        if i < a.size:
            q[i] = a[i] // b[i]
            r[i] = a[i] % b[i]
            t[i] = a[i] / b[i]
    a = np.array([7, -7, 7, -7, 0, 5, -9, 3], np.int32)
    b = np.array([2, 2, -2, -2, 3, 0, 4, 0], np.int32)
    q = np.zeros(8, np.int64); r = np.zeros(8, np.int64); t = np.zeros(8, np.float64)
    k[1, 32](a, b, q, r, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        eq = [x // y if y else 0 for x, y in zip(a.tolist(), b.tolist())]
        er = [x % y if y else 0 for x, y in zip(a.tolist(), b.tolist())]
        et = a.astype(np.float64) / b.astype(np.float64)
    assert q.tolist() == eq and r.tolist() == er
    assert np.array_equal(t, et, equal_nan=True)


def test_floor_division_and_modulo_by_a_constant_power_of_two():
    """x // 2**k and x % 2**k become a shift and a mask: Python's floor results for negative x too, on every
    integer type that Numba promotes to int64 with an int literal (uint64 with an int literal is float64)."""
    @cuda.jit
    def k(a, q, r):
        i = cuda.grid(1)
        if i < a.size:
            x = a[i]
            q[i, 0], r[i, 0] = x // 1, x % 1
            q[i, 1], r[i, 1] = x // 2, x % 2
            q[i, 2], r[i, 2] = x // 8, x % 8
            q[i, 3], r[i, 3] = x // 1024, x % 1024
            q[i, 4], r[i, 4] = x // -4, x % -4
    for dt in (np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64):
        info = np.iinfo(dt)
        vals = [0, 1, -1, 2, -2, 7, -7, 8, -8, 1023, -1025, info.min, info.max, info.min + 1, info.max - 1]
        a = np.array([v for v in vals if info.min <= v <= info.max], dt)
        q, r = np.zeros((a.size, 5), np.int64), np.zeros((a.size, 5), np.int64)
        k[1, 32](a, q, r)
        for j, d in enumerate((1, 2, 8, 1024, -4)):
            assert q[:, j].tolist() == [int(x) // d for x in a], (dt, d)
            assert r[:, j].tolist() == [int(x) % d for x in a], (dt, d)


def test_float_floordiv_mod_python_semantics():
    @cuda.jit
    def k(a, b, q, r):
        i = cuda.grid(1)
        if i < a.size:
            q[i] = a[i] // b[i]
            r[i] = a[i] % b[i]
    a = np.array([7.5, -7.5, 7.5, -7.5, 0.0, -0.0, 100.25, 3.0], np.float64)
    b = np.array([2.0, 2.0, -2.0, -2.0, 3.0, -3.0, 7.0, -1.5], np.float64)
    q = np.zeros(8); r = np.zeros(8)
    k[1, 32](a, b, q, r)
    assert q.tobytes() == np.array([x // y for x, y in zip(a.tolist(), b.tolist())]).tobytes()
    assert r.tobytes() == np.array([x % y for x, y in zip(a.tolist(), b.tolist())]).tobytes()


def _nvptx_divmod(vx, wx):
    """Numba's float divmod with LLVM's frem as NVPTX expands it (|x| - floor(|x|/|y|)*|y|)."""
    ax, ay = abs(vx), abs(wx)
    mod = ax - math.floor(ax / ay) * ay          # (wx != 0 here)
    mod = -mod if vx < 0 else mod
    div = (vx - mod) / wx
    if mod:
        if (wx < 0) != (mod < 0):
            mod += wx
            div -= 1.0
    else:
        mod = math.copysign(0.0, wx)
    if div:
        fl = math.floor(div)
        if div - fl > 0.5:
            fl += 1.0
    else:
        fl = math.copysign(0.0, vx / wx)
    return fl, mod


def test_float_modulo_is_nvptx_frem_expansion():
    """Large quotients: the GPU's frem is not fmod; numba-cuda's % and // inherit that."""
    @cuda.jit
    def k(a, b, q, r):
        i = cuda.grid(1)
        if i < a.size:
            q[i] = a[i] // b[i]
            r[i] = a[i] % b[i]
    rng = np.random.default_rng(9)
    a = rng.uniform(-1e18, 1e18, 64)
    b = rng.uniform(-2e4, 2e4, 64)
    q, r = np.zeros(64), np.zeros(64)
    k[1, 64](a, b, q, r)
    model = [_nvptx_divmod(x, y) for x, y in zip(a.tolist(), b.tolist())]
    assert q.tolist() == [m[0] for m in model] and r.tolist() == [m[1] for m in model]
    exact = [x % y for x, y in zip(a.tolist(), b.tolist())]
    assert r.tolist() != exact            # the expansion differs from CPython's exact fmod here


def test_power_bool_min_max_abs_round():
    @cuda.jit
    def k(x, out, iout):
        i = cuda.grid(1)
        if i < x.size:
            v = x[i]
            out[i, 0] = v ** 2
            out[i, 1] = v ** -1
            out[i, 2] = min(v, 1.5)
            out[i, 3] = max(v, -0.5, 0.25)
            out[i, 4] = abs(v)
            iout[i, 0] = round(v)
            iout[i, 1] = (i + 1) ** 3
            iout[i, 2] = 2 ** i
            iout[i, 3] = (v > 0) and (i % 2 == 0)
            iout[i, 4] = -i if i % 3 == 0 else i * 10
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.25, -7.0], np.float64)
    out = np.zeros((8, 5)); iout = np.zeros((8, 5), np.int64)
    k[1, 8](x, out, iout)
    for i, v in enumerate(x.tolist()):
        assert out[i].tolist() == [v ** 2, v ** -1, min(v, 1.5), max(v, -0.5, 0.25), abs(v)]
        assert iout[i].tolist() == [round(v), (i + 1) ** 3, 2 ** i, int(v > 0 and i % 2 == 0),
                                    -i if i % 3 == 0 else i * 10]


def test_loops_break_continue_and_type_unification():
    @cuda.jit
    def k(out):
        i = cuda.grid(1)
        acc = 0                 # int64, becomes float64 at the loop head (unified with acc + 0.5)
        for j in range(i, 20, 3):
            if j == 13:
                continue
            if j > 17:
                break
            acc += 0.5 * j
        n = 0
        while True:
            n += 1
            if n * n > i:
                break
        for j in range(10, 0, -2):
            n += j
        out[i, 0] = acc
        out[i, 1] = n
    out = np.zeros((16, 2))
    k[1, 16](out)
    for i in range(16):
        acc = 0
        for j in range(i, 20, 3):
            if j == 13:
                continue
            if j > 17:
                break
            acc += 0.5 * j
        n = 0
        while True:
            n += 1
            if n * n > i:
                break
        n += sum(range(10, 0, -2))
        assert out[i].tolist() == [acc, n]


def test_2d_arrays_shape_negative_indices_and_grid2():
    @cuda.jit
    def k(a, out):
        x, y = cuda.grid(2)
        if x < a.shape[0] and y < a.shape[1]:
            out[x, y] = a[x, y] * 2 + a[-1, -1] + a.size
    a = np.arange(35, dtype=np.int32).reshape(5, 7)
    out = np.zeros((5, 7), np.int64)
    k[(2, 2), (4, 4)](a, out)
    assert np.array_equal(out, a * 2 + a[-1, -1] + a.size)


def test_shared_memory_reduction_and_syncthreads_count():
    @cuda.jit
    def k(x, out, cnt):
        s = cuda.shared.array(64, dtype=np.float32)
        t = cuda.threadIdx.x
        s[t] = x[cuda.blockIdx.x * 64 + t]
        cuda.syncthreads()
        stride = 32
        while stride > 0:
            if t < stride:
                s[t] += s[t + stride]
            cuda.syncthreads()
            stride //= 2
        c = cuda.syncthreads_count(x[cuda.blockIdx.x * 64 + t] > 0.5)
        if t == 0:
            out[cuda.blockIdx.x] = s[0]
            cnt[cuda.blockIdx.x] = c
    x = np.random.default_rng(2).random(256).astype(np.float32)
    out = np.zeros(4, np.float32); cnt = np.zeros(4, np.int32)
    k[4, 64](x, out, cnt)
    for b in range(4):
        s = x[b * 64:(b + 1) * 64].copy()
        stride = 32
        while stride:
            s[:stride] += s[stride:2 * stride]
            stride //= 2
        assert out[b] == s[0]
        assert cnt[b] == int((x[b * 64:(b + 1) * 64] > 0.5).sum())


def test_dynamic_shared_local_and_const_arrays():
    COEF = np.array([1.0, -2.0, 0.5], np.float32)

    @cuda.jit
    def k(x, out):
        dyn = cuda.shared.array(0, dtype=np.float32)
        loc = cuda.local.array(3, dtype=np.float32)
        c = cuda.const.array_like(COEF)
        t = cuda.threadIdx.x
        dyn[t] = x[t]
        cuda.syncthreads()
        for j in range(3):
            loc[j] = dyn[(t + j) % cuda.blockDim.x] * c[j]
        out[t] = loc[0] + loc[1] + loc[2] + dyn.size * 1000
    x = np.arange(32, dtype=np.float32)
    out = np.zeros(32, np.float32)
    k[1, 32, 0, 32 * 4](x, out)
    exp = np.array([np.float32(np.float32(x[t] * 1.0) + np.float32(x[(t + 1) % 32] * -2.0))
                    + np.float32(x[(t + 2) % 32] * 0.5) + 32000 for t in range(32)], np.float32)
    assert np.array_equal(out, exp)


def test_atomics():
    @cuda.jit
    def k(hist, vals, fl, mx, cas):
        i = cuda.grid(1)
        cuda.atomic.add(hist, vals[i] % 8, 1)
        cuda.atomic.add(fl, 0, 0.5)
        cuda.atomic.max(mx, 0, vals[i])
        cuda.atomic.min(mx, 1, vals[i])
        cuda.atomic.max(fl, 1, vals[i] * 0.25)
        cuda.atomic.compare_and_swap(cas, 0, i + 1)
    vals = np.random.default_rng(3).integers(0, 1000, 256).astype(np.int32)
    hist = np.zeros(8, np.int32); fl = np.zeros(2, np.float32)
    mx = np.array([-1, 10 ** 6], np.int32); cas = np.zeros(1, np.int64)
    k[4, 64](hist, vals, fl, mx, cas)
    assert np.array_equal(hist, np.bincount(vals % 8, minlength=8))
    assert fl[0] == 128.0 and fl[1] == np.float32(vals.max() * 0.25)
    assert mx.tolist() == [vals.max(), vals.min()]
    assert 1 <= cas[0] <= 256


def test_warp_functions():
    @cuda.jit
    def k(x, out, votes):
        i = cuda.grid(1)
        v = x[i]
        for off in (16, 8, 4, 2, 1):
            v += cuda.shfl_down_sync(0xFFFFFFFF, v, off)
        out[i, 0] = v
        out[i, 1] = cuda.shfl_sync(0xFFFFFFFF, x[i], 3)
        out[i, 2] = cuda.shfl_xor_sync(0xFFFFFFFF, x[i], 1)
        out[i, 3] = cuda.shfl_up_sync(0xFFFFFFFF, x[i], 2)
        b = cuda.ballot_sync(0xFFFFFFFF, x[i] % 2 == 0)
        votes[i, 0] = b
        votes[i, 1] = cuda.all_sync(0xFFFFFFFF, x[i] >= 0)
        votes[i, 2] = cuda.any_sync(0xFFFFFFFF, x[i] > 60)
        votes[i, 3] = cuda.popc(b)
        votes[i, 4] = cuda.lanemask_lt()
        votes[i, 5] = cuda.activemask()
        votes[i, 6] = cuda.laneid
    x = np.arange(64, dtype=np.int32)
    out = np.zeros((64, 4), np.int32); votes = np.zeros((64, 7), np.int64)
    k[1, 64](x, out, votes)
    for w in range(2):
        lanes = x[w * 32:(w + 1) * 32]
        for lane in range(32):
            i = w * 32 + lane
            assert out[i, 1] == lanes[3] and out[i, 2] == lanes[lane ^ 1]
            assert out[i, 3] == (lanes[lane - 2] if lane >= 2 else lanes[lane])
            assert votes[i].tolist() == [0x55555555, 1, int(w == 1 and lanes.max() > 60) or int(lanes.max() > 60),
                                         16, (1 << lane) - 1, 0xFFFFFFFF, lane]
        assert out[w * 32, 0] == lanes.sum()


def test_device_functions_inlined_with_tuples():
    @cuda.jit(device=True)
    def divmod_(a, b):
        return a // b, a % b

    @cuda.jit(device=True)
    def clamp(v, lo, hi):
        if v < lo:
            return lo
        if v > hi:
            return hi
        return v

    @cuda.jit
    def k(out):
        i = cuda.grid(1)
        q, r = divmod_(i * 7, 5)
        out[i] = clamp(q * 10 + r, 3, 40)
    out = np.zeros(16, np.int64)
    k[1, 16](out)
    assert out.tolist() == [min(max((i * 7) // 5 * 10 + (i * 7) % 5, 3), 40) for i in range(16)]


def test_signature_string_and_cache_and_device_arrays():
    @cuda.jit("void(float32[:], float32[:], int32)")
    def scale(x, y, n):
        i = cuda.grid(1)
        if i < n:
            y[i] = x[i] * np.float32(3)
    assert len(scale.inspect_asm()) == 1
    dx = cuda.to_device(np.arange(10, dtype=np.float32))
    dy = cuda.device_array(10, np.float32)
    scale[1, 32](dx, dy, 10)
    assert np.array_equal(dy.copy_to_host(), np.arange(10, dtype=np.float32) * 3)
    host = np.zeros(10, np.float32)
    dy.copy_to_host(host)
    assert host[9] == 27
    like = cuda.device_array_like(host)
    assert like.shape == (10,) and like.dtype == np.float32

    @cuda.jit
    def fill(a, v):
        a[cuda.grid(1)] = v
    fill[1, 4](np.zeros(4, np.int32), 1)
    fill[1, 4](np.zeros(4, np.float64), 1.5)
    fill[1, 4](np.zeros(4, np.float64), 2.5)
    assert len(fill.inspect_asm()) == 2


def test_print_is_device_printf(capfd):
    @cuda.jit
    def hello(x):
        i = cuda.grid(1)
        if i < 2:
            print("hello", i, x[i], "100%", i == 0, (i, np.uint8(200)), cuda.threadIdx)
    hello[1, 4](np.array([1.5, -2.0], np.float32))
    out = capfd.readouterr().out
    assert "hello 0 1.500000 100% True (0, 200) (0, 0, 0)\n" in out
    assert "hello 1 -2.000000 100% False (1, 200) (1, 0, 0)\n" in out


def test_contiguous_views():
    @cuda.jit
    def k(a, o):
        i = cuda.grid(1)
        row = a[i]                     # a 1-d view of row i
        o[i, 0] = row[2] + a[i][3] + a[i, :][0]
        o[i, 1] = a[i, 1:4].size + a[i, -2:][0] + a[i, 3:1].size * 100
        mid = a[1:3]
        o[i, 2] = mid[1, i % 5] + mid.shape[0]
        row[4] = -1                     # stores through a view land in a
    a = np.arange(20, dtype=np.int64).reshape(4, 5)
    o = np.zeros((4, 3), np.int64)
    ref = a.copy()
    k[1, 4](a, o)
    for i in range(4):
        assert o[i].tolist() == [ref[i, 2] + ref[i, 3] + ref[i, 0], 3 + ref[i, 3], ref[2, i % 5] + 2]
    assert a[:, 4].tolist() == [-1] * 4


def test_runtime_negative_indices_wrap_and_grid_indices_do_not_need_to():
    @cuda.jit
    def k(a, idx, out):
        i = cuda.grid(1)                              # provably >= 0: no wrap-around emitted
        out[i] = a[idx[i]] + a[cuda.threadIdx.x - 4] * 1000   # int64 index from data / below zero
    a = np.arange(10, dtype=np.int64)
    idx = np.array([0, -1, -10, 9, 3, -3, 5, -5], np.int32)
    out = np.zeros(8, np.int64)
    k[1, 8](a, idx, out)
    assert out.tolist() == [a[j] + a[t - 4] * 1000 for t, j in enumerate(idx.tolist())]
    asm = list(k.inspect_asm().values())[0]
    assert asm.count("selp.b64") == 2                # the two indices that may be negative
