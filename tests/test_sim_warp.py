"""Simulator: atomics (conflicts, old values, lane order), shuffles, votes, bar.red, memories."""
from __future__ import annotations

import numpy as np
import pytest

from sim_helpers import STORE_R2, entry, get, load, params, put
from vgpu.sim import WarpSyncError


def atom_kernel(body: str, decls: str = "") -> str:
    """%r3 = global thread id + 1; %rd1 = x; body leaves the result in %r2 (stored to out)."""
    return entry("k", ".param .u64 x, .param .u64 out", """
    ld.param.u64 %rd1, [x];
    mov.u32 %r1, %tid.x;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %ctaid.x;
    mad.lo.u32 %r3, %r4, %r5, %r1;
    add.u32 %r3, %r3, 1;
""" + body + STORE_R2 + "    ret;", decls=decls)


def run_atom(body, init, n=64, block=64, dtype=np.uint32, decls=""):
    dev, mod = load(atom_kernel(body, decls))
    x = put(dev, np.array(init, dtype))
    out = put(dev, np.zeros(n, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [x, out]), grid=n // block, block=block)
    return get(dev, x, dtype, len(np.atleast_1d(init))), get(dev, out, np.uint32, n)


def test_atomic_add_conflicts_return_prefix_sums_in_lane_order():
    final, old = run_atom("    atom.global.add.u32 %r2, [%rd1], %r3;\n", [5], n=256, block=64)
    v = np.arange(1, 257)
    assert final[0] == 5 + v.sum()
    assert np.array_equal(old, 5 + np.cumsum(v) - v)


def test_atomic_add_distinct_addresses():
    body = """    mul.wide.u32 %rd2, %r1, 4;
    add.u64 %rd2, %rd1, %rd2;
    atom.global.add.u32 %r2, [%rd2], %r3;
"""
    final, old = run_atom(body, np.arange(64) * 100, n=128, block=64)
    t = np.arange(64)
    assert np.array_equal(final, t * 100 + (t + 1) + (t + 65))
    assert np.array_equal(old[:64], t * 100) and np.array_equal(old[64:], t * 100 + t + 1)


def test_atomic_cas_first_lane_wins():
    final, old = run_atom("    atom.global.cas.b32 %r2, [%rd1], 0, %r3;\n", [0])
    assert final[0] == 1 and old[0] == 0 and (old[1:] == 1).all()


def test_atomic_exch_chain():
    final, old = run_atom("    atom.global.exch.b32 %r2, [%rd1], %r3;\n", [99])
    assert final[0] == 64 and old[0] == 99 and np.array_equal(old[1:], np.arange(1, 64))


def test_atomic_min_max_and_bits():
    vals = (np.arange(1, 65) * 37) % 101                      # not monotonic
    body = """    mul.lo.u32 %r6, %r3, 37;
    rem.u32 %r6, %r6, 101;
    atom.global.{op}.{t} %r2, [%rd1], %r6;
"""
    for op, t, init, f in (("min", "u32", 1000, np.minimum), ("max", "s32", 0, np.maximum),
                           ("or", "b32", 0, np.bitwise_or), ("xor", "b32", 7, np.bitwise_xor),
                           ("and", "b32", 0xFFFF, np.bitwise_and)):
        final, old = run_atom(body.format(op=op, t=t), [init])
        acc = f.accumulate(np.r_[init, vals])
        assert final[0] == acc[-1], op
        assert np.array_equal(old, acc[:-1]), op


def test_atomic_inc_dec_wrap():
    final, old = run_atom("    atom.global.inc.u32 %r2, [%rd1], 5;\n", [0])
    assert np.array_equal(old, np.arange(64) % 6) and final[0] == 64 % 6
    final, old = run_atom("    atom.global.dec.u32 %r2, [%rd1], 5;\n", [2])
    seq = [2]
    for _ in range(64):
        o = seq[-1]
        seq.append(5 if o == 0 or o > 5 else o - 1)
    assert np.array_equal(old, seq[:-1]) and final[0] == seq[-1]


def test_atomic_float_add_is_sequential_in_lane_order():
    body = """    cvt.rn.f32.u32 %f1, %r3;
    mul.rn.f32 %f1, %f1, 0f3DCCCCCD;
    atom.global.add.f32 %f2, [%rd1], %f1;
    mov.b32 %r2, %f2;
"""
    final, old = run_atom(body, [0.5], dtype=np.float32)
    vals = np.arange(1, 65, dtype=np.float32) * np.float32(0.1)
    acc = np.add.accumulate(np.r_[np.float32(0.5), vals], dtype=np.float32)
    assert final[0] == acc[-1]
    assert np.array_equal(old.view(np.float32), acc[:-1])


def test_atomic_64bit_and_shared_histogram():
    final, old = run_atom("""    cvt.u64.u32 %rd5, %r3;
    shl.b64 %rd5, %rd5, 33;
    atom.global.add.u64 %rd6, [%rd1], %rd5;
    shr.u64 %rd6, %rd6, 33;
    cvt.u32.u64 %r2, %rd6;
""", [0], dtype=np.uint64)
    assert final[0] == (np.arange(1, 65, dtype=np.uint64) << np.uint64(33)).sum()
    body = """    and.b32 %r6, %r1, 3;
    mul.wide.u32 %rd7, %r6, 4;
    mov.u64 %rd8, hist;
    add.u64 %rd8, %rd8, %rd7;
    atom.shared.add.u32 %r2, [%rd8], 1;
    bar.sync 0;
    setp.ge.u32 %p1, %r1, 4;
    @%p1 bra $X;
    mul.wide.u32 %rd9, %r1, 4;
    add.u64 %rd10, %rd8, 0;
    mov.u64 %rd10, hist;
    add.u64 %rd10, %rd10, %rd9;
    ld.shared.u32 %r7, [%rd10];
    add.u64 %rd11, %rd1, %rd9;
    atom.global.add.u32 %r8, [%rd11], %r7;
$X:
"""
    final, old = run_atom(body, [0, 0, 0, 0], n=256, block=128, decls=".shared .align 4 .b8 hist[16];")
    assert np.array_equal(final, [64, 64, 64, 64])
    assert np.array_equal(old.reshape(2, 128), np.tile(np.arange(128) // 4, (2, 1)))


# -- shuffles and votes ---------------------------------------------------------------------------
def shfl_kernel(mode, b, c, mask="-1", guard=""):
    return entry("k", ".param .u64 out", f"""
    mov.u32 %r1, %laneid;
    mul.lo.u32 %r3, %r1, 10;
    mov.u32 %r2, 12345;
    {guard}
    shfl.sync.{mode}.b32 %r2, %r3, {b}, {c}, {mask};
$SKIP:
""" + STORE_R2 + "    ret;")


def shfl(mode, b, c, **kw):
    dev, mod = load(shfl_kernel(mode, b, c, **kw))
    out = put(dev, np.zeros(64, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [out]), grid=1, block=64)
    return get(dev, out, np.uint32, 64)[:32]


@pytest.mark.parametrize("width", [32, 16, 8, 4])
@pytest.mark.parametrize("delta", [1, 3])
def test_shuffles_match_cuda(width, delta):
    lane, v = np.arange(32), np.arange(32) * 10
    c_up, c_other = (32 - width) << 8, ((32 - width) << 8) | 31
    seg = lane % width
    down = np.where(seg + delta < width, v[np.minimum(lane + delta, 31)], v)
    assert np.array_equal(shfl("down", delta, c_other), down)
    assert np.array_equal(shfl("up", delta, c_up), np.where(seg >= delta, v[lane - delta], v))
    assert np.array_equal(shfl("bfly", delta, c_other), v[lane ^ delta] if delta < width else v)
    assert np.array_equal(shfl("idx", delta + 2, c_other), v[(lane // width) * width + (delta + 2) % width])
    # the source lane is taken modulo the width (only b's low 5 bits count): __shfl_sync(m, v, lane + 3, w)
    got = shfl("idx", "%r9", c_other, guard="add.u32 %r9, %r1, 3;")
    assert np.array_equal(got, v[(lane // width) * width + (lane + 3) % width])


def test_shuffle_partial_mask_and_mask_errors():
    guard = "setp.ge.u32 %p1, %r1, 16;\n    @%p1 bra $SKIP;"
    got = shfl("bfly", 1, 31, mask="0xffff", guard=guard)
    v = np.arange(32) * 10
    assert np.array_equal(got[:16], v[np.arange(16) ^ 1]) and (got[16:] == 12345).all()
    with pytest.raises(WarpSyncError) as e:                 # lanes 16..31 are named but went elsewhere
        shfl("bfly", 1, 31, mask="-1", guard=guard)
    assert "not converged" in str(e.value) and "lane 16" in str(e.value)
    with pytest.raises(WarpSyncError) as e:                 # a calling lane outside the mask
        shfl("bfly", 1, 31, mask="0xffff")
    assert "lane 16 of the warp is not in the member mask 0x0000ffff" in str(e.value)
    assert e.value.thread == (16, 0, 0)


def test_shuffle_waits_for_lanes_of_a_sibling_path():
    # Lanes 24..31 return early, so the first branch reconverges only at the exit and the two
    # paths reach the shfl separately: the first to arrive waits for the other (sibling) path.
    text = entry("k", ".param .u64 out", """
    mov.u32 %r1, %laneid;
    mov.u32 %r2, 777;
    and.b32 %r4, %r1, 1;
    setp.eq.u32 %p1, %r4, 0;
    mov.u32 %r3, %r1;
    @%p1 bra $EVEN;
    add.u32 %r3, %r3, 100;
    bra $SH;
$EVEN:
    add.u32 %r3, %r3, 200;
    setp.ge.u32 %p2, %r1, 24;
    @%p2 bra $OUT;
$SH:
    shfl.sync.bfly.b32 %r2, %r3, 2, 31, 0xaaffffff;
$OUT:
""" + STORE_R2 + "    ret;")
    dev, mod = load(text)
    out = put(dev, np.zeros(32, np.uint32))
    res = dev.launch(mod, "k", params(mod, "k", [out]), grid=1, block=32)
    lane = np.arange(32)
    v = lane + np.where(lane % 2 == 0, 200, 100)
    want = np.where((lane >= 24) & (lane % 2 == 0), 777, v[lane ^ 2])
    assert np.array_equal(get(dev, out, np.uint32, 32), want)
    assert res.op_counts["shfl.sync.bfly.b32"] == 1           # executed once, by the merged paths


@pytest.mark.parametrize("mode,want", [
    ("all", lambda p, m: np.all(p[m])), ("any", lambda p, m: np.any(p[m])),
    ("uni", lambda p, m: np.all(p[m]) or not np.any(p[m]))])
def test_votes(mode, want):
    for k, mask in ((3, 0xFFFFFFFF), (1, 0xFFFFFFFF), (40, 0xFFFFFFFF)):
        text = entry("k", ".param .u64 out", f"""
    mov.u32 %r1, %laneid;
    setp.ge.u32 %p1, %r1, {k};
    vote.sync.{mode}.pred %p2, %p1, {mask};
    selp.u32 %r2, 1, 0, %p2;
    vote.sync.ballot.b32 %r5, %p1, {mask};
""" + STORE_R2 + "    ret;")
        dev, mod = load(text)
        out = put(dev, np.zeros(32, np.uint32))
        dev.launch(mod, "k", params(mod, "k", [out]), grid=1, block=32)
        p = np.arange(32) >= k
        m = np.ones(32, bool)
        assert (get(dev, out, np.uint32, 32) == int(want(p, m))).all()


def test_ballot_activemask_and_lanemasks():
    text = entry("k", ".param .u64 out", """
    mov.u32 %r1, %laneid;
    setp.lt.u32 %p3, %r1, 20;
    @!%p3 bra $X;
    and.b32 %r4, %r1, 1;
    setp.eq.u32 %p1, %r4, 1;
    vote.sync.ballot.b32 %r5, %p1, 0xfffff;
    activemask.b32 %r6;
    mov.u32 %r7, %lanemask_lt;
    popc.b32 %r7, %r7;
    xor.b32 %r2, %r5, %r6;
    add.u32 %r2, %r2, %r7;
$X:
""" + STORE_R2 + "    ret;")
    dev, mod = load(text)
    out = put(dev, np.zeros(32, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [out]), grid=1, block=32)
    odd20 = sum(1 << i for i in range(1, 20, 2))
    lane = np.arange(20)
    assert np.array_equal(get(dev, out, np.uint32, 32)[:20], (odd20 ^ 0xFFFFF) + lane)


def test_bar_red_popc_and_or():
    text = entry("k", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p1, %r1, 50;
    bar.red.popc.u32 %r2, 0, %p1;
    bar.red.and.pred %p2, 0, %p1;
    bar.red.or.pred %p3, 0, %p1;
    selp.u32 %r8, 1000, 0, %p2;
    selp.u32 %r9, 100, 0, %p3;
    add.u32 %r2, %r2, %r8;
    add.u32 %r2, %r2, %r9;
""" + STORE_R2 + "    ret;")
    dev, mod = load(text)
    out = put(dev, np.zeros(192, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [out]), grid=2, block=96)
    assert (get(dev, out, np.uint32, 192) == 150).all()


# -- memories -------------------------------------------------------------------------------------
def test_local_const_and_generic_addressing():
    text = entry("k", ".param .u64 out, .param .u32 j", """
    .local .align 4 .b8 arr[32];
    mov.u32 %r1, %tid.x;
    mov.u64 %rd1, arr;
    mov.u32 %r4, 0;
$FILL:
    mul.lo.u32 %r5, %r4, %r1;
    mul.wide.u32 %rd2, %r4, 4;
    add.u64 %rd3, %rd1, %rd2;
    st.local.u32 [%rd3], %r5;
    add.u32 %r4, %r4, 1;
    setp.lt.u32 %p1, %r4, 8;
    @%p1 bra $FILL;
    ld.param.u32 %r6, [j];
    mul.wide.u32 %rd4, %r6, 4;
    add.u64 %rd4, %rd1, %rd4;
    ld.u32 %r2, [%rd4];
    ld.const.u32 %r7, [coef+4];
    add.u32 %r2, %r2, %r7;
    ld.global.u32 %r8, [counter];
    add.u32 %r2, %r2, %r8;
""" + STORE_R2 + "    ret;", decls=".const .align 4 .b8 coef[8] = {1, 0, 0, 0, 44, 1, 0, 0};\n"
                                ".global .align 4 .b8 counter[4] = {7, 0, 0, 0};")
    dev, mod = load(text)
    assert dev.read(mod.symbol_address("coef"), 8) == bytes([1, 0, 0, 0, 44, 1, 0, 0])
    assert mod.symbol_size("counter") == 4
    out = put(dev, np.zeros(64, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [out, 5]), grid=1, block=64)
    assert np.array_equal(get(dev, out, np.uint32, 64), 5 * np.arange(64) + 300 + 7)


def test_special_registers_3d():
    text = entry("k", ".param .u64 out", """
    mov.u32 %r10, %tid.x;
    mov.u32 %r11, %tid.y;
    mov.u32 %r12, %tid.z;
    mov.u32 %r13, %ctaid.x;
    mov.u32 %r14, %ctaid.y;
    mov.u32 %r15, %ctaid.z;
    mov.u32 %r16, %smid;
    mov.u32 %r17, %nctaid.y;
    // linear thread id in the grid -> value packing the coordinates
    mov.u32 %r20, %ntid.x;
    mov.u32 %r21, %ntid.y;
    mad.lo.u32 %r22, %r12, %r21, %r11;
    mad.lo.u32 %r22, %r22, %r20, %r10;
    mov.u32 %r23, %nctaid.x;
    mad.lo.u32 %r24, %r15, %r17, %r14;
    mad.lo.u32 %r24, %r24, %r23, %r13;
    mul.lo.u32 %r25, %r20, %r21;
    mov.u32 %r26, %ntid.z;
    mul.lo.u32 %r25, %r25, %r26;
    mad.lo.u32 %r27, %r24, %r25, %r22;
    shl.b32 %r2, %r24, 16;
    shl.b32 %r16, %r16, 12;
    or.b32 %r2, %r2, %r16;
    or.b32 %r2, %r2, %r22;
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r27, 4;
    add.u64 %rd1, %rd1, %rd2;
    st.global.u32 [%rd1], %r2;
    ret;
""")
    dev, mod = load(text, num_sms=3)
    grid, block = (3, 2, 2), (5, 3, 2)
    out = put(dev, np.zeros(12 * 30, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [out]), grid=grid, block=block)
    got = get(dev, out, np.uint32, 360).reshape(12, 30)
    b, t = np.arange(12)[:, None], np.arange(30)[None, :]
    assert np.array_equal(got, (b << 16) | ((b % 3) << 12) | t)


GRID_SYNC = entry("k", ".param .u64 x, .param .u64 out", """
    ld.param.u64 %rd1, [x];
    mov.u32 %r1, %tid.x;
    mov.u32 %r5, %ctaid.x;
    mov.u32 %r6, %nctaid.x;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra $W;
    mul.wide.u32 %rd2, %r5, 4;
    add.u64 %rd2, %rd1, %rd2;
    add.u32 %r7, %r5, 100;
    st.global.u32 [%rd2], %r7;
$W:
    grid.sync;
    add.u32 %r8, %r5, 1;
    rem.u32 %r8, %r8, %r6;
    mul.wide.u32 %rd3, %r8, 4;
    add.u64 %rd3, %rd1, %rd3;
    ld.global.u32 %r2, [%rd3];
""" + STORE_R2 + "    ret;")


def test_grid_sync_and_cooperative_limit():
    from vgpu.sim import InvalidLaunch
    dev, mod = load(GRID_SYNC, num_sms=2)
    x, out = put(dev, np.zeros(16, np.uint32)), put(dev, np.zeros(16 * 64, np.uint32))
    dev.launch(mod, "k", params(mod, "k", [x, out]), grid=16, block=64)
    want = np.tile((np.arange(16) + 1) % 16 + 100, (64, 1)).T
    assert np.array_equal(get(dev, out, np.uint32, 1024).reshape(16, 64), want)
    with pytest.raises(InvalidLaunch) as e:                       # 2 SMs x 8 blocks of 256 threads
        dev.launch(mod, "k", params(mod, "k", [x, out]), grid=17, block=256)
    assert "cooperative" in str(e.value)


def test_random_schedule_is_seeded_and_gives_the_same_race_free_result():
    from vgpu.sim import SimDevice
    body = "    atom.global.add.u32 %r2, [%rd1], %r3;\n"
    outs = []
    for seed in (1, 1, 2):
        dev, mod = load(atom_kernel(body), dev=SimDevice(schedule="random", seed=seed, echo_printf=False))
        x, out = put(dev, np.zeros(1, np.uint32)), put(dev, np.zeros(256, np.uint32))
        dev.launch(mod, "k", params(mod, "k", [x, out]), grid=4, block=64)
        assert get(dev, x, np.uint32, 1)[0] == 256 * 257 // 2
        outs.append(get(dev, out, np.uint32, 256))
    assert np.array_equal(outs[0], outs[1])                       # same seed: same interleaving
    assert sorted(outs[0]) == sorted(outs[2]) or not np.array_equal(outs[0], outs[2])


def test_red_and_generic_atomics_on_shared_memory():
    body = """    mov.u64 %rd4, cnt;
    red.shared.add.u32 [%rd4], %r3;
    atom.or.b32 %r9, [%rd4+4], %r3;
    bar.sync 0;
    ld.u32 %r2, [%rd4];
    ld.shared.u32 %r10, [%rd4+4];
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra $X;
    st.global.u32 [%rd1], %r10;
$X:
"""
    final, old = run_atom(body, [0], n=64, block=64, decls=".shared .align 4 .b8 cnt[8];")
    assert (old == 64 * 65 // 2).all()
    assert final[0] == np.bitwise_or.reduce(np.arange(1, 65))


@pytest.mark.parametrize("body,words", [
    ("    st.u32 [coef], %r1;\n", "store to constant memory"),
    ("    st.global.u32 [coef], %r1;\n", "0x3000000 is a const address, not a global one"),
    ("    mov.u64 %rd2, arr;\n    st.local.u32 [%rd2+16], %r1;\n", "local store of 4 bytes"),
    ("    mov.u64 %rd2, arr;\n    st.local.u32 [%rd2-4], %r1;\n", "0x1fffffc is a shared address, not a local one"),
])
def test_const_and_local_faults(body, words):
    from vgpu.sim import OutOfBounds
    text = entry("k", "", "    .local .align 4 .b8 arr[16];\n    mov.u32 %r1, %tid.x;\n" + body + "    ret;",
                 decls=".const .align 4 .b8 coef[8];")
    dev, mod = load(text)
    with pytest.raises(OutOfBounds) as e:
        dev.launch(mod, "k", params(mod, "k", []), grid=1, block=1)
    assert words in str(e.value)


def _sequential(op, mem, idx, b, c=None):
    mem, old = mem.copy(), np.empty(idx.size, mem.dtype)
    for k, i in enumerate(idx):
        o = mem[i]
        old[k] = o
        mem[i] = {"add": lambda: o + b[k], "min": lambda: min(o, b[k]), "max": lambda: max(o, b[k]),
                  "and": lambda: o & b[k], "or": lambda: o | b[k], "xor": lambda: o ^ b[k],
                  "exch": lambda: b[k], "cas": lambda: c[k] if o == b[k] else o,
                  "inc": lambda: 0 if o >= b[k] else o + 1,
                  "dec": lambda: b[k] if o == 0 or o > b[k] else o - 1}[op]()
    return mem, old


@pytest.mark.parametrize("op", ["add", "min", "max", "and", "or", "xor", "exch", "cas", "inc", "dec"])
@pytest.mark.parametrize("hot", [1, 3, 40])
def test_atomic_conflict_algorithm_matches_sequential_lane_order(op, hot):
    from vgpu.sim.atomics import atomic
    from vgpu.types import U32
    rng = np.random.default_rng(hot)
    idx = rng.integers(0, hot, 200)
    b = rng.integers(0, 9, 200).astype(np.uint32)
    c = rng.integers(0, 9, 200).astype(np.uint32)
    mem = rng.integers(0, 9, 64).astype(np.uint32)
    want_mem, want_old = _sequential(op, mem, idx, b, c)
    got = mem.copy()
    old = atomic(op, U32, got, idx, b, c)
    assert np.array_equal(old, want_old) and np.array_equal(got, want_mem)


@pytest.mark.parametrize("hot", [1, 150])
def test_float_atomic_add_sequential_and_flushes_subnormals(hot):
    from vgpu.sim.atomics import atomic
    from vgpu.types import F32
    rng = np.random.default_rng(0)
    idx = rng.integers(0, hot, 300)
    b = (rng.standard_normal(300) * 1e3).astype(np.float32)
    mem = np.zeros(160, np.float32)
    want_mem, want_old = _sequential("add", mem, idx, b)
    got = mem.copy()
    assert np.array_equal(atomic("add", F32, got, idx, b, None), want_old) and np.array_equal(got, want_mem)
    tiny = np.array([1e-40, -1e-41], np.float32)                  # subnormal inputs add nothing
    z = np.zeros(1, np.float32)
    atomic("add", F32, z, np.zeros(2, np.int64), tiny, None)
    assert z[0] == 0
