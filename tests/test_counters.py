"""Launch counters (vgpu.sim.counters) and theoretical occupancy (vgpu.sim.occupancy) against the
patterns whose NVIDIA H100 counters are known (../shared/reference/h100-counters.md, corpus-counters-h100.md)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice
from vgpu.sim.observe.counters import DEFINITIONS, MEMORY_KEYS, Counters
from vgpu.sim.occupancy import theoretical

from sim_helpers import params

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

PROBES = r"""
__global__ void load_unit(const float *in, float *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[i];
}
__global__ void load_stride2(const float *in, float *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[2 * i];
}
__global__ void load_stride32(const float *in, float *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    out[i] = in[32 * i];
}
__global__ void shared_column(float *out) {
    __shared__ float s[32 * 32];
    int t = threadIdx.x;
    for (int k = 0; k < 32; ++k) s[k * 32 + t] = (float)(k + t);
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = s[t * 32];
}
__global__ void shared_same_word(float *out) {
    __shared__ float s[32];
    int t = threadIdx.x;
    s[t] = (float)t;
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = s[0];
}
__global__ void shared_every_other(float *out) {
    __shared__ float s[64];
    int t = threadIdx.x;
    s[t] = (float)t;
    s[t + 32] = (float)t;
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = s[2 * t];
}
__global__ void shared_doubles(double *out, int stride) {
    __shared__ double s[64];
    int t = threadIdx.x;
    s[t] = (double)t;
    s[t + 32] = (double)t;
    __syncthreads();
    out[blockIdx.x * blockDim.x + t] = s[(stride * t) % 64];
}
__global__ void odd_even(float *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float v;
    if (threadIdx.x % 2)
        v = (float)i * 2.0f;
    else
        v = (float)i + 1.0f;
    out[i] = v;
}
__global__ void local_array(float *out, int k) {
    float a[16];
    for (int j = 0; j < 16; ++j) a[j] = (float)(j + threadIdx.x);
    out[blockIdx.x * blockDim.x + threadIdx.x] = a[k];
}
"""


@pytest.fixture(scope="module")
def probes():
    dev = SimDevice(echo_printf=False, counters=True)
    return dev, dev.load(compile_source(PROBES, "probes.vk"))


def launch(probes, kernel, *args, grid=8, block=64):
    dev, mod = probes
    bufs = [dev.malloc(32 * 8 * grid * block) if a is None else a for a in args]
    return dev.launch(mod, kernel, params(mod, kernel, bufs), grid=grid, block=block)


@pytest.mark.parametrize("kernel, per_request", [("load_unit", 4), ("load_stride2", 8), ("load_stride32", 32)])
def test_global_sectors_per_request(probes, kernel, per_request):
    s = launch(probes, kernel, None, None).stats
    assert s["global_load_requests"] == 8 * 2                       # one per warp
    assert s["global_load_sectors"] == per_request * s["global_load_requests"]
    assert s["global_store_sectors"] == 4 * s["global_store_requests"]


@pytest.mark.parametrize("kernel, wavefronts", [("shared_column", 32), ("shared_every_other", 2),
                                                ("shared_same_word", 1)])
def test_shared_wavefronts_and_bank_conflicts(probes, kernel, wavefronts):
    s = launch(probes, kernel, None, grid=4, block=32).stats
    assert s["shared_load_requests"] == 4
    assert s["shared_load_wavefronts"] == 4 * wavefronts
    assert s["shared_load_bank_conflicts"] == 4 * (wavefronts - 1)
    assert s["shared_store_bank_conflicts"] == 0                   # s[k * 32 + t], s[t]: a word per bank


@pytest.mark.parametrize("stride, wavefronts", [(1, 2), (2, 4), (0, 2)])
def test_shared_64_bit_accesses_are_served_per_half_warp(probes, stride, wavefronts):
    s = launch(probes, "shared_doubles", None, stride, grid=1, block=32).stats
    assert s["shared_load_requests"] == 1
    assert s["shared_load_wavefronts"] == wavefronts                # ideal: 2 (256 bytes, 128 a wavefront)
    assert s["shared_load_bank_conflicts"] == wavefronts - 2


def test_divergence_halves_the_active_lanes_inside_the_branches(probes):
    from vgpu.profile import per_line
    res = launch(probes, "odd_even", None, grid=2, block=64)
    s = res.stats
    assert s["divergent_branches"] == 4                             # once per warp
    assert s["branches"] > s["divergent_branches"]
    lines = per_line(res.pcs, "probes.vk")
    src = PROBES.splitlines()
    inside = [ln for (f, ln) in lines if src[ln - 1].strip().startswith("v = ")]
    assert len(inside) == 2
    for ln in inside:
        assert lines[("probes.vk", ln)]["active_lanes"] == 16.0
    assert s["thread_instructions"] < 32 * s["warp_instructions"]


def test_local_memory_is_interleaved_across_the_warp(probes):
    s = launch(probes, "local_array", None, 5, grid=1, block=32).stats
    assert s["local_store_requests"] >= 16 and s["local_load_requests"] >= 1
    assert s["local_store_sectors"] == 4 * s["local_store_requests"]    # the same word of 32 threads: 128 bytes
    assert s["local_load_sectors"] == 4 * s["local_load_requests"]


def test_instruction_classes_add_up(probes):
    s = launch(probes, "shared_column", None, grid=2, block=32).stats
    assert sum(s[f"inst_{c}"] for c in ("int", "fp32", "fp64", "move", "memory", "atomic", "control", "sync",
                                        "warp", "other")) == s["warp_instructions"]
    assert s["inst_sync"] == 2 and s["inst_fp32"] > 0 and s["inst_memory"] > 0
    assert s["thread_inst_memory"] <= 32 * s["inst_memory"]


def test_memory_counters_only_when_asked():
    dev = SimDevice(echo_printf=False)
    mod = dev.load(compile_source(PROBES, "p.vk"))
    res = dev.launch(mod, "load_unit", params(mod, "load_unit", [dev.malloc(4096), dev.malloc(4096)]),
                     grid=2, block=32)
    assert isinstance(res.stats, Counters)
    assert not any(k in res.stats for k in MEMORY_KEYS)
    assert res.stats["warp_instructions"] > 0 and "not collected" in res.stats.format()


def test_counters_do_not_depend_on_how_blocks_are_spread(probes):
    src_dev, mod = probes
    one = SimDevice(num_sms=1, echo_printf=False, counters=True)
    loaded = one.load(mod.program)
    r1 = one.launch(loaded, "shared_every_other", params(loaded, "shared_every_other", [one.malloc(4096)]), grid=8,
                    block=32).stats
    r4 = launch(probes, "shared_every_other", None, grid=8, block=32).stats
    assert {k: v for k, v in r1.items() if k not in ("steps", "waves")} == \
           {k: v for k, v in r4.items() if k not in ("steps", "waves")}


def test_format_is_an_aligned_table_with_units(probes):
    text = launch(probes, "shared_column", None, grid=2, block=32).stats.format()
    rows = [ln for ln in text.splitlines()[1:] if ln.startswith("  ") and not ln.startswith("    ")]
    value_ends = {len(re.match(r"\s+\S.*?\s{2,}\S+", ln).group(0)) for ln in rows if re.search(r"\d", ln)}
    assert len(value_ends) <= 2           # values right-aligned in one column (a few rows have none)
    assert "bank conflicts" in text and "wavefronts" in text and "theoretical occupancy" in text


# -- occupancy (cuda_occupancy.h on an H100) ---------------------------------------------------------
@pytest.mark.parametrize("regs, smem, threads, warps, limiters", [
    (32, 0, 256, 64, {"warps", "registers"}),
    (64, 0, 256, 32, {"registers"}),
    (40, 0, 128, 48, {"registers"}),
    (16, 48 * 1024, 128, 16, {"shared memory"}),
    (16, 0, 32, 32, {"blocks"}),
    (255, 0, 1024, 0, {"registers"}),           # 255 x 32 threads x 32 warps: over 65,536 per block
    (0, 0, 1024, 64, {"warps"}),
])
def test_theoretical_occupancy(regs, smem, threads, warps, limiters):
    occ = theoretical(regs, smem, threads)
    assert occ.warps_per_sm == warps
    assert set(occ.limiters) == limiters
    assert occ.fraction == warps / 64


def test_occupancy_of_a_launch_uses_the_kernels_registers_and_shared_memory(probes):
    occ = launch(probes, "shared_column", None, grid=1, block=32).stats.occupancy
    assert occ.regs_per_thread > 0 and occ.shared_per_block == 4096 + 1024
    assert occ.blocks_per_sm == 32 and "blocks" in occ.limiters


def test_every_counter_is_documented():
    doc = (ROOT / "docs" / "counters.md").read_text()
    missing = [k for k in DEFINITIONS if not k.startswith(("inst_", "thread_inst_")) and f"`{k}`" not in doc]
    assert not missing
    assert "`inst_<class>`" in doc


# -- the conformance kernels against the H100's counters ---------------------------------------------
# Kernels whose global sectors per request are the H100's (to 0.01): the ratio is a property of the
# access pattern.  The others differ for the reasons docs/counters.md gives.
SAME_SECTORS = ("vector_add", "saxpy", "transpose_naive", "transpose_tiled", "matmul_tiled", "reduce_sum",
                "reduce_max", "stats", "char_ops", "short_ops", "image_ops", "vec4", "particles", "local_sort")
CASES = ("vector_add", "saxpy", "transpose_2d", "matmul_tiled", "reduce_shared", "small_int_types", "structs_vectors",
         "local_array")


def h100_table() -> dict:
    rows = {}
    for line in (SHARED / "reference" / "corpus-counters-h100.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0] not in ("kernel", "---"):
            rows[cells[0]] = cells
    return rows


def corpus_counters(case_names) -> dict:
    """kernel -> its counters summed over the launches of the named conformance cases."""
    sys.path.insert(0, str(SHARED / "conformance"))
    from corpus import Backend, dims, load_cases, load_inputs, run_steps

    import vgpu
    root = SHARED / "conformance"
    cases = {c.name: c for c in load_cases(root)}
    totals: dict = {}

    class Counting(Backend):
        def __init__(self, case):
            self.dev = vgpu.Device(workers=0)
            self.dev.sim.counters = True
            self.mod = vgpu.compile_file(str(root / "kernels" / case.kernel_file))
            self.bufs = {k: vgpu.to_device(v, device=self.dev) for k, v in load_inputs(root, case).items()}

        def get(self, name):
            return self.bufs[name].copy_to_host()

        def set(self, name, value):
            self.bufs[name] = vgpu.to_device(np.ascontiguousarray(value), device=self.dev)

        def launch(self, step):
            args = [self.bufs[a] if isinstance(a, str) else a for a in step.args]
            r = self.mod.get_function(step.kernel)(*args, grid=dims(step.grid), block=dims(step.block),
                                                   shared=step.shared, device=self.dev)
            acc = totals.setdefault(step.kernel, {})
            for k, v in r.stats.items():
                acc[k] = acc.get(k, 0) + v

        def set_constant(self, symbol, value):
            self.mod.set_constant(symbol, np.ascontiguousarray(value), device=self.dev)

        def read_global(self, symbol, dtype, count):
            return np.asarray(self.mod.get_global(symbol, device=self.dev).copy_to_host()).view(dtype)[:count]

    for name in case_names:
        if name in cases:
            run_steps(Counting(cases[name]), cases[name].steps)
    return totals


@pytest.mark.skipif(not (SHARED / "reference" / "corpus-counters-h100.md").exists(), reason="no H100 reference")
def test_conformance_kernels_match_the_h100(capsys):
    h100 = h100_table()
    got = corpus_counters(CASES)
    capsys.readouterr()                               # printf of the cases
    checked = 0
    for kernel in SAME_SECTORS:
        if kernel not in got:
            continue
        s = got[kernel]
        for col, d in ((2, "load"), (3, "store")):
            want = h100[kernel][col]
            if want == "–":
                assert not s.get(f"global_{d}_requests")
                continue
            assert abs(s[f"global_{d}_sectors"] / s[f"global_{d}_requests"] - float(want)) < 0.006, (kernel, d)
        assert s["shared_load_bank_conflicts"] == int(h100[kernel][5]) == 0
        assert s["shared_store_bank_conflicts"] == int(h100[kernel][6]) == 0
        checked += 1
    assert checked >= 10
