"""`vgpuc profile` and vgpu.profile: counters per source line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from vgpu.cli import main

KERNEL = """__global__ void branchy(const float *in, float *out, int n) {
    __shared__ float s[32 * 32];
    int t = threadIdx.x;
    int i = blockIdx.x * blockDim.x + t;
    for (int k = 0; k < 32; ++k) s[k * 32 + t] = in[(i + k) % n];
    __syncthreads();
    float v;
    if (t % 2)
        v = s[t * 32];
    else
        v = in[32 * i % n];
    out[i] = v;
}
"""


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "branchy.vk"
    src.write_text(KERNEL)
    np.save(tmp_path / "in.npy", np.arange(1024, dtype=np.float32))
    np.save(tmp_path / "out.npy", np.zeros(64, np.float32))
    return tmp_path, [str(src), "--grid", "2", "--block", "32", f"in=@{tmp_path / 'in.npy'}",
                      f"out=@{tmp_path / 'out.npy'}", "n=1024"]


def line_of(text: str) -> int:
    return next(k for k, ln in enumerate(KERNEL.splitlines(), 1) if text in ln)


def test_profile_prints_the_source_with_counters(files, capsys):
    _, args = files
    assert main(["profile", *args]) == 0
    out = capsys.readouterr().out
    rows = {int(r[1:6]): r for r in out.splitlines() if r[1:6].strip().isdigit()}
    assert set(rows) == set(range(1, line_of("out[i] = v") + 1))       # the kernel, first to last line run
    loop = rows[line_of("for (int k")]
    assert loop.startswith(">")                                           # the hottest line is marked
    assert "32.0" in loop                                                 # all lanes active
    assert "16.0" in rows[line_of("v = s[t * 32]")]                       # half the lanes in each branch
    assert "15.0" in rows[line_of("v = s[t * 32]")]                       # 16 words in bank 0: 15 conflicts
    assert rows[line_of("v = in[32 * i % n]")].count("16.0") == 2         # 16 lanes, each its own sector
    assert "2/" in rows[line_of("if (t % 2)")]                            # a divergent branch per warp
    assert "hottest lines" in out and "\033[" not in out                  # no colour when not a tty


def test_profile_json(files, capsys):
    tmp, args = files
    assert main(["profile", *args, "--json", str(tmp / "p.json")]) == 0
    doc = json.loads((tmp / "p.json").read_text())
    lines = {r["line"]: r for r in doc["lines"]}
    then, other = lines[line_of("v = s[t * 32]")], lines[line_of("v = in[32 * i % n]")]
    assert then["active_lanes"] == 16.0 and other["active_lanes"] == 16.0
    assert then["shared_requests"] == 2 and then["shared_wavefronts"] == 2 * 16
    assert then["bank_conflicts"] == 2 * 15
    assert other["sectors_per_request"] == 16.0
    assert lines[line_of("if (t % 2)")]["divergent"] == 2
    assert doc["hottest"][0]["line"] == line_of("for (int k")
    assert sum(r["warps"] for r in doc["lines"]) == doc["counters"]["warp_instructions"]
    assert doc["counters"]["occupancy"]["warps_per_sm"] > 0
    assert any(i["text"].startswith("ld.shared") for i in doc["instructions"])


def test_profile_exit_codes_are_those_of_run(files, tmp_path, capsys):
    _, args = files
    assert main(["profile", *args[:-1]]) == 2                              # a missing kernel argument
    bad = tmp_path / "bad.vk"
    bad.write_text("__global__ void k(int *p) { p[0] = q; }\n")
    assert main(["profile", str(bad), "--grid", "1", "--block", "1", f"p=@{tmp_path / 'out.npy'}"]) == 1
    assert main(["profile", *args[:-1], "n=100000"]) == 3                  # reads past the end of in: a fault
