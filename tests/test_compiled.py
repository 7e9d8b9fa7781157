"""The compiled executor (vgpu.sim.compiled) gives what the interpreter gives.

Launches of the run tests (tests/run/*.vk), the examples (examples/README.md) and the conformance
corpus run twice under `dual`: the interpreter first, then, on the same memory as before the launch,
the compiled executor; global memory bytes, fault text, per-pc warp/thread issue counts, divergent
branches, barriers and atomics must be identical (scheduler `steps` are the interpreter's own).  A
hypothesis test compares random ALU instructions of the ISA table with vgpu.arith bit for bit.

Translation (LLVM) is most of the cost, so by default only the cases of FAST run dual: a set chosen
from the full sweep to exercise natively every instruction mnemonic (family, modifiers, types) and
every outcome the full sweep does; test_fast_cases_cover_the_full_sweep checks that against the
sweep's record (NATIVE_FAMILIES, NATIVE_MNEMONICS).  VGPU_COMPILED_FULL=1 runs every case (offline,
a few minutes) and checks the record itself; VGPU_COMPILED_FAMILIES=FILE writes a line per case
(families, outcomes, mnemonics) to choose FAST again when cases change.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vgpu
import vgpu.sim
from vgpu.sim import DeviceError, compiled
from vgpu.sim.compiled import runtime as crt

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = ROOT.parent / "shared" / "conformance"     # as conftest.CONFORMANCE
COMPARED = ("warp_instructions", "thread_instructions", "waves", "barriers", "atomics")

# The cases that run dual by default (see the module docstring): chosen greedily from the full sweep
# to exercise natively every mnemonic and outcome it does, cheapest first.
FAST = {
    "run": {
        "bit_functions", "compound_assign", "double_arith", "double_math", "fences", "math", "math_float",
        "partial_warp_sync", "pointers", "printf", "size_t", "small_int_types", "structs", "syncthreads_reduce",
        "tier4_cpp_more", "tier4_fp16", "tier4_fp16_half2", "tier4_fp16_half2_ops", "tier4_intrinsics",
        "tier4_reduce_template", "tier4_struct_params", "typedef_enum", "warp_shuffle", "warp_vote"
    },
    "examples": {
        "histogram"
    },
    "conformance": {
        "constant_conv1d", "control_flow", "doubles", "float_arith", "int_arith", "local_array", "loop_until",
        "multi_launch", "saxpy", "small_int_types", "structs_vectors"
    },
}
FULL = bool(os.environ.get("VGPU_COMPILED_FULL"))
# What the full sweep ran natively (VGPU_COMPILED_FULL=1 checks this record; update it with the sweep).
NATIVE_FAMILIES = {
    "abs", "activemask", "add", "and", "bar.red", "bar.sync", "bar.warp.sync", "bra", "brev", "clz", "cvt", "div",
    "exp2", "ffs", "fma", "fmod", "ld", "mad", "max", "membar", "min", "mov", "mul", "neg", "not", "or", "popc",
    "rcp", "red", "rem", "ret", "round", "rsqrt", "selp", "setp", "shfl.sync", "shl", "shr", "sqrt", "st", "sub",
    "vote.sync", "xor"
}
NATIVE_MNEMONICS = {
    "abs.f16", "abs.f32", "abs.f64", "abs.s32", "activemask.b32", "add.rn.f16", "add.rn.f32", "add.rn.f64",
    "add.s32", "add.s64", "and.b32", "and.b64", "and.pred", "bar.red.and.pred", "bar.red.or.pred",
    "bar.red.popc.u32", "bar.sync", "bar.warp.sync", "bra", "brev.b32", "brev.b64", "clz.b32", "clz.b64",
    "cvt.f32.f16", "cvt.f64.f32", "cvt.rmi.f16.f16", "cvt.rmi.f32.f32", "cvt.rmi.f64.f64", "cvt.rn.f16.f32",
    "cvt.rn.f32.f64", "cvt.rn.f32.s32", "cvt.rn.f32.s8", "cvt.rn.f32.u32", "cvt.rn.f64.s32", "cvt.rn.f64.s64",
    "cvt.rpi.f32.f32", "cvt.rpi.f64.f64", "cvt.rzi.f32.f32", "cvt.rzi.f64.f64", "cvt.rzi.s32.f32",
    "cvt.rzi.s32.f64", "cvt.rzi.u32.f32", "cvt.s16.s32", "cvt.s32.s16", "cvt.s32.s64", "cvt.s32.s8", "cvt.s32.u16",
    "cvt.s32.u64", "cvt.s32.u8", "cvt.s64.s16", "cvt.s64.s32", "cvt.s64.s8", "cvt.s64.u32", "cvt.s64.u8",
    "cvt.s8.s32", "cvt.s8.u8", "cvt.u16.s32", "cvt.u16.u32", "cvt.u32.s64", "cvt.u32.u16", "cvt.u32.u64",
    "cvt.u64.s32", "cvt.u64.u32", "cvt.u8.s32", "div.rn.f16", "div.rn.f32", "div.rn.f64", "div.s32", "div.s64",
    "div.u32", "div.u64", "exp2.f32", "ffs.b32", "ffs.b64", "fma.rn.f32", "fma.rn.f64", "fmod.f32", "ld.const.f32",
    "ld.const.s32", "ld.global.f16", "ld.global.f32", "ld.global.f64", "ld.global.s16", "ld.global.s32",
    "ld.global.s64", "ld.global.s8", "ld.global.u16", "ld.global.u32", "ld.global.u64", "ld.global.u8",
    "ld.local.f16", "ld.local.f32", "ld.local.s32", "ld.local.s64", "ld.local.u32", "ld.param.f32", "ld.param.s32",
    "ld.param.s64", "ld.param.s8", "ld.param.u32", "ld.param.u64", "ld.param.u8", "ld.shared.f32", "ld.shared.f64",
    "ld.shared.s32", "ld.shared.s8", "ld.shared.u32", "mad.lo.s32", "mad.lo.s64", "mad.wide.s32", "mad.wide.u32",
    "max.f16", "max.f32", "max.f64", "max.s32", "max.u32", "membar.cta", "membar.gl", "min.f16", "min.f32",
    "min.f64", "min.s32", "min.u32", "mov.b32", "mov.b64", "mov.f32", "mov.f64", "mov.pred", "mov.s32", "mov.s64",
    "mov.u32", "mov.u64", "mul.lo.s32", "mul.lo.s64", "mul.rn.f16", "mul.rn.f32", "mul.rn.f64", "mul.wide.s32",
    "mul.wide.u32", "neg.f16", "neg.f32", "neg.f64", "neg.s32", "neg.s64", "not.b32", "not.pred", "or.b32",
    "or.b64", "or.pred", "popc.b32", "popc.b64", "rcp.rn.f64", "red.global.add.s32", "red.global.add.u32",
    "red.global.or.b32", "red.shared.add.u32", "rem.s32", "rem.s64", "rem.u32", "rem.u64", "ret", "round.f32",
    "rsqrt.approx.f32", "selp.b32", "selp.b64", "selp.f32", "selp.f64", "setp.eq.b32", "setp.eq.b64", "setp.eq.f16",
    "setp.eq.f32", "setp.eq.f64", "setp.ge.f16", "setp.ge.f32", "setp.ge.f64", "setp.ge.s32", "setp.ge.s64",
    "setp.ge.u32", "setp.geu.f16", "setp.geu.f32", "setp.geu.f64", "setp.gt.f32", "setp.gt.f64", "setp.gt.s32",
    "setp.gt.s64", "setp.gt.u32", "setp.gt.u64", "setp.le.f16", "setp.le.f32", "setp.le.f64", "setp.le.s32",
    "setp.le.u32", "setp.leu.f16", "setp.leu.f32", "setp.lt.f16", "setp.lt.f32", "setp.lt.f64", "setp.lt.s32",
    "setp.lt.s64", "setp.lt.u32", "setp.lt.u64", "setp.ltu.f16", "setp.ltu.f32", "setp.ne.b16", "setp.ne.b32",
    "setp.ne.b64", "setp.neu.f16", "setp.neu.f32", "setp.neu.f64", "shfl.sync.bfly.b32", "shfl.sync.down.b32",
    "shfl.sync.idx.b32", "shfl.sync.up.b32", "shl.b32", "shl.b64", "shr.s32", "shr.s64", "shr.u32", "shr.u64",
    "sqrt.rn.f16", "sqrt.rn.f32", "sqrt.rn.f64", "st.global.f16", "st.global.f32", "st.global.f64", "st.global.s16",
    "st.global.s32", "st.global.s64", "st.global.s8", "st.global.u16", "st.global.u32", "st.global.u64",
    "st.global.u8", "st.local.f16", "st.local.f32", "st.local.s32", "st.local.s64", "st.shared.f32",
    "st.shared.f64", "st.shared.s32", "st.shared.s8", "st.shared.u32", "sub.rn.f16", "sub.rn.f32", "sub.rn.f64",
    "sub.s32", "sub.s64", "vote.sync.all.pred", "vote.sync.any.pred", "vote.sync.ballot.b32", "xor.b32", "xor.b64",
    "xor.pred"
}
OUTCOMES = {"native", "declined"}


def _chosen(group: str, cases: list, name):
    return cases if FULL else [c for c in cases if name(c) in FAST[group]]


class Dual:
    """Patches the launch path: each run_blocks call runs on both executors and is compared."""

    def __init__(self):
        self.mismatches: list[str] = []
        self.families: set[str] = set()        # ISA families of the kernels the compiled executor ran natively
        self.mnemonics: set[str] = set()       # their full mnemonics (modifiers and types)
        self.outcomes: set[str] = set()        # 'native', 'fallback', 'declined'
        self.launches = 0
        self.observed = 0                      # launches with an observer (memory counters, sanitizers)
        self.interp = crt._interp().run_blocks

    def __call__(self, k, cfg, blocks, glob, const, wave_blocks, result=None, observer=None, cache=None):
        if observer is not None:                # observed launches are the interpreter's alone
            self.observed += 1
            return self.interp(k, cfg, blocks, glob, const, wave_blocks, result, observer, cache)
        sm = crt._interp()
        top = glob.top                         # kernels only touch allocations, all below the top
        arena = glob.arena[:top]
        before = arena.copy()
        ri, ei = sm.new_result(k), None
        try:
            self.interp(k, cfg, blocks, glob, const, wave_blocks, ri)
        except DeviceError as e:
            ei = e
        after = arena.copy()
        arena[:] = before
        rc, ec = sm.new_result(k), None
        counts = dict(crt.COUNTS)
        try:
            compiled.run_blocks(k, cfg, blocks, glob, const, wave_blocks, rc)
        except DeviceError as e:
            ec = e
        went = {o for o, n in crt.COUNTS.items() if n > counts.get(o, 0)}
        self.outcomes |= went
        if "native" in went:
            from vgpu.isa import spec
            self.families |= {spec.family(i).name for i in k.program.kernels[k.name].instrs}
            self.mnemonics |= {i.mnemonic for i in k.program.kernels[k.name].instrs}
        self.launches += 1
        where = f"{k.program.filename}:{k.name}"
        if not np.array_equal(after, arena):
            bad = int(np.flatnonzero(after != arena)[0])
            self.mismatches.append(f"{where}: memory differs first at arena byte {bad}")
        if str(ei) != str(ec):
            self.mismatches.append(f"{where}: faults differ: {ei!s:.200} / {ec!s:.200}")
        for name, a, b in (("op_warps", ri.op_warps, rc.op_warps), ("op_threads", ri.op_threads, rc.op_threads),
                           ("divergent", ri.pc[0].tolist(), rc.pc[0].tolist())):
            if list(a) != list(b):
                self.mismatches.append(f"{where}: {name} differ")
        for name in COMPARED:
            if ri.stats.get(name) != rc.stats.get(name):
                self.mismatches.append(f"{where}: {name} {ri.stats.get(name)} != {rc.stats.get(name)}")
        arena[:] = after                       # go on as the interpreter did
        if result is not None:
            result.merge(ri)
        if ei is not None:
            raise ei
        return result if result is not None else ri


EXERCISED: dict[str, tuple[set[str], set[str]]] = {}      # test id -> (families run natively, outcomes)
EXERCISED_MNEMONICS: dict[str, set[str]] = {}


@pytest.fixture
def dual(monkeypatch, request):
    """Route every in-process launch through Dual (whichever vgpu.sim module imported run_blocks)."""
    d = Dual()
    monkeypatch.setenv("VGPU_WORKERS", "0")
    monkeypatch.setenv("VGPU_EXECUTOR", "interp")      # launches go wave by wave through run_blocks
    for name, mod in list(sys.modules.items()):
        if name.startswith("vgpu.sim.") and not name.startswith("vgpu.sim.compiled") \
                and getattr(mod, "run_blocks", None) is d.interp and d.interp.__module__ != name:
            monkeypatch.setattr(mod, "run_blocks", d)
    crt.COUNTS.clear()
    yield d
    assert not d.mismatches, "\n".join(d.mismatches[:20])
    EXERCISED[request.node.name] = (d.families, d.outcomes)
    EXERCISED_MNEMONICS[request.node.name] = d.mnemonics
    if os.environ.get("VGPU_COMPILED_FAMILIES"):          # offline: a line per case, for choosing FAST
        with open(os.environ["VGPU_COMPILED_FAMILIES"], "a") as f:
            f.write(f"{request.node.name}\t{' '.join(sorted(d.families))}\t{' '.join(sorted(d.outcomes))}\t"
                    f"{' '.join(sorted(d.mnemonics))}\n")
    if os.environ.get("VGPU_COMPILED_COVERAGE"):          # a line per kernel: native, fallback or declined
        with open(os.environ["VGPU_COMPILED_COVERAGE"], "a") as f:
            f.writelines(f"{k}\t{v}\n" for k, v in crt.OUTCOMES.items())
    crt.OUTCOMES.clear()


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(path.parent))
    return mod


_run = _module(ROOT / "tests" / "test_run.py", "_run_tests_for_compiled")
_examples = _module(ROOT / "tests" / "test_examples.py", "_example_tests_for_compiled")


@pytest.mark.parametrize("path", _chosen("run", _run.cases(), lambda p: p.stem), ids=lambda p: p.stem)
def test_run_files_both_executors(path, dual, capfd):
    _run.test_run_case(path, capfd)
    assert dual.launches > 0


def _example_id(c):
    return c[c.index("--kernel") + 1]


@pytest.mark.parametrize("cmd", _chosen("examples", _examples.readme_commands(), _example_id), ids=_example_id)
def test_examples_both_executors(cmd, dual, tmp_path, monkeypatch, capsys):
    _examples.test_example_runs(cmd, tmp_path, monkeypatch, capsys)
    assert dual.launches + dual.observed > 0      # vgpuc run collects memory counters: interpreter only


def _conformance_cases():
    if not (CONFORMANCE / "corpus.py").exists():
        return []
    corpus = sys.modules.get("corpus") or _module(CONFORMANCE / "corpus.py", "corpus")
    return [(corpus, c) for c in corpus.load_cases(CONFORMANCE)]


@pytest.mark.parametrize("case", _chosen("conformance", _conformance_cases(), lambda c: c[1].name),
                         ids=lambda c: c[1].name)
def test_conformance_both_executors(case, dual):
    corpus, c = case
    runner = _module(CONFORMANCE / "run.py", "_conformance_run_for_compiled")
    be = runner.VgpuBackend(CONFORMANCE, c)
    corpus.run_steps(be, c.steps)
    want = corpus.load_expected(CONFORMANCE, c)
    for n, check in c.outputs.items():
        assert corpus.compare(be.get(n), want[n], check) is None, n


def test_fast_cases_exist():
    """Every FAST name is a case (a renamed case must not drop out of the fast run silently)."""
    have = {"run": {p.stem for p in _run.cases()}, "examples": {_example_id(c) for c in _examples.readme_commands()},
            "conformance": {c.name for _, c in _conformance_cases()}}
    for group, names in FAST.items():
        assert names <= have[group], (group, sorted(names - have[group]))


def test_fast_cases_cover_the_full_sweep(request):
    """The dual cases that ran (FAST, or every case under VGPU_COMPILED_FULL) exercised natively every
    ISA family the full sweep does, and the same outcomes; the full sweep also checks the record."""
    want = {f"test_{t}_both_executors[{n}]" for t, g in (("run_files", "run"), ("examples", "examples"),
                                                          ("conformance", "conformance")) for n in FAST[g]}
    if not want <= set(EXERCISED):
        pytest.skip("needs the dual cases of this file run first (run the whole file)")
    fams = set().union(*(EXERCISED[t][0] for t in want))
    outs = set().union(*(EXERCISED[t][1] for t in want))
    assert fams == NATIVE_FAMILIES, (sorted(NATIVE_FAMILIES - fams), sorted(fams - NATIVE_FAMILIES))
    assert outs == OUTCOMES
    if FULL:
        every = set().union(*(f for f, _ in EXERCISED.values()))
        assert every == NATIVE_FAMILIES, (sorted(NATIVE_FAMILIES - every), sorted(every - NATIVE_FAMILIES))
        mn = set().union(*(EXERCISED_MNEMONICS[t] for t in EXERCISED_MNEMONICS))
        fast_mn = set().union(*(EXERCISED_MNEMONICS[t] for t in want))
        assert mn == NATIVE_MNEMONICS, (sorted(NATIVE_MNEMONICS - mn), sorted(mn - NATIVE_MNEMONICS))
        assert fast_mn == mn, sorted(mn - fast_mn)


def test_benchmark_kernels_run_natively():
    """The benchmark kernels are not declined, and a launch of them runs natively (no fallback)."""
    from vgpu.pipeline import compile_source
    src = (ROOT / "benchmarks" / "run.py").read_text().split('r"""')[1].split('"""')[0]
    prog = compile_source(src, "bench.vk")
    for name in prog.kernels:
        assert compiled.supports(prog, name) == (True, ""), name
        assert compiled.compile_kernel(prog, name) is compiled.compile_kernel(prog, name)   # cached
    dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
    mod = dev.load(prog)
    n = 1000
    a = dev.malloc(4 * n)
    dev.write(a, np.arange(n, dtype=np.uint32) + 1)
    out = dev.malloc(4 * n)
    k = mod.kernel("collatz")
    sm = crt._interp()
    cfg = sm.LaunchConfig(grid=(4, 1, 1), block=(256, 1, 1), shared_dynamic=0,
                          params=np.array([a, out], np.uint64).tobytes() + np.int32(n).tobytes() + bytes(4))
    crt.COUNTS.clear()
    r = compiled.run_blocks(k, cfg, np.arange(4), dev.glob, dev.const, 4)
    assert crt.COUNTS.get("native") == 1
    got = np.frombuffer(dev.read(out, 4 * n), np.int32)
    ref = _module(ROOT / "benchmarks" / "run.py", "_bench_for_compiled").collatz_ref(np.arange(n, dtype=np.uint32) + 1)
    assert np.array_equal(got, ref)
    assert sum(r.op_threads) == r.stats["thread_instructions"] > 0


def test_run_launch_matches_the_interpreter_wave_by_wave():
    """run_launch (all waves in native chunks) leaves the bytes and counts of the per-wave interpreter."""
    from vgpu.pipeline import compile_source
    src = (ROOT / "benchmarks" / "run.py").read_text().split('r"""')[1].split('"""')[0]
    prog = compile_source(src, "bench.vk")
    sm = crt._interp()
    outs = []
    for native in (False, True):
        dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
        mod = dev.load(prog)
        n = 300 * 256
        x = dev.malloc(4 * n)
        dev.write(x, np.random.default_rng(3).random(n, dtype=np.float32))
        part = dev.malloc(4 * (n // 512 + 1))
        k = mod.kernel("reduce")
        cfg = sm.LaunchConfig(grid=(n // 512 + 1, 1, 1), block=(256, 1, 1), shared_dynamic=0,
                              params=np.array([x, part], np.uint64).tobytes() + np.int32(n).tobytes() + bytes(4))
        wave, nwaves = 4 * 8, -(-(n // 512 + 1) // 32)
        result = sm.new_result(k)
        if native:
            assert compiled.run_launch(k, cfg, nwaves, wave, dev.glob, dev.const, result) == \
                (True, "compiled executor, 1 thread")
        else:
            for j in range(nwaves):
                p = sm.new_result(k)
                sm.run_blocks(k, cfg, np.arange(j * wave, min((j + 1) * wave, n // 512 + 1)), dev.glob, dev.const,
                              wave, p)
                result.merge(p)
        outs.append((dev.read(part, 4 * (n // 512 + 1)), result.op_warps, result.op_threads,
                     {s: result.stats[s] for s in COMPARED}))
    assert outs[0] == outs[1]


def test_declines_printf_and_float_atomics():
    from vgpu.pipeline import compile_source
    prog = compile_source("""
__global__ void p(int *x) { printf("%d\\n", x[0]); }
__global__ void f(float *x) { atomicAdd(x, 1.0f); }
__global__ void o(int *x, int *y) { y[threadIdx.x] = atomicAdd(x, 1); }
""", "d.vk")
    for name, word in (("p", "printf"), ("f", "float atomics"), ("o", "old value")):
        ok, why = compiled.supports(prog, name)
        assert not ok and word in why, (name, why)
        with pytest.raises(compiled.Declined):
            compiled.compile_kernel(prog, name)


def test_a_launch_says_what_ran_it(monkeypatch):
    """LaunchResult.ran_on (and the first lines of --stats): the compiled executor and its threads,
    privatized atomics and waves that bailed out to the interpreter; or the interpreter and why."""
    from vgpu.pipeline import compile_source
    from vgpu.sim import device
    from vgpu.sim.launch import encode_params
    from vgpu.sim.compiled import threads
    monkeypatch.setattr(threads, "MIN_SECONDS", 0.0)
    monkeypatch.setattr(device, "usable_cores", lambda: 2)
    nest = "x[i] += 1;"
    for j in reversed(range(20)):
        nest = f"if (threadIdx.x % 32 > {j}) {{ {nest} x[i] += 2; }} else {{ x[i] -= 1; }}"
    src = r"""
__global__ void add(int *x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] += 1; }
__global__ void say(int *x) { printf("%d\n", x[0]); }
__global__ void hist(const int *d, unsigned *bins, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&bins[d[i] & 7], 1u);
}
__global__ void deep(int *x, int n) {     // block 70 nests 20 divergent ifs: a SIMT stack deeper than
    int i = blockIdx.x * blockDim.x + threadIdx.x;      // the native code keeps (the interpreter runs it)
    if (blockIdx.x == 70 && i < n) { NEST }
}
""".replace("NEST", nest)
    prog = compile_source(src, "ran.vk")

    def ran(executor, kernel, args, n, workers=0, check=None, program=prog):
        dev = vgpu.sim.SimDevice(echo_printf=False, workers=workers, executor=executor)
        try:
            mod = dev.load(program)
            ptrs = [dev.malloc(4 * n), dev.malloc(32)]          # data; 8 bins
            dev.write(ptrs[0], np.zeros(n, np.int32))
            dev.write(ptrs[1], np.zeros(8, np.int32))
            vals = [ptrs[int(a[1])] if isinstance(a, str) else a for a in args]     # "p0", "p1": the buffers
            params = encode_params(kernel, mod.kernel(kernel).code.params, vals)
            return [dev.launch(mod, kernel, params, grid=n // 256, block=256, check=check).ran_on for _ in range(2)]
        finally:
            dev.close()
    n = 160 * 256
    assert ran("compiled", "add", ["p0", n], n) == ["compiled executor, 1 thread"] * 2
    assert ran("compiled", "add", ["p0", n], n, workers=2) == ["compiled executor, 2 threads"] * 2
    assert ran("compiled", "hist", ["p0", "p1", n], n, workers=2)[1] == \
        "compiled executor, 2 threads, atomics privatized"         # the first launch saw where they went
    assert ran("compiled", "deep", ["p0", n], n)[0] == \
        "compiled executor, 1 thread, 1 wave on the interpreter (bailed out)"
    for how in ran("compiled", "say", ["p0"], 256) + ran("auto", "say", ["p0"], 256):    # auto: declined before
        assert how.startswith("interpreter (the compiled executor declined: kernel 'say': ") and "printf" in how
    assert ran("interp", "add", ["p0", n], n, workers=2)[0] == \
        "interpreter, 2 SM worker processes (executor='interp')"
    assert ran("auto", "add", ["p0", 512], 512, program=compile_source(src, "fresh.vk"))[0] == \
        "interpreter (auto: 512 threads, too few to repay a translation yet)"
    assert ran("compiled", "add", ["p0", n], n, check="memcheck")[0] == \
        "interpreter (a sanitizer, tracer or debugger watches it)"


# -- ALU instructions against vgpu.arith --------------------------------------------------------------
def _alu_cases():
    """(mnemonic words, operand types) of register-only ALU rows the executor implements."""
    from vgpu.isa import spec
    from vgpu.sim.compiled import alu
    from vgpu.sim.compiled.layout import scalar_of
    out = []
    for fam in spec.SPEC.values():
        if fam.name in ("mov", "ld", "st", "atom", "red") or not fam.sem or fam.flags & {"barrier", "warp", "branch"}:
            continue
        for types in _type_combos(fam):
            for mods in _mod_combos(fam, types):
                if spec.check_mnemonic(fam, mods, types) is not None:
                    continue
                from vgpu.isa.program import Instr
                ins = Instr(fam.op, fam.fixed + mods, types, [])
                op = spec.semantics(ins)
                t0 = scalar_of(types[0])
                t, src, mode = t0, None, None
                kinds = fam.operand_kinds(mods)
                if fam.name == "cvt":
                    src, mode = scalar_of(types[1]), ".".join(mods) or None
                elif kinds[0] == "du":
                    t, src = (vgpu.types.U32, t0) if op != "brev" else (t0, None)
                elif kinds[0] == "dw":
                    t = scalar_of(spec.wide(types[0]))
                else:
                    mode = spec.rounding(ins)       # add.rz.f32 and kin: the interpreter's
                if op and alu.supported(op, t, src, mode):
                    out.append((fam.name, mods, types))
    return out


def _type_combos(fam):
    import itertools
    return [c for c in itertools.product(*fam.types) if "pred" not in c or fam.name in ("and", "or", "xor", "not")]


def _mod_combos(fam, types):
    import itertools
    choices = [s.choices + (() if s.required_for and types[0] in s.required_for else (None,)) for s in fam.slots]
    return [tuple(m for m in combo if m) for combo in itertools.product(*choices)]


ALU_CASES = _alu_cases()
_SPECIAL = {"f32": [0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), float("nan"), 1e-45, 3.4e38, 2.5, -0.5,
                    2147483648.0, -2147483904.0, 4294967296.0],
            "f64": [0.0, -0.0, 1.5, float("inf"), float("nan"), 5e-324, 1.7e308, 0.5, -2.5, 9.3e18, -9.3e18],
            "f16": [0x0000, 0x8000, 0x0001, 0x83FF, 0x0400, 0x3C00, 0xBC00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7FFF,
                    0x3555, 0x5640, 0x4100, 0xC300, 0x77FF, 0x1400, 0x3BFF, 0x0155]}     # bits


def _values(t: str, draw_ints):
    if t in _SPECIAL:
        return _SPECIAL[t]
    bits = 1 if t == "pred" else int(t[1:])
    edge = [0, 1, -1, (1 << (bits - 1)) - 1, 1 << (bits - 1), (1 << bits) - 1, 2, 31, 32, 33, 64, 7]
    return edge + draw_ints


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(ALU_CASES) if ALU_CASES else st.nothing(), st.lists(st.integers(-2 ** 64, 2 ** 64),
                                                                              min_size=4, max_size=4),
       st.integers(0, 2 ** 32 - 1))
def test_alu_bits_match_arith(case, ints, seed):
    """One instruction over 32 lanes of special and random operands, compiled, against the interpreter."""
    from vgpu.isa import spec
    name, mods, types = case
    fam = spec.SPEC[name]
    kinds = fam.operand_kinds(mods)
    rng = np.random.default_rng(seed)
    regs = {"pred": "%p", "f32": "%f", "f64": "%fd"}

    def cls(t):
        return regs.get(t) or {8: "%rs", 16: "%rs", 32: "%r", 64: "%rd"}[int(t[1:])]
    src_t = {"s": types[0], "sw": spec.wide(types[0]), "sc": types[-1], "sp": "pred", "su": "u32"}
    dst_t = {"d": types[0], "dw": spec.wide(types[0]), "du": "u32", "dp": "pred"}[kinds[0]]
    srcs = [src_t[k] for k in kinds[1:]]
    loads = []
    for i, t in enumerate(srcs):
        vals = _values(t, ints)
        arr = [vals[int(rng.integers(len(vals)))] for _ in range(32)]
        loads.append((t, arr))
    _check_alu(name, mods, types, dst_t, srcs, loads, cls)


def _check_alu(name, mods, types, dst_t, srcs, loads, cls):
    from vgpu.isa import assemble
    mnem = ".".join((name, *mods, *types))
    mem_t = {"pred": "u8"}
    body, params = [], []
    for i, (t, _) in enumerate(loads):
        params.append(f".param .u64 in{i}")
    params.append(".param .u64 out")
    body.append("mov.u32 %r10, %tid.x;")
    for i, (t, _) in enumerate(loads):
        mt = mem_t.get(t, t if t[0] != "b" else "u" + t[1:])
        size = 1 if t == "pred" else int(t[1:]) // 8
        body.append(f"ld.param.u64 %rd{20 + i}, [in{i}];")
        body.append(f"mul.wide.u32 %rd30, %r10, {size};")
        body.append(f"add.s64 %rd{20 + i}, %rd{20 + i}, %rd30;")
        if t == "pred":
            body.append(f"ld.global.u8 %rs{20 + i}, [%rd{20 + i}];")
            body.append(f"setp.ne.u16 %p{1 + i}, %rs{20 + i}, 0;")
        else:
            body.append(f"ld.global.{mt} {cls(t)}{1 + i}, [%rd{20 + i}];")
    ops = [f"{cls(t)}{1 + i}" if t != "pred" else f"%p{1 + i}" for i, t in enumerate(srcs)]
    dreg = f"{cls(dst_t)}9" if dst_t != "pred" else "%p9"
    body.append(f"{mnem} {dreg}, {', '.join(ops)};")
    body.append("ld.param.u64 %rd29, [out];")
    body.append("mul.wide.u32 %rd30, %r10, 8;")
    body.append("add.s64 %rd29, %rd29, %rd30;")
    if dst_t == "pred":
        body.append("selp.u32 %r11, 1, 0, %p9;")
        body.append("st.global.u32 [%rd29], %r11;")
    else:
        st_t = dst_t if dst_t[0] != "b" else "u" + dst_t[1:]
        body.append(f"st.global.{st_t} [%rd29], {dreg};")
    text = (".version 1.0\n.target vgpu\n.visible .entry k(" + ", ".join(params) + ")\n{\n"
            ".reg .pred %p<12>;\n.reg .b16 %rs<32>;\n.reg .b32 %r<32>;\n.reg .b64 %rd<32>;\n.reg .f32 %f<12>;\n"
            ".reg .f64 %fd<12>;\n" + "\n".join(body) + "\nret;\n}\n")
    prog = assemble(text, "alu.vasm")
    outs = []
    for executor in ("interp", "compiled"):
        dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
        mod = dev.load(prog)
        ptrs = []
        for t, arr in loads:
            if t == "pred":
                data = np.array([bool(v) for v in arr], np.uint8)
            elif t in ("f32", "f64"):
                data = np.array(arr, {"f32": np.float32, "f64": np.float64}[t])
            else:
                bits = int(t[1:])
                data = np.array([v & ((1 << bits) - 1) for v in arr], f"u{bits // 8}")
            p = dev.malloc(max(data.nbytes, 1))
            dev.write(p, data)
            ptrs.append(p)
        out = dev.malloc(256)
        k = mod.kernel("k")
        sm = crt._interp()
        cfg = sm.LaunchConfig(grid=(1, 1, 1), block=(32, 1, 1), shared_dynamic=0,
                              params=np.array(ptrs + [out], np.uint64).tobytes())
        crt.COUNTS.clear()
        run = sm.run_blocks if executor == "interp" else compiled.run_blocks
        run(k, cfg, np.arange(1), dev.glob, dev.const, 1)
        if executor == "compiled":
            assert crt.COUNTS.get("native") == 1, (mnem, crt.COUNTS)
        outs.append(dev.read(out, 256))
    a, b = (np.frombuffer(o, np.uint64) for o in outs)
    bad = np.flatnonzero(a != b)
    assert not bad.size, f"{mnem}: lane {bad[0]}: operands {[arr[bad[0]] for _, arr in loads]}: " \
                         f"interpreter {a[bad[0]]:#x}, compiled {b[bad[0]]:#x}"


F16_FAST = {"add.f16", "sub.rn.f16", "mul.rz.f16", "div.rn.f16", "fma.rn.f16", "neg.f16", "abs.f16", "min.f16",
            "max.f16", "sqrt.rn.f16", "rcp.rn.f16", "setp.lt.f16", "setp.neu.f16", "setp.nan.f16", "setp.ne.f16",
            "selp.f16", "cvt.f32.f16", "cvt.f64.f16", "cvt.rn.f16.f32", "cvt.rn.f16.f64", "cvt.rni.f16.f32",
            "cvt.rn.f16.s32", "cvt.rn.f16.u16", "cvt.rzi.s32.f16", "cvt.rni.u8.f16", "cvt.rzi.s16.f16",
            "cvt.rni.f16.f16", "cvt.rzi.u64.f16", "cvt.rn.s64.f16", "cvt.rmi.f64.f16"}
F16_CASES = [c for c in ALU_CASES if "f16" in c[2] and (FULL or ".".join((c[0], *c[1], *c[2])) in F16_FAST)]


@pytest.mark.parametrize("case", F16_CASES, ids=lambda c: ".".join((c[0], *c[1], *c[2])))
def test_f16_alu_bits_match_arith(case):
    """Every binary16 instruction the executor runs natively (cvt: the default and rn/rni/rzi modes; the
    other modes share the code), over the special halves and random bits, against the interpreter."""
    from vgpu.isa import spec
    name, mods, types = case
    fam = spec.SPEC[name]
    kinds = fam.operand_kinds(mods)
    rng = np.random.default_rng(len(mods) * 7 + hash(types) % 1000)

    def cls(t):
        return {"pred": "%p", "f32": "%f", "f64": "%fd"}.get(t) or {8: "%rs", 16: "%rs", 32: "%r", 64: "%rd"}[int(t[1:])]
    src_t = {"s": types[0], "sw": spec.wide(types[0]), "sc": types[-1], "sp": "pred", "su": "u32"}
    dst_t = {"d": types[0], "dw": spec.wide(types[0]), "du": "u32", "dp": "pred"}[kinds[0]]
    srcs = [src_t[k] for k in kinds[1:]]
    ints = [int(x) for x in rng.integers(0, 2 ** 16, 12)] + [70000, -70000, 65519, 2 ** 40 + 3]
    loads = [(t, [_values(t, ints)[int(rng.integers(len(_values(t, ints))))] for _ in range(32)]) for t in srcs]
    _check_alu(name, mods, types, dst_t, srcs, loads, cls)


def test_alu_cases_cover_the_table():
    names = {c[0] for c in ALU_CASES}
    assert {"add", "mul", "div", "rem", "shl", "shr", "cvt", "setp", "selp", "fma", "min", "max", "popc",
            "bfind", "brev", "sqrt"} <= names


@pytest.mark.parametrize("n, extra", [(64, 0), (40, 0), (64, 1)])
def test_whole_warp_global_access_faults_as_the_interpreter(n, extra):
    """Contiguous whole-warp loads and stores (the vector fast path) and the same accesses running past
    the end of an allocation (n=40: the second warp; extra=1: the last lane of the last warp): the same
    bytes and the same fault text as the interpreter."""
    from vgpu.pipeline import compile_source
    prog = compile_source("""
__global__ void k(const unsigned *a, unsigned *b, int extra) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x + extra;
    b[i] = a[i] * 3u + 1u;
}
__global__ void k64(const unsigned long long *a, unsigned long long *b, int extra) {
    unsigned i = blockIdx.x * blockDim.x + threadIdx.x + extra;
    b[i] = a[i] ^ 0x5555aaaa5555aaaaull;
}
""", "w.vk")
    sm = crt._interp()
    for name, size in (("k", 4), ("k64", 8)):
        got = []
        for run in (sm.run_blocks, compiled.run_blocks):
            dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
            mod = dev.load(prog)
            a = dev.malloc(size * n)
            dev.write(a, np.arange(n, dtype=f"u{size}") * 7 + 1)
            b = dev.malloc(size * n)
            cfg = sm.LaunchConfig(grid=(2, 1, 1), block=(32, 1, 1), shared_dynamic=0,
                                  params=np.array([a, b], np.uint64).tobytes() + np.int32(extra).tobytes() + bytes(4))
            crt.COUNTS.clear()
            err = None
            try:
                run(mod.kernel(name), cfg, np.arange(2), dev.glob, dev.const, 2)
            except DeviceError as e:
                err = str(e)
            got.append((dev.read(b, size * n), err))
        assert got[0] == got[1], name
        assert (got[0][1] is None) == (n == 64 and extra == 0), got[0][1]
        if got[0][1] is None:
            assert crt.COUNTS.get("native") == 1
            want = (np.arange(n, dtype=f"u{size}") * 7 + 1)
            want = want * 3 + 1 if size == 4 else want ^ np.uint64(0x5555aaaa5555aaaa)
            assert np.array_equal(np.frombuffer(got[1][0], f"u{size}"), want.astype(f"u{size}"))


def test_a_relaunch_after_new_allocations_runs_natively_again():
    """The native runner kept from the last launch is not reused blindly once allocations changed
    (its memory tables are rebuilt), and the second launch gives the same bytes."""
    dev = vgpu.Device(workers=0, executor="compiled")
    k = vgpu.compile("__global__ void k(int *o, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
                     "    if (i < n) o[i] = i * 3; }", "relaunch.vk").get_function("k")
    o = vgpu.zeros(1 << 16, np.int32, device=dev)
    k(o, 1 << 16, grid=256, block=256, device=dev)
    others = [vgpu.zeros(100, np.int32, device=dev) for _ in range(3)]    # held: the tables stay changed
    k(o, 1 << 16, grid=256, block=256, device=dev)
    assert np.array_equal(o.copy_to_host(), np.arange(1 << 16, dtype=np.int32) * 3)
    del others


@pytest.mark.parametrize("kernel", ["reduce", "collatz"])
def test_registers_kept_in_the_warp_state_give_the_same_bytes_and_counts(kernel, monkeypatch):
    """A long kernel's registers live in the warp state (codegen.REGS_IN_WS_FROM): forced for a short
    one, the launch leaves the bytes and counts of registers kept in SSA values (barriers included)."""
    from vgpu.pipeline import compile_source
    from vgpu.sim.compiled import codegen
    src = (ROOT / "benchmarks" / "run.py").read_text().split('r"""')[1].split('"""')[0]
    slots = []
    alloc = codegen.KernelGen.alloc_regs

    def spy(self, b):
        alloc(self, b)
        slots.append(len(self.regslot))
    monkeypatch.setattr(codegen.KernelGen, "alloc_regs", spy)
    sm = crt._interp()
    outs = []
    for threshold in (10 ** 9, 0):
        monkeypatch.setattr(codegen, "REGS_IN_WS_FROM", threshold)
        prog = compile_source(src, "bench.vk")
        dev = vgpu.sim.SimDevice(workers=0, echo_printf=False)
        mod = dev.load(prog)
        n = 40 * 256
        x = dev.malloc(4 * n)
        dev.write(x, np.random.default_rng(5).integers(1, 1000, n).astype(np.uint32))
        out = dev.malloc(4 * n)
        k = mod.kernel(kernel)
        cfg = sm.LaunchConfig(grid=(40, 1, 1), block=(256, 1, 1), shared_dynamic=0,
                              params=np.array([x, out], np.uint64).tobytes() + np.int32(n).tobytes() + bytes(4))
        result = sm.new_result(k)
        assert compiled.run_launch(k, cfg, 2, 32, dev.glob, dev.const, result)[0]
        outs.append((dev.read(out, 4 * n), result.op_warps, result.op_threads,
                     {s: result.stats[s] for s in COMPARED}))
    assert slots[0] > 0 and slots[-1] == 0           # SSA registers, then none: the warp state's
    assert outs[0] == outs[1]
