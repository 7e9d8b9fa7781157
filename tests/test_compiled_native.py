"""The compiled executor's code generation shortcuts give the interpreter's bytes, faults and counters:
%tid in blocks of any shape, signed division by constants, registers written without a select
(segment-local) and read by a shuffle from an inactive lane, predicates kept across a barrier, and
the undo log of whole-warp stores restoring memory before a fault."""
from __future__ import annotations

import numpy as np

import vgpu.sim
from vgpu.isa import assemble
from vgpu.pipeline import compile_source
from vgpu.sim import DeviceError, compiled
from vgpu.sim.compiled import runtime as crt
from vgpu.sim.compiled.layout import GLOBAL_BASE
from vgpu.sim.launch import encode_params
from vgpu.sim.compiled.undo import RECORD_WORDS, undo

SRC = r"""
__global__ void tids(int *out) {
    int t = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    out[blockIdx.x * blockDim.x * blockDim.y * blockDim.z + t] = threadIdx.x | threadIdx.y << 8 | threadIdx.z << 16;
}
__global__ void divs(const int *a, const long long *b, long long *q) {
    int i = threadIdx.x;
    int x = a[i];
    long long y = b[i];
    q[10 * i] = x / 2; q[10 * i + 1] = x % 2; q[10 * i + 2] = x / -7; q[10 * i + 3] = x % -7;
    q[10 * i + 4] = x / 8; q[10 * i + 5] = x % 3;
    q[10 * i + 6] = y / 2; q[10 * i + 7] = y % 2; q[10 * i + 8] = y / -3; q[10 * i + 9] = y % 1000;
}
__global__ void predbar(const int *in, int *out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    bool p = in[t] > 5;
    bool q = in[t] < 100;
    s[t] = in[t];
    __syncthreads();
    out[t] = p ? s[63 - t] : (q ? -s[t] : 7);
}
__global__ void tile(const float *in, float *out) {
    __shared__ float s[512];
    int t = threadIdx.x;
    s[t] = in[t];
    s[t + 256] = in[t + 256];
    __syncthreads();
    float a = s[(t / 16) * 16];
    float b = s[t % 16 + 32 * (t / 32)];
    float c = (t & 1) ? s[t * 2] : 0.5f;
    float d = s[(t * 7) % 32 + 480];
    out[t] = a + 2.0f * b + 4.0f * c + 8.0f * d;
}
__global__ void shared_fault(const int *in, int *out, int bad) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = in[t];
    __syncthreads();
    int k = t == 7 ? bad : t;
    out[t] = bad < 0 ? *(int *)((char *)s + t * 4 + 2) : s[k];
}
__global__ void late_fault(const int *in, int *out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[i] + 1;
    if (blockIdx.x == 1 && threadIdx.x == 5) out[i + n] = 3;
}
"""


# %r7 is written and read in one segment only (segment-local: written without a select), but a
# shuffle reads it from lanes 20-31, which are inactive: they must hold what they held before
SHFL = """.version 1.0
.target vgpu
.visible .entry shf(.param .u64 in, .param .u64 out)
{
.reg .pred %p<3>;
.reg .b32 %r<10>;
.reg .b64 %rd<6>;
ld.param.u64 %rd2, [out];
mov.u32 %r1, %tid.x;
mov.s32 %r5, -1;
mov.s32 %r7, 1000;
setp.lt.s32 %p1, %r1, 20;
@!%p1 bra $L1;
mul.lo.s32 %r7, %r1, 7;
add.s32 %r3, %r1, 25;
and.b32 %r3, %r3, 31;
shfl.sync.idx.b32 %r5, %r7, %r3, 31, 1048575;
$L1:
mul.wide.s32 %rd3, %r1, 4;
add.s64 %rd4, %rd2, %rd3;
st.global.s32 [%rd4], %r5;
ret;
}
"""


def _both(name, block, grid, arrays, out_bytes, extra=b""):
    """(bytes of the output, fault text, per-pc warp counts, per-pc thread counts) of the interpreter and
    of the compiled executor; asserts the compiled one ran natively or bailed out as asked."""
    prog = assemble(SHFL, "shf.vasm") if name == "shf" else compile_source(SRC, "native.vk")
    sm = crt._interp()
    got = []
    for run in (sm.run_blocks, compiled.run_blocks):
        dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
        mod = dev.load(prog)
        ptrs = []
        for arr in arrays:
            p = dev.malloc(max(arr.nbytes, 1))
            dev.write(p, arr)
            ptrs.append(p)
        out = dev.malloc(out_bytes)
        dev.write(out, np.full(out_bytes, 0xAB, np.uint8))
        nblocks = grid
        cfg = sm.LaunchConfig(grid=(grid, 1, 1), block=block, shared_dynamic=0,
                              params=np.array(ptrs + [out], np.uint64).tobytes() + extra)
        k = mod.kernel(name)
        res = sm.new_result(k)
        crt.COUNTS.clear()
        err = None
        try:
            run(k, cfg, np.arange(nblocks), dev.glob, dev.const, nblocks, res)
        except DeviceError as e:
            err = str(e)
        got.append((dev.read(out, out_bytes), err, list(res.op_warps), list(res.op_threads), dict(crt.COUNTS)))
    (bi, ei, wi, ti, _), (bc, ec, wc, tc, counts) = got
    assert bi == bc and ei == ec and wi == wc and ti == tc
    return bc, ec, counts


def test_tid_in_blocks_of_any_shape():
    for block in ((7, 5, 3), (16, 16, 1), (256, 1, 1), (3, 1, 33)):
        n = block[0] * block[1] * block[2]
        out, err, counts = _both("tids", block, 2, [], 2 * n * 4)
        assert err is None and counts.get("native") == 1
        got = np.frombuffer(out, np.int32)[:n]
        t = np.arange(n)
        want = (t % block[0]) | (t // block[0] % block[1]) << 8 | (t // (block[0] * block[1])) << 16
        assert np.array_equal(got, want), block


def test_signed_division_by_constants_is_c_division():
    a = np.array([0, 1, -1, 2, -2, 7, -7, 13, -13, 2**31 - 1, -2**31, 5, -5, 99, -99, 3] * 2, np.int32)
    b = np.array([0, 1, -1, 3, -3, 2**63 - 1, -2**63, 1001, -1001, 10**15, -10**15, 5, -5, 6, -6, 7] * 2, np.int64)
    out, err, counts = _both("divs", (32, 1, 1), 1, [a, b], 32 * 10 * 8)
    assert err is None and counts.get("native") == 1
    q = np.frombuffer(out, np.int64).reshape(32, 10)
    x = [int(v) for v in a]
    cdiv = lambda u, d: abs(u) // abs(d) * (1 if (u < 0) == (d < 0) else -1)      # noqa: E731  C's truncation
    for col, d in ((0, 2), (2, -7), (4, 8)):
        assert q[:, col].tolist() == [cdiv(u, d) for u in x]
    for col, d in ((1, 2), (3, -7), (5, 3)):
        assert q[:, col].tolist() == [u - cdiv(u, d) * d for u in x]
    y = [int(v) for v in b]
    assert q[:, 6].tolist() == [cdiv(u, 2) for u in y] and q[:, 8].tolist() == [cdiv(u, -3) for u in y]
    assert q[:, 9].tolist() == [u - cdiv(u, 1000) * 1000 for u in y]


def test_shuffle_reads_an_inactive_lane_as_the_interpreter():
    out, err, counts = _both("shf", (32, 1, 1), 1, [np.arange(32, dtype=np.int32) * 5], 32 * 4)
    assert err is None and counts.get("native") == 1
    got = np.frombuffer(out, np.int32)
    assert np.all(got[20:] == -1) and got[19] == 12 * 7 and got[0] == 1000    # lane 0 reads lane 25


def test_predicates_survive_a_barrier():
    vals = np.array([(i * 37) % 150 for i in range(64)], np.int32)
    out, err, counts = _both("predbar", (64, 1, 1), 1, [vals], 64 * 4)
    assert err is None and counts.get("native") == 1
    got = np.frombuffer(out, np.int32)
    want = np.where(vals > 5, vals[::-1], np.where(vals < 100, -vals, 7))
    assert np.array_equal(got, want)


def test_shared_loads_within_128_bytes_and_beyond():
    """Shared loads whose lanes span at most 128 bytes (permuted from two vector loads, up to the end
    of shared memory), more (a gather), and with half the lanes active."""
    x = (np.arange(512) * 0.25 - 7).astype(np.float32)
    out, err, counts = _both("tile", (256, 1, 1), 1, [x], 256 * 4)
    assert err is None and counts.get("native") == 1
    t = np.arange(256)
    c = np.where(t & 1, x[(t * 2) % 512], np.float32(0.5))
    want = x[(t // 16) * 16] + 2 * x[t % 16 + 32 * (t // 32)] + 4 * c + 8 * x[(t * 7) % 32 + 480]
    assert np.array_equal(np.frombuffer(out, np.float32), want.astype(np.float32))


def test_shared_faults_of_one_lane_as_the_interpreter():
    """One lane past the end of shared memory, and misaligned lanes: the interpreter's fault (the
    vector path checks the active lanes' span and alignment at once); an index in bounds runs."""
    x = np.arange(64, dtype=np.int32)
    for bad, faults in ((63, False), (64, True), (5000, True), (-1, True)):
        out, err, counts = _both("shared_fault", (64, 1, 1), 1, [x], 64 * 4, np.int32(bad).tobytes() + bytes(4))
        assert (err is not None) == faults, (bad, err)
        if not faults:
            assert np.frombuffer(out, np.int32)[7] == 63 and counts.get("native") == 1


def test_whole_warp_stores_are_undone_before_a_fault():
    n = 128
    out, err, counts = _both("late_fault", (64, 1, 1), 2, [np.arange(n, dtype=np.int32)], n * 4,
                             np.int32(n).tobytes() + bytes(4))
    assert err is not None and "out of bounds" in err      # the same bytes as the interpreter: undone


def test_undo_restores_mixed_sizes_and_overlaps_from_the_earliest_entry():
    arena = np.arange(64, dtype=np.uint8)
    before = arena.copy()
    log = []
    for off, size in ((8, 8), (10, 4), (8, 2), (40, 4), (12, 8), (41, 1)):   # each entry: the bytes then
        old = int.from_bytes(arena[off:off + size].tobytes(), "little", signed=size == 8)
        log.append((GLOBAL_BASE + off, size, old))
        arena[off:off + size] = 0xEE
    undo(arena, np.array(log, np.int64).reshape(-1, 3), np.zeros((0, RECORD_WORDS), np.int64))
    assert np.array_equal(arena, before)


def test_undo_orders_whole_warp_records_among_single_entries():
    """Records (128 old bytes of a whole-warp store) and single-store entries interleave in time: each
    byte comes back from the earliest item, whichever log holds it; with an atomic's inverse logged,
    every item is taken back latest first."""
    rng = np.random.default_rng(9)
    for inverse in (False, True):
        arena = rng.integers(0, 256, 512, dtype=np.uint8)
        before = arena.copy()
        entries, records = [], []
        for step in range(40):
            if step % 3 == 0:                               # a whole-warp store of 128 bytes
                off = int(rng.integers(0, 3)) * 128 + int(rng.integers(0, 2)) * 64
                records.append([GLOBAL_BASE + off, len(entries)] +
                               np.frombuffer(arena[off:off + 128].tobytes(), np.int64).tolist())
                arena[off:off + 128] = rng.integers(0, 256, 128, dtype=np.uint8)
            elif inverse and step % 7 == 1:                 # an atomic add of x, logged as its inverse
                off, x = int(rng.integers(0, 128)) * 4, int(rng.integers(0, 1 << 32))
                cur = int.from_bytes(arena[off:off + 4].tobytes(), "little")
                entries.append([GLOBAL_BASE + off, 4 + 256 * 1, x])
                arena[off:off + 4] = np.frombuffer(((cur + x) & 0xFFFFFFFF).to_bytes(4, "little"), np.uint8)
            else:
                size = int(rng.choice([1, 2, 4, 8]))
                off = int(rng.integers(0, 512 // size)) * size
                old = int.from_bytes(arena[off:off + size].tobytes(), "little", signed=size == 8)
                entries.append([GLOBAL_BASE + off, size, old])
                arena[off:off + size] = rng.integers(0, 256, size, dtype=np.uint8)
        undo(arena, np.array(entries, np.int64).reshape(-1, 3), np.array(records, np.int64).reshape(-1, RECORD_WORDS))
        assert np.array_equal(arena, before), inverse


def test_alternating_kernels_keep_their_native_buffers():
    """Launch settings are kept for the last few launches (runtime.RECENT), so kernels (or devices)
    that take turns reuse their buffers instead of rebuilding them (and refaulting the undo log)."""
    src = compile_source(r"""
__global__ void inc(int *d) { d[blockIdx.x * blockDim.x + threadIdx.x] += 1; }
__global__ void dbl(int *d) { d[blockIdx.x * blockDim.x + threadIdx.x] *= 2; }""", "alt.vk")
    dev = vgpu.sim.SimDevice(echo_printf=False, workers=0, executor="compiled")
    try:
        mod = dev.load(src)
        p = dev.malloc(4 * 256 * 4)
        dev.write(p, np.ones(256 * 4, np.int32))
        seen = {}
        for name in ("inc", "dbl", "inc", "dbl", "inc"):
            dev.launch(mod, name, encode_params(name, mod.kernel(name).code.params, [p]), grid=4, block=256)
            seen.setdefault(name, set()).add(id(crt._last[0]))
        assert len(seen["inc"]) == len(seen["dbl"]) == 1 and seen["inc"] != seen["dbl"]
        assert np.array_equal(np.frombuffer(dev.read(p, 16), np.int32), [((1 + 1) * 2 + 1) * 2 + 1] * 4)
    finally:
        dev.close()
