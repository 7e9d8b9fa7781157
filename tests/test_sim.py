"""Simulator: SIMT stack, barriers, faults, launches (kernels in hand-written assembly)."""
from __future__ import annotations

import numpy as np
import pytest

from sim_helpers import STORE_R2, entry, get, load, params, put
from vgpu.sim import (BarrierDeadlock, InvalidFree, InvalidLaunch, Misaligned, OutOfBounds, SimDevice, Trap,
                      UseAfterFree, Watchdog)
from vgpu.sim.config import MAX_STEPS
from vgpu.sim.simt import WarpStacks

VADD = entry("vadd", ".param .u64 a, .param .u64 b, .param .u64 c, .param .s32 n", """
    ld.param.u64 %rd1, [a];
    ld.param.u64 %rd2, [b];
    ld.param.u64 %rd3, [c];
    ld.param.s32 %r1, [n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r2, %r2, %r3, %r4;
    setp.ge.s32 %p1, %r2, %r1;
    @%p1 bra $L1;
    mad.wide.s32 %rd4, %r2, 4, %rd1;
    ld.global.f32 %f1, [%rd4];
    mad.wide.s32 %rd4, %r2, 4, %rd2;
    ld.global.f32 %f2, [%rd4];
    add.rn.f32 %f1, %f1, %f2;
    mad.wide.s32 %rd4, %r2, 4, %rd3;
    st.global.f32 [%rd4], %f1;
$L1:
    ret;
""")


def test_vector_add_partial_grid():
    n = 1000
    a, b = np.arange(n, dtype=np.float32), np.linspace(0, 1, n, dtype=np.float32)
    dev, mod = load(VADD)
    pa, pb, pc = put(dev, a), put(dev, b), put(dev, np.zeros(n, np.float32))
    res = dev.launch(mod, "vadd", params(mod, "vadd", [pa, pb, pc, n]), grid=(4,), block=(256,))
    assert np.array_equal(get(dev, pc, np.float32, n), a + b)
    assert res.stats["thread_instructions"] > 0 and res.stats["warp_instructions"] == sum(res.op_counts.values())
    assert res.op_counts["st.global.f32"] == -(-n // 32)       # only warps with a lane below n


def test_vector_add_is_deterministic_and_independent_of_sms():
    n = 5000
    a = np.random.default_rng(1).random(n, dtype=np.float32)
    outs = []
    for sms in (1, 4, 7):
        dev, mod = load(VADD, num_sms=sms)
        pa, pc = put(dev, a), put(dev, np.zeros(n, np.float32))
        dev.launch(mod, "vadd", params(mod, "vadd", [pa, pa, pc, n]), grid=(-(-n // 128),), block=(128,))
        outs.append(dev.read(pc, 4 * n))
    assert outs[0] == outs[1] == outs[2]


NESTED = entry("nested", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 0;
    and.b32 %r3, %r1, 1;
    setp.eq.u32 %p1, %r3, 0;
    @%p1 bra $EVEN;
    and.b32 %r4, %r1, 2;
    setp.eq.u32 %p2, %r4, 0;
    @%p2 bra $ODD_A;
    add.u32 %r2, %r2, 10;
    bra $ODD_END;
$ODD_A:
    add.u32 %r2, %r2, 20;
$ODD_END:
    add.u32 %r2, %r2, 100;
    bra $END;
$EVEN:
    setp.lt.u32 %p3, %r1, 8;
    @%p3 bra $END;
    add.u32 %r2, %r2, 1000;
$END:
""" + STORE_R2 + "    ret;")


def test_nested_divergence_reconverges():
    dev, mod = load(NESTED)
    out = put(dev, np.zeros(64, np.uint32))
    res = dev.launch(mod, "nested", params(mod, "nested", [out]), grid=1, block=64)
    t = np.arange(64)
    want = np.where(t % 2 == 1, np.where(t & 2, 110, 120), np.where(t < 8, 0, 1000))
    assert np.array_equal(get(dev, out, np.uint32, 64), want)
    assert res.op_counts["st.global.u32"] == 2          # one store per warp: all lanes reconverged
    assert res.stats["divergent_branches"] == 2 + 2 + 1           # even/odd in both warps, odd split twice, <8 in warp 0


LOOP = entry("loop", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 0;
    mov.u32 %r3, 0;
$LOOP:
    setp.gt.u32 %p1, %r3, %r1;
    @%p1 bra $DONE;
    add.u32 %r2, %r2, %r3;
    add.u32 %r3, %r3, 1;
    bra $LOOP;
$DONE:
""" + STORE_R2 + "    ret;")


def test_loop_with_divergent_exit():
    dev, mod = load(LOOP)
    out = put(dev, np.zeros(96, np.uint32))
    res = dev.launch(mod, "loop", params(mod, "loop", [out]), grid=1, block=96)
    t = np.arange(96)
    assert np.array_equal(get(dev, out, np.uint32, 96), t * (t + 1) // 2)
    assert res.op_counts["st.global.u32"] == 3
    # the loop body runs as often as the slowest lane of each warp needs
    assert res.op_counts["add.u32"] == 2 * (32 + 64 + 96)


EARLY = entry("early", ".param .u64 out, .param .u32 n", """
    mov.u32 %r1, %tid.x;
    ld.param.u32 %r10, [n];
    setp.ge.u32 %p1, %r1, %r10;
    @%p1 bra $RET;
    mov.u64 %rd2, buf;
    mul.wide.u32 %rd3, %r1, 4;
    add.u64 %rd4, %rd2, %rd3;
    mul.lo.u32 %r5, %r1, 3;
    st.shared.u32 [%rd4], %r5;
    bar.sync 0;
    sub.u32 %r6, %r10, 1;
    sub.u32 %r6, %r6, %r1;
    mul.wide.u32 %rd5, %r6, 4;
    add.u64 %rd6, %rd2, %rd5;
    ld.shared.u32 %r2, [%rd6];
""" + STORE_R2 + """
$RET:
    ret;
""", decls=".shared .align 4 .b8 buf[512];")


@pytest.mark.parametrize("n", [40, 64, 1, 33])
def test_early_return_before_barrier(n):
    dev, mod = load(EARLY)
    out = put(dev, np.full(128, 7, np.uint32))
    res = dev.launch(mod, "early", params(mod, "early", [out, n]), grid=2, block=64)
    got = get(dev, out, np.uint32, 128).reshape(2, 64)
    t = np.arange(n)
    for blk in range(2):
        assert np.array_equal(got[blk, :n], (n - 1 - t) * 3)
        assert (got[blk, n:] == 7).all()
    assert res.stats["barriers"] == 2


DIVERGENT_BARRIERS = entry("twobars", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    mov.u64 %rd2, buf;
    mul.wide.u32 %rd3, %r1, 4;
    add.u64 %rd4, %rd2, %rd3;
    st.shared.u32 [%rd4], %r1;
    and.b32 %r3, %r1, 1;
    setp.eq.u32 %p1, %r3, 0;
    @%p1 bra $EVEN;
    bar.sync 0;
    bra $JOIN;
$EVEN:
    bar.sync 0;
$JOIN:
    xor.b32 %r4, %r1, 1;
    mul.wide.u32 %rd5, %r4, 4;
    add.u64 %rd6, %rd2, %rd5;
    ld.shared.u32 %r2, [%rd6];
""" + STORE_R2 + "    ret;", decls=".shared .align 4 .b8 buf[256];")


def test_barriers_in_both_paths_count_threads():
    dev, mod = load(DIVERGENT_BARRIERS)
    out = put(dev, np.zeros(64, np.uint32))
    dev.launch(mod, "twobars", params(mod, "twobars", [out]), grid=1, block=64)
    assert np.array_equal(get(dev, out, np.uint32, 64), np.arange(64) ^ 1)


EXITING = entry("exiting", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    setp.ge.u32 %p1, %r1, 16;
    @%p1 bra $SKIP;
    bar.sync 0;
$SKIP:
    mov.u32 %r2, 1;
""" + STORE_R2 + "    ret;")


def test_barrier_counts_only_threads_that_have_not_exited():
    # As on Volta and later GPUs: the threads that skip the barrier exit, so it completes.
    dev, mod = load(EXITING)
    out = put(dev, np.zeros(64, np.uint32))
    res = dev.launch(mod, "exiting", params(mod, "exiting", [out]), grid=1, block=64)
    assert (get(dev, out, np.uint32, 64) == 1).all() and res.stats["barriers"] == 1


DEADLOCK = entry("deadlock", ".param .u64 out", """
    mov.u32 %r1, %tid.x;
    setp.ge.u32 %p1, %r1, 16;
    @%p1 bra $B;
    // k.vk:3  __syncwarp();
    bar.warp.sync -1;
    bra $END;
$B:
    // k.vk:5  __syncthreads();
    bar.sync 0;
$END:
    mov.u32 %r2, 1;
""" + STORE_R2 + "    ret;")


def test_barrier_deadlock_is_detected():
    dev, mod = load(DEADLOCK)
    out = put(dev, np.zeros(32, np.uint32))
    with pytest.raises(BarrierDeadlock) as e:
        dev.launch(mod, "deadlock", params(mod, "deadlock", [out]), grid=1, block=32)
    msg = str(e.value)
    assert "reached by 16 of the block's 32 live threads" in msg and "'deadlock'" in msg and "k.vk:5" in msg
    assert "thread (0,0,0) can never arrive: it waits at line 3 (bar.warp.sync" in msg


def test_infinite_loop_hits_the_watchdog():
    text = entry("spin", "", "$L:\n    bra $L;")
    dev, mod = load(text, max_instructions=10_000)
    with pytest.raises(Watchdog) as e:
        dev.launch(mod, "spin", params(mod, "spin", []), grid=2, block=64)
    assert "budget" in str(e.value) and "'spin'" in str(e.value)


DEADLOCK_BESIDE_A_SPIN = entry("deadlock", ".param .u64 out", """
    mov.u32 %r3, %ctaid.x;
    setp.ne.u32 %p3, %r3, 0;
    @%p3 bra $SPIN;
    mov.u32 %r1, %tid.x;
    setp.ge.u32 %p1, %r1, 16;
    @%p1 bra $B;
    // k.vk:3  __syncwarp();
    bar.warp.sync -1;
    bra $END;
$B:
    // k.vk:5  __syncthreads();
    bar.sync 0;
$END:
    ret;
$SPIN:
    bra $SPIN;""")


def test_barrier_deadlock_of_one_block_is_detected_while_another_block_spins():
    """Block 0 can never pass its barrier; block 1 spins forever: the deadlock is reported when
    block 0 stops moving, not when the watchdog stops block 1."""
    dev, mod = load(DEADLOCK_BESIDE_A_SPIN, max_steps=10 ** 12, max_instructions=10 ** 15)
    with pytest.raises(BarrierDeadlock) as e:
        dev.launch(mod, "deadlock", params(mod, "deadlock", [put(dev, np.zeros(64, np.uint32))]), grid=2, block=32)
    msg = str(e.value)
    assert "reached by 16 of the block's 32 live threads" in msg and "block (0,0,0)" in msg
    assert "thread (0,0,0) can never arrive: it waits at line 3 (bar.warp.sync" in msg


def test_default_watchdog_stops_a_warp_spinning_while_the_block_waits_and_names_the_options():
    """One thread spins on a value nobody writes while the rest of its block waits at a barrier: the
    default budget (config.MAX_STEPS) stops it within seconds and says how to allow a longer kernel."""
    text = entry("spin", ".param .u64 p", """
    ld.param.u64 %rd1, [p];
    mov.u32 %r1, %tid.x;
    setp.ne.u32 %p1, %r1, 0;
    @%p1 bra $WAIT;
$SPIN:
    ld.volatile.global.u32 %r2, [%rd1];
    setp.eq.u32 %p2, %r2, 0;
    @%p2 bra $SPIN;
$WAIT:
    bar.sync 0;
    ret;""")
    dev, mod = load(text)
    p = dev.malloc(4)
    with pytest.raises(Watchdog) as e:
        dev.launch(mod, "spin", params(mod, "spin", [p]), grid=1, block=64)
    msg = str(e.value)
    assert f"{MAX_STEPS:,} scheduler steps" in msg and "thread (0,0,0)" in msg
    assert "vgpu.Device(max_steps=...)" in msg and "vgpuc run --max-steps N" in msg


# -- faults ---------------------------------------------------------------------------------------
LOADER = entry("loader", ".param .u64 p, .param .s64 off", """
    ld.param.u64 %rd1, [p];
    ld.param.s64 %rd2, [off];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 4;
    add.u64 %rd1, %rd1, %rd3;
    add.u64 %rd1, %rd1, %rd2;
    // k.vk:7  x = p[i + off];
    ld.f32 %f1, [%rd1];
    ret;
""")


def _fault(off, nbytes=1024, free=False, block=32):
    dev, mod = load(LOADER)
    p = dev.malloc(nbytes)
    if free:
        dev.free(p)
    with pytest.raises(Exception) as e:
        dev.launch(mod, "loader", params(mod, "loader", [p, off]), grid=1, block=block)
    return p, e.value


def test_out_of_bounds_names_allocation_line_and_thread():
    p, err = _fault(4 * 224, block=64)              # thread 32 reads p[256]: the first byte past the end
    assert isinstance(err, OutOfBounds)
    s = str(err)
    assert f"{p + 1024:#x} is 0 bytes past the end of a 1024-byte allocation at {p:#x}" in s
    assert "k.vk:7" in s and "x = p[i + off];" in s and "thread (32,0,0)" in s and "block (0,0,0)" in s
    assert "global load of 4 bytes" in s and err.address == p + 1024 and err.size == 4


def test_misaligned_load():
    _, err = _fault(2)
    assert isinstance(err, Misaligned) and "not a multiple of 4" in str(err) and err.thread == (0, 0, 0)


def test_use_after_free():
    _, err = _fault(0, free=True)
    assert isinstance(err, UseAfterFree) and "was freed" in str(err)


def test_null_pointer():
    dev, mod = load(LOADER)
    with pytest.raises(OutOfBounds) as e:
        dev.launch(mod, "loader", params(mod, "loader", [0, 0]), grid=1, block=32)
    assert "null pointer" in str(e.value)


SHARED_OOB = entry("soob", ".param .u32 i", """
    ld.param.u32 %r1, [i];
    mov.u64 %rd1, tile;
    mul.wide.u32 %rd2, %r1, 4;
    add.u64 %rd1, %rd1, %rd2;
    st.shared.f32 [%rd1], %f1;
    ret;
""", decls=".shared .align 4 .b8 tile[64];")


def test_shared_out_of_bounds_and_dynamic_size():
    dev, mod = load(SHARED_OOB)
    dev.launch(mod, "soob", params(mod, "soob", [15]), grid=1, block=32)
    with pytest.raises(OutOfBounds) as e:
        dev.launch(mod, "soob", params(mod, "soob", [16]), grid=1, block=32)
    assert "shared store" in str(e.value) and "(64 bytes)" in str(e.value)
    dev.launch(mod, "soob", params(mod, "soob", [16]), grid=1, block=32, shared=4)    # dynamic shared memory extends the window


def test_trap_and_invalid_launches():
    dev, mod = load(entry("t", ".param .u32 x", "    trap;"))
    with pytest.raises(Trap):
        dev.launch(mod, "t", params(mod, "t", [1]), grid=1, block=1)
    for kw, words in ((dict(block=1025), "1024"), (dict(block=(1, 1, 65)), "dimension z"),
                      (dict(grid=0), "dimension x"), (dict(shared=48 * 1024 + 1), "shared memory")):
        with pytest.raises(InvalidLaunch) as e:
            dev.launch(mod, "t", params(mod, "t", [1]), **{"grid": 1, "block": 1, **kw})
        assert words in str(e.value)
    with pytest.raises(InvalidLaunch) as e:
        dev.launch(mod, "t", params(mod, "t", []), grid=1, block=1)
    assert "takes 1 arguments (x), got 0" in str(e.value)
    with pytest.raises(InvalidLaunch) as e:
        dev.launch(mod, "nope", params(mod, "nope", []), grid=1, block=1)
    assert "kernels in this program: t" in str(e.value)


def test_allocator():
    dev = SimDevice(global_bytes=1 << 16)
    a, b = dev.malloc(10), dev.malloc(300)
    assert a % 256 == 0 and b % 256 == 0 and b >= a + 256
    dev.write(b, bytes(range(200)))
    assert dev.read(b + 10, 3) == bytes([10, 11, 12])
    with pytest.raises(OutOfBounds):
        dev.read(a, 11)
    dev.free(a)
    with pytest.raises(InvalidFree):
        dev.free(a)
    with pytest.raises(UseAfterFree):
        dev.read(a, 4)


# -- the SIMT stack itself ------------------------------------------------------------------------
def test_warp_stack_operations():
    st = WarpStacks(2)
    st.reset(np.array([0xFFFFFFFF, 0x0000FFFF], np.uint32))
    g = np.arange(2)
    st.pc[:] = 5
    ndiv = st.branch(g, np.array([0x0000FFFF, 0x0000FFFF], np.uint32), target=9, fallthrough=6, r=12)
    assert ndiv == 1                                 # warp 1's lanes all jump
    assert st.entries(0) == [(6, 12, 0xFFFF0000, False), (9, 12, 0x0000FFFF, False), (12, -1, 0xFFFFFFFF, False)]
    assert st.pc[1] == 9 and st.depth[1] == 0
    st.pc[0] = 12                                    # fall-through path reaches the reconvergence pc
    st.settle()
    assert st.entries(0)[0] == (9, 12, 0x0000FFFF, False)
    st.exit_lanes(np.array([0]), np.array([0x0000FFFF], np.uint32))   # the taken path exits
    assert st.entries(0) == [(12, -1, 0xFFFF0000, False)]
    assert "reconverge" in st.describe(0) or "pc" in st.describe(0)
    st.check()


def test_hand_built_program_and_unsupported_instruction():
    from vgpu.isa.program import Imm, Instr, KernelCode, Mem, ParamInfo, Program, Reg, SReg, Sym, layout_params
    from vgpu.sim import Unsupported
    from vgpu.types import U64
    k = KernelCode("fill", layout_params([ParamInfo("out", U64, is_pointer=True)]), instrs=[
        Instr("ld", ("param",), ("u64",), [Reg("%rd1"), Mem(Sym("out"))]),
        Instr("mov", (), ("u32",), [Reg("%r1"), SReg("%tid.x")]),
        Instr("mul", ("wide",), ("u32",), [Reg("%rd2"), Reg("%r1"), Imm(4)]),
        Instr("add", (), ("u64",), [Reg("%rd1"), Reg("%rd1"), Reg("%rd2")]),
        Instr("st", ("global",), ("u32",), [Mem(Reg("%rd1")), Reg("%r1")]),
        Instr("ret", (), (), [])])
    dev = SimDevice(echo_printf=False)
    mod = dev.load(Program({"fill": k}, filename="hand.vasm"))
    out = put(dev, np.zeros(40, np.uint32))
    dev.launch(mod, "fill", params(mod, "fill", [out]), grid=1, block=40)
    assert np.array_equal(get(dev, out, np.uint32, 40), np.arange(40))
    k.instrs.insert(0, Instr("frobnicate", (), ("u32",), [Reg("%r1")], line=3))
    with pytest.raises(Unsupported) as e:
        bad = dev.load(Program({"fill": k}, filename="hand.vasm"))
        dev.launch(bad, "fill", params(bad, "fill", [out]), grid=1, block=1)
    assert "frobnicate" in str(e.value) and "'fill'" in str(e.value)


# -- launch-time resource checks (CUDA: "too many resources requested for launch") -----------------
def _resources(regs: str = "", local: str = "") -> str:
    return f"""
.visible .entry big()
{{
    .reg .b32 %r<{regs or 4}>;
    {local}
    mov.u32 %r1, 1;
    ret;
}}
"""


@pytest.mark.parametrize("text, block, words", [
    (_resources(regs="100000003"), 32, "kernel 'big' uses 100,000,003 registers per thread, more than the 255"),
    (_resources(regs="200"), 512, "kernel 'big' uses 200 registers per thread; a block of 512 threads needs more "
                                  "than the 65,536 registers"),
    (_resources(local=".local .align 4 .b8 l[1073741824];"), 32,
     "kernel 'big' needs 1,073,741,824 bytes of local memory per thread, more than the limit of 524,288"),
])
def test_launch_beyond_a_resource_limit_is_a_clear_invalid_launch(text, block, words):
    dev, mod = load(text)
    with pytest.raises(InvalidLaunch) as e:
        dev.launch(mod, "big", params(mod, "big", []), grid=1, block=block)
    assert "too many resources requested for launch" in str(e.value) and words in str(e.value)


def test_launch_within_the_register_limit_runs():
    dev, mod = load(_resources(regs="200"))
    assert dev.launch(mod, "big", params(mod, "big", []), grid=1, block=256).stats["warp_instructions"] == 8 * 2        # mov, ret


def test_executor_selection_gives_the_same_bytes_and_counts(monkeypatch):
    """interp, compiled and auto leave the same memory and issue counts; compiled (and auto, for a big
    launch) really ran natively; a bad name is refused, also from $VGPU_EXECUTOR."""
    from vgpu.pipeline import compile_source
    src = "__global__ void sq(int *o, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; " \
          "if (i < n && (i & 3)) o[i] = i * i - 7; }"
    prog = compile_source(src, "sq.vk")
    n = 1 << 15
    from vgpu.sim.compiled import runtime as crt
    out = {}
    for executor in ("interp", "compiled", "auto"):
        dev = SimDevice(echo_printf=False, workers=0, executor=executor)
        mod = dev.load(prog)
        o = put(dev, np.full(n, 5, np.int32))
        before = crt.COUNTS.get("native", 0)
        res = dev.launch(mod, "sq", params(mod, "sq", [o, n - 3]), grid=n // 256, block=256)
        out[executor] = (get(dev, o, np.int32, n).tobytes(), res.op_counts, res.stats["thread_instructions"])
        assert (crt.COUNTS.get("native", 0) > before) == (executor != "interp")     # ran natively
    assert out["interp"] == out["compiled"] == out["auto"]
    i = np.arange(n)
    want = np.where((i < n - 3) & (i & 3 != 0), (i * i - 7).astype(np.int32), 5)
    assert np.frombuffer(out["interp"][0], np.int32).tolist() == want.tolist()
    with pytest.raises(ValueError, match="executor must be one of"):
        SimDevice(executor="fast")
    monkeypatch.setenv("VGPU_EXECUTOR", "fast")
    with pytest.raises(ValueError, match="VGPU_EXECUTOR must be one of"):
        SimDevice()


def test_auto_translates_a_kernel_once_its_interpreted_time_would_repay_it(monkeypatch):
    """'auto': a small launch of an untranslated kernel is interpreted and its time recorded; the
    launch whose recorded plus expected time reaches AUTO_PAYBACK_SECONDS is translated; a kernel
    the compiled executor declines (printf) stays interpreted; observed launches never go native."""
    from vgpu.pipeline import compile_source
    from vgpu.sim import compiled, launch as launch_mod
    src = "__global__ void tri(int *o) { int s = 0; for (int i = 0; i <= threadIdx.x; i++) s += i; o[threadIdx.x] = s; }\n" \
          "__global__ void say(int *o) { printf(\"%d\\n\", threadIdx.x); o[threadIdx.x] = 1; }"
    prog = compile_source(src, "tiers.vk")
    dev = SimDevice(echo_printf=False, workers=0, executor="auto")
    mod = dev.load(prog)
    o = put(dev, np.zeros(64, np.int32))
    monkeypatch.setattr(launch_mod, "AUTO_PAYBACK_SECONDS", 1e9)
    dev.launch(mod, "tri", params(mod, "tri", [o]), grid=1, block=64)
    k = mod.kernel("tri")
    assert k.interp_threads == 64 and k.interp_seconds > 0
    assert compiled.translated(prog, "tri") is None
    # the next launch is expected to take as long as the first: with the payback at 1.5 first
    # launches, the recorded time alone is short of it, the recorded plus the expected is not
    monkeypatch.setattr(launch_mod, "AUTO_PAYBACK_SECONDS", 1.5 * k.interp_seconds)
    res = dev.launch(mod, "tri", params(mod, "tri", [o]), grid=1, block=64)
    assert compiled.translated(prog, "tri") is True and k.interp_threads == 64
    assert get(dev, o, np.int32, 64).tolist() == [i * (i + 1) // 2 for i in range(64)]
    assert res.stats["warp_instructions"] > 0
    from vgpu.sim import Tracer
    dev.launch(mod, "tri", params(mod, "tri", [o]), grid=1, block=64, trace=Tracer())
    assert k.interp_threads == 64                  # observed: interpreted, and not counted
    monkeypatch.setattr(launch_mod, "AUTO_PAYBACK_SECONDS", 0.0)
    for _ in range(2):
        dev.launch(mod, "say", params(mod, "say", [o]), grid=1, block=2)
    assert compiled.translated(prog, "say") is False


def test_launch_takes_packed_parameter_bytes_only():
    dev, mod = load(entry("t", ".param .u32 x", "    ret;"))
    with pytest.raises(InvalidLaunch, match="packed .param bytes"):
        dev.launch(mod, "t", [1], grid=1, block=1)
    dev.launch(mod, "t", params(mod, "t", [1]), grid=1, block=1)


def test_auto_waits_longer_before_translating_a_long_kernel(monkeypatch):
    """'auto': a long kernel's translation costs more (launch.long_kernel_seconds), so a first launch of
    AUTO_MIN_THREADS threads, translated at once for a short kernel, is interpreted for a long one."""
    from vgpu.pipeline import compile_source
    from vgpu.sim import compiled, launch as launch_mod
    src = "__global__ void sq(int *o) { int i = blockIdx.x * blockDim.x + threadIdx.x; o[i] = i * i; }\n"
    n = launch_mod.AUTO_MIN_THREADS
    ran = []
    for long_from in (10 ** 6, 0):                 # the kernel counted as short, then as long
        monkeypatch.setattr(launch_mod, "AUTO_LONG_KERNEL", long_from)
        prog = compile_source(src, "long.vk")
        dev = SimDevice(echo_printf=False, workers=0, executor="auto")
        mod = dev.load(prog)
        o = put(dev, np.zeros(n, np.int32))
        res = dev.launch(mod, "sq", params(mod, "sq", [o]), grid=n // 256, block=256)
        assert get(dev, o, np.int32, n).tolist() == [i * i for i in range(n)]
        ran.append((compiled.translated(prog, "sq"), res.ran_on))
    assert ran[0][0] is True and "compiled" in ran[0][1]
    assert ran[1][0] is None and "too few to repay a translation" in ran[1][1]
    assert launch_mod.long_kernel_seconds(launch_mod.AUTO_LONG_KERNEL + 1000) == pytest.approx(6.0)
