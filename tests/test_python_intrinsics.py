"""The rest of numba-cuda's kernel API on vgpu: bit functions, fma, more atomics, fences, syncwarp,
grid sync, 64-bit shuffles, math functions, integer types and conversions."""
import math

import numpy as np

from vgpu import cuda


def test_bit_functions_and_fma():
    @cuda.jit
    def k(u, s, out, f):
        i = cuda.grid(1)
        out[i, 0] = cuda.popc(u[i])
        out[i, 1] = cuda.clz(u[i])
        out[i, 2] = cuda.ffs(u[i])
        out[i, 3] = cuda.brev(u[i])
        out[i, 4] = cuda.popc(s[i])
        out[i, 5] = cuda.clz(s[i])
        f[i] = cuda.fma(np.float32(i) + np.float32(0.1), np.float32(3.0), np.float32(-1.0))
    u = np.array([0, 1, 0x80000000, 0xF0F0, 12345678, 0xFFFFFFFF, 6, 1 << 20], np.uint32)
    s = np.array([0, -1, 1, 1 << 40, -(1 << 62), 7, 255, -12345], np.int64)
    out = np.zeros((8, 6), np.int64)
    f = np.zeros(8, np.float32)
    k[1, 8](u, s, out, f)
    for i in range(8):
        x, y = int(u[i]), int(s[i]) & (2 ** 64 - 1)
        assert out[i, 0] == bin(x).count("1")
        assert out[i, 1] == 32 - x.bit_length()
        assert out[i, 2] == ((x & -x).bit_length() if x else 0)
        assert out[i, 3] == int(f"{x:032b}"[::-1], 2)
        assert out[i, 4] == bin(y).count("1") and out[i, 5] == 64 - y.bit_length()
    expect = [np.float32(math.fsum([float(np.float32(i) + np.float32(0.1)) * 3.0, -1.0])) for i in range(8)]
    assert f.tolist() == [float(e) for e in expect]


def test_more_atomics():
    @cuda.jit
    def k(ints, u, fl):
        i = cuda.grid(1)
        cuda.atomic.sub(ints, 0, 1)
        cuda.atomic.and_(ints, 1, ~(1 << (i % 8)))
        cuda.atomic.or_(ints, 2, 1 << (i % 16))
        cuda.atomic.xor(ints, 3, 1)
        cuda.atomic.exch(ints, 4, 7)
        cuda.atomic.cas(ints, 5, 0, i + 1)
        cuda.atomic.inc(u, 0, 9)
        cuda.atomic.dec(u, 1, 100)
        cuda.atomic.sub(fl, 0, 0.25)
        cuda.atomic.min(fl, 1, -i * 0.5)
    ints = np.array([100, -1, 0, 0, 0, 0], np.int64)
    u = np.array([0, 5], np.uint32)
    fl = np.array([10.0, 0.0], np.float64)
    k[1, 64](ints, u, fl)
    assert ints[:5].tolist() == [36, ~0xFF, 0xFFFF, 0, 7]
    assert 1 <= ints[5] <= 64
    assert u.tolist() == [64 % 10, (5 - 64) % 101]      # CUDA atomicInc/atomicDec wrap-around
    assert fl.tolist() == [10.0 - 16.0, -31.5]


def test_fences_syncwarp_and_grid_sync():
    @cuda.jit
    def k(a, out):
        i = cuda.grid(1)
        a[i] = i
        cuda.threadfence()
        cuda.threadfence_block()
        cuda.threadfence_system()
        cuda.syncwarp()
        g = cuda.cg.this_grid()
        g.sync()
        out[i] = a[(i + 32) % a.size]
    a = np.zeros(128, np.int64)
    out = np.zeros(128, np.int64)
    k[4, 32](a, out)
    assert out.tolist() == [(i + 32) % 128 for i in range(128)]


def test_shuffles_of_64_bit_values_and_votes():
    @cuda.jit
    def k(x, out, flags):
        i = cuda.grid(1)
        v = x[i]
        out[i, 0] = cuda.shfl_sync(0xFFFFFFFF, v, 31 - cuda.laneid)
        out[i, 1] = cuda.shfl_down_sync(0xFFFFFFFF, v * 2.0, 1)
        flags[i, 0] = cuda.all_sync(0xFFFFFFFF, v > 0)
        flags[i, 1] = cuda.any_sync(cuda.activemask(), v > 1e10)
        if cuda.laneid < 10:
            flags[i, 2] = cuda.activemask()
    x = np.arange(1, 33, dtype=np.float64) * 1e9
    out = np.zeros((32, 2))
    flags = np.zeros((32, 3), np.int64)
    k[1, 32](x, out, flags)
    assert out[:, 0].tolist() == x[::-1].tolist()
    assert out[:31, 1].tolist() == (x[1:] * 2).tolist() and out[31, 1] == x[31] * 2
    assert flags[:, 0].tolist() == [1] * 32 and flags[:, 1].tolist() == [1] * 32
    assert flags[:10, 2].tolist() == [0x3FF] * 10


def test_math_functions_and_conversions():
    @cuda.jit
    def k(x, out, ints):
        i = cuda.grid(1)
        v = x[i]
        out[i, 0] = math.sqrt(abs(v))
        out[i, 1] = math.floor(v)
        out[i, 2] = math.ceil(v)
        out[i, 3] = math.trunc(v)
        out[i, 4] = math.copysign(2.0, v)
        out[i, 5] = math.fabs(v)
        out[i, 6] = math.isnan(v) + 2 * math.isinf(v)
        out[i, 7] = math.pi * 0 + math.fmod(v, 1.5)
        ints[i, 0] = int(v)
        ints[i, 1] = np.int8(int(v * 40))
        ints[i, 2] = np.uint16(-1)
        ints[i, 3] = bool(v) + True
        ints[i, 4] = -7 >> 1
        ints[i, 5] = (1 << 62) * 4
    x = np.array([2.75, -2.75, 0.0, -0.0, 9.5, -1e-3, 1e9, 3.0])
    out = np.zeros((8, 8))
    ints = np.zeros((8, 6), np.int64)
    k[1, 8](x, out, ints)
    for i, v in enumerate(x.tolist()):
        assert out[i, :6].tolist() == [math.sqrt(abs(v)), math.floor(v), math.ceil(v), math.trunc(v),
                                       math.copysign(2.0, v), abs(v)]
        assert out[i, 6] == 0 and out[i, 7] == math.fmod(v, 1.5)
        assert ints[i].tolist() == [int(v), np.int64(int(v * 40)).astype(np.int8), 65535, bool(v) + 1, -4, 0]
