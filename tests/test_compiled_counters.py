"""The compiled executor computes the memory counters natively (vgpu/sim/compiled/counting.py), and
they are the interpreter's (vgpu.sim.observe.counters.count_access) to the count.

Each probe kernel below runs with counters=True on both executors from the same memory; the bytes,
the per-pc records (every ROWS counter of every instruction) and the launch totals must be identical,
and the compiled launch must have run natively.  A sweep runs the run tests and conformance cases
that tests/test_compiled.py runs (its FAST set) the same way, every launch twice (`DualLaunch`).
"""
from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
import pytest

import vgpu.sim.device
from vgpu.pipeline import compile_source
from vgpu.sim import DeviceError, SimDevice
from vgpu.sim.compiled import runtime as crt
from vgpu.sim.config import ROWS
from vgpu.sim.observe.counters import MEMORY_KEYS

from sim_helpers import params

PROBES = r"""
#define IDX int i = blockIdx.x * blockDim.x + threadIdx.x; int t = threadIdx.x;

__global__ void g_coalesced(const float *in, float *out, int n) {
    IDX
    if (i < n) out[i] = in[i] + 1.0f;
}
__global__ void g_strided(const float *in, float *out, int n) {
    IDX
    if (i < n) out[3 * i] = in[5 * i] + in[32 * i + 1] + in[2 * i];
}
__global__ void g_scattered(const float *in, float *out, int n) {
    IDX
    if (i < n) {
        unsigned h = (unsigned)i * 2654435761u;
        out[(i * 37) % n] = in[(h >> 7) % (unsigned)(4 * n)] + in[(i * 1031) % 64];
    }
}
__global__ void g_double(const double *in, double *out, int n) {
    IDX
    if (i < n) out[i] = in[2 * i] + in[(i * 13) % n] + in[i / 2];
}
__global__ void g_long_strided(const long long *in, long long *out, int n) {
    IDX
    if (i < n) out[(i * 7) % n] = in[4 * i] ^ in[i];
}
__global__ void g_bytes(const char *in, char *out, int n) {
    IDX
    if (i < n) out[i] = in[3 * i] ^ in[i] ^ in[(i * 97) % n];
}
__global__ void g_short(const short *in, short *out, int n) {
    IDX
    if (i < n) out[(i * 11) % n] = in[i] + in[2 * i + 1];
}
__global__ void g_vector(const float4 *in, float4 *out, int n) {
    IDX
    if (i < n) {
        float4 v = in[i];
        float4 w = in[(i * 5) % n];
        out[i] = make_float4(v.w + w.x, v.z, v.y, v.x);
    }
}
__global__ void s_patterns(const float *in, float *out, int n) {
    __shared__ float s[2048];
    IDX
    s[t] = in[i];                              // stride 1
    s[1024 + 2 * (t % 256)] = in[i] * 2.0f;    // stride 2
    __syncthreads();
    float a = s[t];
    float b = s[(2 * t) % 2048];
    float c = s[(32 * t) % 2048];              // 32-way
    float d = s[5];                            // broadcast
    float e = s[(33 * t) % 2048];              // conflict-free
    float f = s[(t & 1) ? 7 : 39];             // two words, one bank
    float g = s[(t / 4) * 32];                 // 8 lanes per word, words in one bank
    out[i] = a + b + c + d + e + f + g;
}
__global__ void s_double(const double *in, double *out, int n) {
    __shared__ double s[1024];
    IDX
    s[t] = in[i];
    s[512 + (t % 256)] = in[i] + 1.0;
    __syncthreads();
    double a = s[t];
    double b = s[(2 * t) % 1024];
    double c = s[(16 * t) % 1024];
    double d = s[3];
    double e = s[(t * 17) % 1024];
    double f = (t % 32 < 12) ? s[(t * 4) % 1024] : 1.0;       // the second half-warp idle
    out[i] = a + b + c + d + e + f;
}
__global__ void s_bytes(const unsigned char *in, unsigned char *out, int n) {
    __shared__ unsigned char s[1024];
    __shared__ unsigned short h[512];
    IDX
    s[t] = in[i];
    h[t] = in[i] * 3;
    __syncthreads();
    out[i] = s[t ^ 5] + s[(4 * t) % 1024] + s[(128 * t) % 1024] + (unsigned char)h[(t * 64) % 512] + (unsigned char)h[t];
}
__global__ void atomics(const int *in, int *out, int n) {
    __shared__ int s[64];
    __shared__ unsigned bits[64];
    IDX
    if (t < 64) s[t] = bits[t] = 0;
    __syncthreads();
    if (i < n) {
        atomicAdd(&out[0], 1);
        atomicAdd(&out[1 + (i * 37) % 61], in[i]);
        atomicMax(&out[64 + (i % 32) * 8], in[i]);
        atomicAdd(&s[t % 8], 1);
        atomicAdd(&s[(t * 32) % 64], 1);
        atomicOr(&bits[(t * 2) % 64], 1u << (t % 32));
    }
    __syncthreads();
    if (t < 64) out[512 + blockIdx.x * 64 + t] = s[t] + (int)bits[t];
}
__global__ void local_arrays(const float *in, float *out, int n) {
    float a[16];
    double d[8];
    IDX
    for (int j = 0; j < 16; ++j) a[j] = in[(i * 16 + j) % n];
    for (int j = 0; j < 8; ++j) d[j] = a[(j * 3 + t) & 15] * 2.0;
    int k = (t * 7) & 15;
    if (i < n) out[i] = a[k] + a[(n + t) & 15] + a[in[i] > 0.5f ? 3 : 12] + (float)d[t & 7] + (float)d[(t / 8) & 7];
}
__device__ float get(const float *p, int j) { return p[j]; }
__device__ void put(float *p, int j, float v) { p[j] = v; }
__global__ void generic_mix(const float *in, float *out, int n) {
    __shared__ float s[256];
    float loc[4];
    IDX
    s[t] = in[i];
    for (int j = 0; j < 4; ++j) loc[j] = in[(i + j) % n] * 2.0f;
    __syncthreads();
    const float *p = (t % 3 == 0) ? s : (t % 3 == 1) ? in : loc;
    int j = (t % 3 == 2) ? (t & 3) : t;
    float v = get(p, j);
    float *q = (t & 1) ? s + (t ^ 1) : out + n + i;
    put(q, 0, v);
    const float *r = (t & 8) ? s : in;
    __syncthreads();
    if (i < n) out[i] = v + get(r, (t * 2) % 256) + get(s, (t * 32) % 256);
}
__global__ void divergent(const float *in, float *out, int n) {
    __shared__ float s[128];
    IDX
    s[t % 128] = in[i];
    __syncthreads();
    if (i >= n) return;
    float v = 0.0f;
    if (t & 4) v = in[2 * i];
    else if (t & 1) v = in[(i * 29) % n] + s[(t * 2) % 128];
    else v = s[(t * 32) % 128];
    for (int j = 0; j < (t & 7); ++j) v += in[(i + 32 * j) % n];
    out[i] = v;
}
"""


def _deep(levels: int) -> str:
    """A kernel nesting `levels` divergent if/else, each reconverging on its own, in block 1 only."""
    body = "v += in[(i * 5) % n];"
    for j in reversed(range(levels)):
        body = (f"if (t % 32 > {j}) {{ v += s[(t * {j + 1}) % 64]; {body} v = v * 0.5f + s[{j}]; }} "
                f"else {{ v -= in[(i * {j + 2}) % n]; }}")
    return f"""
__global__ void deep(const float *in, float *out, int n) {{
    __shared__ float s[64];
    int i = blockIdx.x * blockDim.x + threadIdx.x; int t = threadIdx.x;
    s[t] = in[i];
    __syncthreads();
    float v = 0.0f;
    if (blockIdx.x == 1) {{ {body} }} else v = s[(t * 2) % 64] + in[(i * 3) % n];
    if (i < n) out[i] = v;
}}
"""


PROBES += _deep(20)

# kernel: (element type of its buffers, elements in `in`, grid, block, n)
CASES = {
    "g_coalesced": (np.float32, 1, 4, 128, 500), "g_strided": (np.float32, 32, 3, 64, 180),
    "g_scattered": (np.float32, 4, 4, 64, 250), "g_double": (np.float64, 2, 3, 64, 190),
    "g_long_strided": (np.int64, 4, 2, 96, 180), "g_bytes": (np.int8, 3, 3, 64, 190),
    "g_short": (np.int16, 2, 2, 80, 150), "g_vector": (np.float32, 4, 2, 64, 120),
    "s_patterns": (np.float32, 1, 2, 256, 512), "s_double": (np.float64, 1, 2, 256, 512),
    "s_bytes": (np.uint8, 1, 2, 512, 1024), "atomics": (np.int32, 1, 3, 96, 270),
    "local_arrays": (np.float32, 1, 3, 64, 170), "generic_mix": (np.float32, 1, 2, 256, 512),
    "divergent": (np.float32, 2, 3, 100, 290), "deep": (np.float32, 1, 3, 64, 192),
}
FALLBACK = {"deep"}     # a wave the native code hands to the interpreter (SIMT stack deeper than it keeps)


@pytest.fixture(scope="module")
def program():
    return compile_source(PROBES, "counters_probes.vk")


def _inputs(dt, count: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    if np.dtype(dt).kind == "f":
        return rng.random(count).astype(dt)
    return rng.integers(0, 100, count).astype(dt)


def run_probe(program, name: str, executor: str):
    """(output bytes, per-pc records, launch counters) of one probe on a fresh device."""
    dt, per, grid, block, n = CASES[name]
    dev = SimDevice(executor=executor, counters=True, workers=0, echo_printf=False)
    mod = dev.load(program)
    total = grid * block
    src = _inputs(dt, 64 * total * 4)
    a = dev.malloc(src.nbytes)
    dev.write(a, src)
    out = dev.malloc(src.nbytes)
    dev.write(out, np.zeros(src.nbytes, np.uint8))
    res = dev.launch(mod, name, params(mod, name, [a, out, n]), grid=grid, block=block)
    return dev.read(out, src.nbytes), res.pcs, res.stats


@pytest.mark.parametrize("name", sorted(CASES))
def test_probe_counters_match(program, name):
    crt.COUNTS.clear()
    crt.OUTCOMES.clear()
    mem_i, pcs_i, st_i = run_probe(program, name, "interp")
    assert not crt.COUNTS.get("native")
    mem_c, pcs_c, st_c = run_probe(program, name, "compiled")
    want = "fallback" if name in FALLBACK else "native"
    assert crt.OUTCOMES == {f"counters_probes.vk:{name}": want}, crt.OUTCOMES
    assert mem_i == mem_c
    assert pcs_i == pcs_c
    assert {k: st_i[k] for k in MEMORY_KEYS} == {k: st_c[k] for k in MEMORY_KEYS}
    assert dict(st_i) == {**st_c, "steps": st_i["steps"]}
    touched = sum(st_i[k] for k in MEMORY_KEYS)
    assert touched > 0


def test_counters_on_threads(program):
    """A launch of many waves on two threads (compiled.threads) counts what the interpreter counts."""
    got = []
    for executor, workers in (("interp", 0), ("compiled", 2)):
        dev = SimDevice(num_sms=1, executor=executor, counters=True, workers=workers, echo_printf=False)
        try:
            mod = dev.load(program)
            n = 64 * 256
            src = _inputs(np.float32, 4 * n)
            a, out = dev.malloc(src.nbytes), dev.malloc(src.nbytes)
            dev.write(a, src)
            crt.COUNTS.clear()
            res = dev.launch(mod, "s_patterns", params(mod, "s_patterns", [a, out, n]), grid=64, block=256)
            got.append((dev.read(out, src.nbytes), res.pcs, dict(res.stats, steps=0)))
        finally:
            dev.close()
    assert crt.COUNTS.get("threads") == 1
    assert got[0] == got[1]


def test_probes_exercise_every_counter(program):
    """The probes between them make every memory counter row non-zero, and see bank conflicts, 8-byte
    shared accesses, local sectors and generic accesses of each window."""
    seen = {r: 0 for r in ROWS[1:]}
    for name in ("s_patterns", "s_double", "local_arrays", "generic_mix", "atomics"):
        _, pcs, st = run_probe(program, name, "compiled")
        for rec in pcs:
            for r in seen:
                seen[r] += rec[r]
        if name in ("s_patterns", "s_double"):
            assert st["shared_load_bank_conflicts"] > 0, name
    assert all(seen.values()), seen


# -- every launch of a corpus twice ---------------------------------------------------------------
class DualLaunch:
    """Wraps vgpu.sim.launch.launch: each launch runs with counters on the interpreter, then from
    the same memory on the compiled executor; bytes, faults, per-pc records and totals compared."""

    def __init__(self, real):
        self.real, self.mismatches, self.launches, self.native = real, [], 0, 0

    def __call__(self, k, cfg, glob, const, max_shared, echo=True, parallel=None, observer=None, cache=None,
                 progress=None, executor="interp", threads=1):
        cfg = replace(cfg, counters=True)
        arena = glob.arena[:glob.top]
        before = arena.copy()
        out, err = {}, {}
        for ex in ("interp", "compiled"):
            if ex == "compiled":
                after = arena.copy()
                arena[:] = before
                counts = dict(crt.COUNTS)
            try:
                out[ex] = self.real(k, cfg, glob, const, max_shared, echo and ex == "compiled", None, observer,
                                    None, progress, ex, 1)
            except DeviceError as e:
                err[ex] = e
        self.launches += 1
        self.native += crt.COUNTS.get("native", 0) > counts.get("native", 0)
        where = f"{k.program.filename}:{k.name}"
        if not np.array_equal(after, arena):
            self.mismatches.append(f"{where}: memory differs")
        if str(err.get("interp")) != str(err.get("compiled")):
            self.mismatches.append(f"{where}: faults differ: {err.get('interp')} / {err.get('compiled')}")
        if "interp" in out and "compiled" in out:
            ri, rc = out["interp"], out["compiled"]
            if ri.pcs != rc.pcs:
                self.mismatches.append(f"{where}: per-pc records differ")
            if {**ri.stats, "steps": 0} != {**rc.stats, "steps": 0}:
                self.mismatches.append(f"{where}: counters differ")
        if "compiled" in err:
            raise err["compiled"]
        return out["compiled"]


@pytest.fixture
def dual_launch(monkeypatch):
    d = DualLaunch(vgpu.sim.device.launch)
    monkeypatch.setenv("VGPU_WORKERS", "0")
    monkeypatch.setattr(vgpu.sim.device, "launch", d)
    crt.COUNTS.clear()
    yield d
    assert not d.mismatches, "\n".join(d.mismatches[:20])


def _compiled_tests():
    mod = sys.modules.get("test_compiled")
    if mod is None:
        import test_compiled as mod
    return mod


_tc = _compiled_tests()


# The cases of test_compiled.FAST that move memory in many ways (its math-heavy ones, which translate
# slowly and touch memory as plainly as the others, and printf, which is declined, are left out).
SWEEP = {"run": {"compound_assign", "partial_warp_sync", "pointers", "size_t", "small_int_types", "structs",
                 "syncthreads_reduce", "tier4_cpp_more", "tier4_reduce_template", "tier4_struct_params",
                 "typedef_enum", "warp_shuffle", "warp_vote"},
         "conformance": {"constant_conv1d", "control_flow", "int_arith", "local_array", "loop_until", "multi_launch",
                         "saxpy", "small_int_types", "structs_vectors"}}


def test_sweep_is_part_of_the_compiled_corpus():
    for group, names in SWEEP.items():
        assert names <= _tc.FAST[group], sorted(names - _tc.FAST[group])


@pytest.mark.parametrize("path", [p for p in _tc._run.cases() if p.stem in SWEEP["run"]], ids=lambda p: p.stem)
def test_run_files_counters_both_executors(path, dual_launch, capfd):
    _tc._run.test_run_case(path, capfd)
    assert dual_launch.launches > 0 and dual_launch.native > 0


@pytest.mark.parametrize("case", [c for c in _tc._conformance_cases() if c[1].name in SWEEP["conformance"]],
                         ids=lambda c: c[1].name)
def test_conformance_counters_both_executors(case, dual_launch):
    _tc.test_conformance_both_executors(case, dual_launch)
    assert dual_launch.launches > 0 and dual_launch.native > 0
