"""Traces (docs/tracing.md): the text trace has one line per warp of each group step and filters by
block and warp; the Chrome trace is valid trace-event JSON (fields per phase, monotonic time per
track, balanced B/E) with block and barrier slices and divergence instants, and loads in Perfetto's
trace processor when that package (and its binary) is available; the divergence SVG has the
promised size and one cell per active lane."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict

import numpy as np
import pytest

import vgpu
from vgpu.cli import main
from vgpu.sim.observe import divergence
from vgpu.sim import Tracer

SRC = r"""
__global__ void scale(float *x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = 2.0f * x[i];
}
__global__ void tree(int *out) {
    __shared__ int s[64];
    int t = threadIdx.x;
    s[t] = t;
    __syncthreads();
    for (int stride = 32; stride > 0; stride >>= 1) {
        if (t < stride)
            s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0)
        out[blockIdx.x] = s[0];
}
__global__ void branchy(int *out, int n) {
    int t = threadIdx.x;
    if (t >= n)
        return;
    int v = 0;
    if (t % 2 == 0) {
        v = t * 3;
    } else {
        for (int k = 0; k < t % 5; k++)
            v += k;
    }
    out[t] = v;
}
"""


def line_of(fragment: str, nth: int = 0) -> int:
    return [n for n, text in enumerate(SRC.splitlines(), 1) if fragment in text][nth]


@pytest.fixture(scope="module")
def mod():
    return vgpu.compile(SRC, "traced.vk")


def run(mod, name, *args, tracer, grid=1, block=32, **kw):
    d = vgpu.Device(workers=0, **kw)
    dtype = np.float32 if name == "scale" else np.int32
    arrays = [vgpu.zeros(a, dtype, device=d) if isinstance(a, tuple) else a for a in args]
    mod.get_function(name)(*arrays, grid=grid, block=block, device=d, trace=tracer)
    return tracer


def text_lines(path):
    return [ln.split(None, 7) for ln in open(path) if not ln.startswith("#")]


def test_text_trace_has_one_line_per_warp_of_each_group_step(mod, tmp_path):
    path = tmp_path / "t.txt"
    with open(path, "w") as f:
        run(mod, "scale", (256,), 256, tracer=Tracer(text=f), grid=2, block=128)
    rows = text_lines(path)
    steps = defaultdict(list)
    for r in rows:
        steps[int(r[0])].append(r)
    assert len(steps[0]) == 8                                   # 2 blocks x 4 warps issue pc 0 together
    assert {(r[2], r[3]) for r in steps[0]} == {(b, str(w)) for b in ("(0,0,0)", "(1,0,0)") for w in range(4)}
    assert {r[1] for r in steps[0]} == {"0", "1"}                 # block i runs on SM i % 4
    step, sm, block, warp, pc, mask, depth, rest = rows[0]
    assert (pc, mask, depth) == ("0", "0xffffffff", "0")
    assert rest.startswith(f"traced.vk:{line_of('void scale')} ") and "ld.param" in rest
    stores = [r for r in rows if "st.global" in r[7]]
    assert len(stores) == 8 and all(r[7].startswith(f"traced.vk:{line_of('x[i] = 2.0f')} ") for r in stores)


def test_text_trace_filters_block_and_warp_and_shows_divergence(mod, tmp_path):
    path = tmp_path / "t.txt"
    with open(path, "w") as f:
        run(mod, "branchy", (32,), 28, tracer=Tracer(text=f, block=(0,), warp=0))
    rows = text_lines(path)
    assert {(r[2], r[3]) for r in rows} == {("(0,0,0)", "0")}
    ret = next(r for r in rows if r[7].split()[1] == "ret;")      # instructions in the disassembler's syntax
    assert ret[5] == "0xf0000000" and int(ret[6]) > 0           # lanes 28..31 return, inside a split
    with open(path, "w") as f:
        run(mod, "scale", (256,), 256, tracer=Tracer(text=f, block=(1, 0, 0), warp=2), grid=2, block=128)
    assert {(r[2], r[3]) for r in text_lines(path)} == {("(1,0,0)", "2")}


def test_vgpu_trace_environment_variable_prints_to_stderr(tmp_path):
    src = tmp_path / "k.vk"
    src.write_text(SRC)
    np.save(tmp_path / "x.npy", np.ones(32, np.float32))
    code = ("import sys; from vgpu.cli import main; sys.exit(main(['run', sys.argv[1], '--kernel', 'scale', "
            "'--grid', '1', '--block', '32', 'x=@' + sys.argv[2], 'n=32', '--workers', '0']))")
    p = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / "x.npy")], capture_output=True,
                       text=True, env={**os.environ, "VGPU_TRACE": "1"}, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if "k.vk:" in ln]
    assert lines and "st.global.f32" in lines[-2] and "0xffffffff" in lines[0]


# -- Chrome trace ---------------------------------------------------------------------------------
REQUIRED = {"B": {"name", "ts", "pid", "tid"}, "E": {"ts", "pid", "tid"}, "X": {"name", "ts", "dur", "pid", "tid"},
            "i": {"name", "ts", "pid", "tid", "s"}, "M": {"name", "pid", "args"}}


def validate(doc: dict) -> list[dict]:
    """Check the trace event format; returns the events."""
    assert set(doc) >= {"traceEvents"}
    events = doc["traceEvents"]
    last, open_ = {}, defaultdict(list)
    for e in events:
        assert e["ph"] in REQUIRED, e
        assert REQUIRED[e["ph"]] <= set(e), e
        assert isinstance(e["pid"], int) and isinstance(e.get("tid", 0), int)
        if e["ph"] == "M":
            assert e["name"] in ("process_name", "thread_name", "process_sort_index", "thread_sort_index")
            continue
        track = (e["pid"], e["tid"])
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= last.get(track, 0), e   # monotonic per track
        last[track] = e["ts"]
        if e["ph"] == "i":
            assert e["s"] in ("t", "p", "g")
        elif e["ph"] == "B":
            open_[track].append(e["name"])
        elif e["ph"] == "E":
            assert open_[track], f"E without B on {track}"
            open_[track].pop()
    assert not any(open_.values()), "unbalanced B/E"
    json.dumps(doc)
    return events


def test_chrome_trace_is_valid_with_blocks_barriers_and_divergence(mod, tmp_path):
    t = run(mod, "tree", (2,), tracer=Tracer(chrome=True), grid=2, block=64)
    events = validate(t.chrome_json())
    named = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert named == {(0, 0): "warp slot 0", (0, 1): "warp slot 1", (1, 0): "warp slot 0", (1, 1): "warp slot 1"}
    starts = [e for e in events if e["ph"] == "B"]
    blocks = [e for e in starts if e["name"].startswith("block")]
    assert sorted(e["name"] for e in blocks) == ["block (0,0,0) warp 0", "block (0,0,0) warp 1",
                                                  "block (1,0,0) warp 0", "block (1,0,0) warp 1"]
    barriers = [e for e in starts if e["name"].startswith("bar.sync")]
    assert len(barriers) == 4 * 7                                 # 7 __syncthreads per warp
    lines = {f"(line {line_of('__syncthreads', k)})" for k in (0, 1)}
    assert {e["name"].split(" ", 1)[1] for e in barriers} == lines
    t = run(mod, "branchy", (32,), 28, tracer=Tracer(chrome=True))
    splits = [e for e in validate(t.chrome_json()) if e["ph"] == "i"]
    assert {e["name"] for e in splits} == {f"diverge at line {line_of(x)}" for x in ("t >= n", "t % 2", "k < t % 5")}


def test_chrome_trace_from_the_cli_validates(mod, tmp_path):
    """The trace event format's rules (validate); Perfetto's trace processor downloads a binary on
    first use, which this offline machine cannot, so the format is checked here instead."""
    src = tmp_path / "k.vk"
    src.write_text(SRC)
    np.save(tmp_path / "o.npy", np.zeros(4, np.int32))
    out = tmp_path / "trace.json"
    assert main(["run", str(src), "--kernel", "tree", "--grid", "4", "--block", "64", f"out=@{tmp_path / 'o.npy'}",
                 "--chrome-trace", str(out)]) == 0
    events = validate(json.loads(out.read_text()))
    assert {e["pid"] for e in events} == {0, 1, 2, 3}
    blocks = [e for e in events if e["ph"] == "B" and e["name"].startswith("block")]
    assert len(blocks) == 4 * 2


# -- divergence picture ---------------------------------------------------------------------------
def test_divergence_svg_size_and_cells(mod, tmp_path):
    t = run(mod, "branchy", (32,), 28, tracer=Tracer(divergence=((0, 0, 0), 0)))
    cols = t.columns
    svg = t.divergence_svg()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    width, height = int(root.get("width")), int(root.get("height"))
    assert width >= divergence.LEFT + len(cols) * divergence.CELL and height == divergence.size(cols)[1]
    cells = [r for r in root.iter(ns + "rect") if r.get("class") == "on"]
    assert len(cells) == sum(bin(c[2]).count("1") for c in cols)
    assert len({r.get("x") for r in cells}) == len(cols)         # every column has an active lane
    assert any(c[2] == 0x0FFFFFFF for c in cols) and any(c[2] == 0xF0000000 for c in cols)
    exited = [r for r in root.iter(ns + "rect") if r.get("class") == "exited"]
    assert exited and all(int(float(r.get("y"))) >= int(cells[0].get("y")) + 28 * divergence.CELL for r in exited)
    pushes = root.findall(f".//{ns}polygon[@class='push']")
    pops = root.findall(f".//{ns}polygon[@class='pop']")
    assert len(pushes) == sum(b[3] > a[3] for a, b in zip(cols, cols[1:]))
    assert len(pops) == sum(b[3] < a[3] for a, b in zip(cols, cols[1:])) and pops
    assert f"line {line_of('out[t] = v;')}: out[t] = v;" in svg


def test_cli_writes_divergence_svg_and_rejects_bad_warp(mod, tmp_path, capsys):
    src = tmp_path / "k.vk"
    src.write_text(SRC)
    np.save(tmp_path / "o.npy", np.zeros(64, np.int32))
    base = ["run", str(src), "--kernel", "branchy", "--grid", "2", "--block", "64", f"out=@{tmp_path / 'o.npy'}",
            "n=50"]
    svg = tmp_path / "d.svg"
    assert main(base + ["--divergence-svg", str(svg), "--divergence-warp", "1:1"]) == 0
    root = ET.parse(svg).getroot()
    assert "block (1,0,0) warp 1" in ET.tostring(root, encoding="unicode")
    assert main(base + ["--divergence-svg", str(svg), "--divergence-warp", "1"]) == 2
    assert main(base + ["--trace-warp", "1"]) == 2
    assert "filter --trace" in capsys.readouterr().err


def test_divergence_svg_of_a_long_warp_wraps_and_takes_a_step_range(mod):
    t = run(mod, "tree", (1,), tracer=Tracer(divergence=((0, 0, 0), 0)), block=64)
    cols = t.columns
    assert len(cols) > 20
    root = ET.fromstring(t.divergence_svg(per_row=10))
    ns = "{http://www.w3.org/2000/svg}"
    width = int(root.get("width"))
    assert width < divergence.LEFT + 11 * divergence.CELL + 24 + 7 * 200       # ten columns a row, not all
    grids = [r for r in root.iter(ns + "rect") if r.get("stroke") == "#999999"]
    assert len(grids) == -(-len(cols) // 10)                                   # one lane grid per row
    first, last = cols[5][0], cols[12][0]
    part = t.divergence_svg(steps=(first, last))
    cells = [r for r in ET.fromstring(part).iter(ns + "rect") if r.get("class") == "on"]
    inside = [c for c in cols if first <= c[0] <= last]
    assert len(cells) == sum(bin(c[2]).count("1") for c in inside) and f"steps {first}..{last}" in part
    assert "executed nothing in these steps" in t.divergence_svg(steps=(10 ** 9, 10 ** 9 + 1))


def test_text_trace_stops_at_its_size_limit_with_a_warning(mod, tmp_path):
    path = tmp_path / "t.txt"
    with open(path, "w") as f, pytest.warns(RuntimeWarning, match="text trace stopped at its limit of 2,000 bytes"):
        run(mod, "scale", (256,), 256, tracer=Tracer(text=f, max_text_bytes=2000), grid=2, block=128)
    text = path.read_text()
    assert len(text) < 2000 + 400 and text.rstrip().splitlines()[-1].startswith("# the text trace stopped")
