"""The timing model (vgpu.timing): the microbenchmarks of h200-timing.md reproduce the H200's figures
within 20% with the h200 preset; presets load and say where their numbers come from; reports are
consistent; `vgpuc run --timing` works for every example."""
import json
import re
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

import vgpu
import vgpu.timing
from vgpu.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "timing"))
import bench  # noqa: E402

RNG_SEED = 1


def _one(b: str, s: str) -> float:
    rng = np.random.default_rng(RNG_SEED)
    kib = {"8 KiB": 8, "64 KiB": 64, "256 KiB": 256, "2 MiB": 2048, "64 MiB": 65536, "1 GiB": 1 << 20}
    if b == "chase_global":
        return bench.chase_global("h200", kib[s], rng)
    if b == "chase_shared":
        return bench.chase_shared("h200", rng)
    if b == "syncthreads":
        return bench.syncthreads("h200", int(s.split()[0]))
    if b == "atomic_add":
        return bench.atomic_add("h200", s.startswith("distinct"))
    return getattr(bench, b)("h200")


@pytest.mark.parametrize("b,s", list(bench.MEASURED))
def test_microbenchmark_within_20_percent(b, s):
    measured = bench.MEASURED[(b, s)]
    modelled = _one(b, s)
    assert 0.8 <= modelled / measured <= 1.2, f"{b} {s}: modelled {modelled:.1f}, measured on the H200 {measured}"


def test_cache_levels_order():
    """Dependent loads get slower from L1 to L2 to HBM."""
    rng = np.random.default_rng(RNG_SEED)
    l1, l2, hbm = (bench.chase_global("h200", k, rng) for k in (8, 256, 65536))
    assert l1 < l2 < hbm


@pytest.mark.parametrize("name", vgpu.timing.NAMES)
def test_presets_load_and_cite_sources(name):
    p = vgpu.timing.load(name)
    assert p.name == name and p.sources and all(isinstance(v, str) and v for v in p.sources.values())
    assert p.clock_ghz > 0 and p.sms > 0 and p.hbm_bytes_per_cycle > 0
    assert set(vgpu.timing.NAMES) == {"h100", "h200", "a100", "rtx3080", "teaching"}


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown timing preset 'h300'.*h200"):
        vgpu.Device(timing="h300")


def test_json_preset_file(tmp_path):
    data = json.loads((Path(vgpu.timing.__file__).parent / "presets" / "teaching.json").read_text())
    data["latency"]["hbm"] = 4000
    f = tmp_path / "slow.json"
    f.write_text(json.dumps(data))
    src = "__global__ void k(float *a) { a[threadIdx.x] += 1.0f; }"
    k = vgpu.compile(src, "k.vk").get_function("k")
    times = []
    for preset in ("teaching", str(f)):
        dev = vgpu.Device(workers=0, timing=preset)
        a = vgpu.zeros(32, np.float32, device=dev)
        times.append(k(a, grid=1, block=32, device=dev).timing.cycles)
    assert times[1] > times[0] + 3000


def test_report_is_consistent():
    src = (ROOT / "examples" / "vector_add.vk").read_text()
    k = vgpu.compile(src, "vector_add.vk").get_function("vector_add")
    dev = vgpu.Device(workers=0, timing="h200")
    n = 1 << 15
    a, b = vgpu.to_device(np.ones(n, np.float32), device=dev), vgpu.to_device(np.ones(n, np.float32), device=dev)
    c = vgpu.zeros(n, np.float32, device=dev)
    r = k(a, b, c, n, grid=n // 256, block=256, device=dev)
    np.testing.assert_array_equal(c.copy_to_host(), 2)            # the functional result is untouched
    t = r.timing
    assert t.cycles > 0 and t.seconds == pytest.approx(t.cycles / 1.98e9)
    assert abs(sum(t.stall_fractions().values()) - 1) < 1e-9
    assert max(t.stall_fractions(), key=t.stall_fractions().get) == "long_scoreboard"
    assert t.bound == "memory" and 0 < t.occupancy_achieved <= 1 and t.occupancy_theoretical == 1.0
    assert t.hbm_bytes == pytest.approx(3 * 4 * n, rel=0.05)
    assert t.flops == n and t.instructions == r.stats["warp_instructions"]
    assert [x.kind for x in t.transfers] == ["HtoD", "HtoD"]
    assert t.transfers[0].seconds == pytest.approx(5e-6 + 4 * n / 50e9)
    assert "vector_add" in t._repr_html_() and "long_scoreboard" in t.format()
    assert any(row["line"] == 6 and row["top"] == "long_scoreboard" for row in t.lines)
    assert t.as_dict()["bound"] == "memory"


def test_no_timing_no_attribute():
    k = vgpu.compile("__global__ void k(int *a) { a[0] = 1; }", "k.vk").get_function("k")
    dev = vgpu.Device(workers=0)
    r = k(vgpu.zeros(1, np.int32, device=dev), device=dev)
    assert getattr(r, "timing", None) is None


def readme_commands():
    text = (ROOT / "examples" / "README.md").read_text()
    return [shlex.split(m)[1:] for m in re.findall(r"`(vgpuc run [^`]+)`", text)]


@pytest.mark.parametrize("argv", readme_commands(), ids=lambda a: a[1])
def test_cli_timing_for_every_example(argv, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    argv = [a for a in argv if a not in ("--stats",)]
    if "--save" in argv:
        i = argv.index("--save")
        argv[i + 1] = str(tmp_path / "out")
    assert main(argv + ["--timing", "h200"]) == 0
    out = capsys.readouterr().out
    m = re.search(r"modelled time\s+([\d,.]+) us\s+\(([\d,]+) cycles", out)
    assert m and float(m.group(2).replace(",", "")) > 0, out
    assert "warp stall reasons" in out


def test_every_example_file_is_in_the_readme():
    used = {a[1] for a in readme_commands()}
    assert {f"examples/{p.name}" for p in (ROOT / "examples").glob("*.vk")} <= used


def test_cli_unknown_preset(capsys):
    rc = main(["run", "examples/vector_add.vk", "--grid", "1", "--block", "1", "--timing", "nope", "a=1"])
    assert rc != 0 and "unknown timing preset 'nope'" in capsys.readouterr().err
