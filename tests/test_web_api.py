"""vgpu.web's REST API (FastAPI's TestClient): the seed's inspection routes over a session with two
devices, POST /compile and POST /run with their answers checked against numpy and `vgpuc profile`,
every limit and bad input answered by a clear 4xx, the OpenAPI examples, start_background and
`vgpuc serve`."""
from __future__ import annotations

import base64
import io
import json
import math
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import vgpu  # noqa: E402
from vgpu import cli  # noqa: E402
from vgpu.web import Limits, create_app, start_background  # noqa: E402
from vgpu.web.samples import examples  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAXPY = (ROOT / "examples" / "saxpy.vk").read_text()
COLLATZ = (ROOT / "examples" / "collatz.vk").read_text()
CONST = """__constant__ float taps[4];
__global__ void scale(float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] = x[i] * taps[1];
}
"""
SPIN = """__global__ void spin(int *x)
{
    while (x[0] == 0)
        ;
}
"""
OOB = """__global__ void oob(float *x, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    x[i + n] = 1.0f;
}
"""


@pytest.fixture(scope="module")
def session():
    """A notebook-like session: two devices with arrays, a constant, a launch and copies on each."""
    devs = [vgpu.Device(workers=0, name=f"nb{i}") for i in range(2)]
    mod = vgpu.compile(CONST, filename="const.vk")
    keep = []
    for k, d in enumerate(devs):
        mod.set_constant("taps", np.array([0, 2 + k, 0, 0], np.float32), device=d)
        x = vgpu.to_device(np.arange(64, dtype=np.float32), device=d)
        mod.get_function("scale")(x, 64, grid=2, block=32, device=d)
        keep.append(x)
    yield devs, keep
    for d in devs:
        d.close()


@pytest.fixture(scope="module")
def client():
    app = create_app(Limits(concurrent_runs=1, max_steps=3000, request_bytes=200_000, source_bytes=20_000,
                            array_elements=50_000, request_memory=300_000))
    with TestClient(app) as c:
        yield c


def npy_b64(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, a)
    return base64.b64encode(buf.getvalue()).decode()


def run_body(**kw):
    body = {"source": SAXPY, "kernel": "saxpy", "grid": 2, "block": 64,
            "args": {"alpha": 2.0, "x": {"random": 300, "seed": 5}, "y": {"arange": 300}, "n": 300}}
    body.update(kw)
    return body


# -- the seed's inspection routes, for a session with two devices ----------------------------------------------

def test_status_and_gpus_list_both_devices(session, client):
    devs, _ = session
    st = client.get("/status").json()
    assert st["service"] == "vgpu" and st["limits"]["concurrent_runs"] == 1 and st["timing_model"] is True
    gpus = {g["id"]: g for g in client.get("/gpus").json()}
    for d in devs:
        assert gpus[d.id]["name"] == d.name and gpus[d.id]["num_sms"] == 4
        assert gpus[d.id]["launches"] == 1 and gpus[d.id]["global_mem_used"] == 256


def test_state_metrics_sm_kernel_log_allocations(session, client):
    devs, arrays = session
    for d, x in zip(devs, arrays):
        st = client.get(f"/gpus/{d.id}/state").json()
        assert len(st["sms"]) == 4 and [s["blocks_last_launch"] for s in st["sms"]] == [1, 1, 0, 0]
        assert {(a["space"], a["address"]) for a in st["allocations"]} >= {("global", x.address)}
        assert st["kernel_log"][0]["kernel"] == "scale" and st["transfer_log"][0]["kind"] == "HtoD"
        m = client.get(f"/gpus/{d.id}/metrics").json()
        assert m["launches"] == 1 and m["instructions"] == d.kernel_log[0].instructions > 0
        assert m["transfers"]["HtoD"]["bytes"] >= 256
        sm = client.get(f"/gpus/{d.id}/sm/1").json()
        assert sm["blocks"] == [{"block_idx": [1, 0, 0], "status": "finished"}]
        assert client.get(f"/gpus/{d.id}/sm/3").json()["blocks"] == []
        log = client.get(f"/gpus/{d.id}/kernel_log").json()
        assert [(r["kernel"], r["grid"], r["block"]) for r in log] == [("scale", [2, 1, 1], [32, 1, 1])]
        assert log[0]["ran_on"] == d.kernel_log[0].ran_on and log[0]["ran_on"].startswith(("interpreter", "compiled"))
        allocs = client.get(f"/gpus/{d.id}/allocations").json()
        const = [a for a in allocs if a["space"] == "constant"]
        assert const and const[0]["label"] == "taps" and const[0]["size"] == 16


def test_global_and_constant_memory_read_back(session, client):
    devs, arrays = session
    for k, (d, x) in enumerate(zip(devs, arrays)):
        off = x.address - vgpu.sim.GLOBAL_BASE
        g = client.get(f"/gpus/{d.id}/global_mem", params={"offset": off, "size": 256, "dtype": "float32"}).json()
        want = np.arange(64, dtype=np.float32) * (2 + k)
        assert g["values"] == want.tolist() and bytes.fromhex(g["data"]) == want.tobytes()
        c = client.get(f"/gpus/{d.id}/constant_mem", params={"offset": 0, "size": 16, "dtype": "float32"}).json()
        assert c["values"] == [0.0, 2.0 + k, 0.0, 0.0]


def test_events_feed_since_and_limit(session, client):
    devs, _ = session
    events, since = [], 0
    for _ in range(1000):                                  # page through the feed (other devices may be live)
        page = client.get("/events", params={"since": since, "limit": 1000}).json()
        if not page["events"]:
            break
        assert page["next"] == page["events"][-1]["id"] + 1 and page["events"][0]["id"] >= since
        events += page["events"]
        since = page["next"]
    kinds = {(e["kind"], e.get("gpu")) for e in events}
    for d in devs:
        assert ("launch", d.id) in kinds and ("HtoD", d.id) in kinds
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    two = client.get("/events", params={"since": ids[1], "limit": 2}).json()["events"]
    assert [e["id"] for e in two] == ids[1:3]
    x = vgpu.to_device(np.ones(8, np.float32), device=devs[0])
    later = client.get("/events", params={"since": since}).json()["events"]
    assert [(e["kind"], e["gpu"], e["bytes"]) for e in later] == [("HtoD", devs[0].id, 32)]
    x.free()


@pytest.mark.parametrize("path", ["/gpus/{g}/state", "/gpus/{g}/metrics", "/gpus/{g}/sm/0", "/gpus/{g}/kernel_log",
                                  "/gpus/{g}/allocations", "/gpus/{g}/global_mem?offset=0&size=4",
                                  "/gpus/{g}/constant_mem?offset=0&size=4"])
def test_unknown_gpu_is_404(session, client, path):
    r = client.get(path.format(g=987654))
    assert r.status_code == 404 and "no GPU with id 987654" in r.json()["detail"]


def test_unknown_sm_and_bad_memory_reads(session, client):
    d = session[0][0]
    r = client.get(f"/gpus/{d.id}/sm/4")
    assert r.status_code == 404 and "SMs 0..3, not SM 4" in r.json()["detail"]
    assert client.get(f"/gpus/{d.id}/sm/-1").status_code == 404
    r = client.get(f"/gpus/{d.id}/global_mem", params={"offset": 0, "size": 4, "dtype": "complex64"})
    assert r.status_code == 400 and "dtype must be one of" in r.json()["detail"]
    r = client.get(f"/gpus/{d.id}/global_mem", params={"offset": 1 << 28, "size": 4})
    assert r.status_code == 400 and "allocations:" in r.json()["detail"]
    r = client.get(f"/gpus/{d.id}/global_mem", params={"offset": 0, "size": 1 << 20})
    assert r.status_code == 400 and "over the limit" in r.json()["detail"]
    assert client.get(f"/gpus/{d.id}/global_mem", params={"offset": -4, "size": 4}).status_code == 400
    assert client.get(f"/gpus/{d.id}/global_mem", params={"offset": "x"}).status_code == 422
    assert client.get("/events", params={"limit": 0}).status_code == 400
    assert client.get("/events", params={"limit": 10 ** 6}).status_code == 400


# -- POST /compile ------------------------------------------------------------------------------------------------

def test_compile_gives_ir_assembly_and_the_line_map(client):
    r = client.post("/compile", json={"source": SAXPY, "filename": "saxpy.vk"}).json()
    assert r["ok"] and r["diagnostics"] == [] and r["kernels"][0]["name"] == "saxpy"
    assert [p["name"] for p in r["kernels"][0]["params"]] == ["alpha", "x", "y", "n"]
    asm, ir = r["asm"].splitlines(), r["ir"].splitlines()
    assert len(r["asm_lines"]) == len(asm) == len(r["asm_pcs"]) and len(r["ir_lines"]) == len(ir)
    body = r["source_map"]["5"]                       # y[i] = alpha * x[i] + y[i];
    assert any("ld.global.f32" in asm[i] for i in body["asm"]) and any("st.global.f32" in asm[i] for i in body["asm"])
    assert any("load.global.f32" in ir[i] for i in body["ir"]) and any("store.global" in ir[i] for i in body["ir"])
    assert all(r["asm_lines"][i] == 5 for i in body["asm"])
    pcs = [p[1] for p in r["asm_pcs"] if p]
    assert pcs == list(range(r["kernels"][0]["instructions"]))


def test_compile_reports_diagnostics(client):
    r = client.post("/compile", json={"source": "__global__ void f(int *x)\n{\n    x[0] = ;\n}\n"}).json()
    assert not r["ok"] and r["ir"] == "" and r["asm"] == ""
    d = r["diagnostics"][0]
    assert (d["file"], d["line"], d["col"], d["severity"]) == ("kernel.vk", 3, 12, "error")
    assert "expected expression" in d["message"]


def test_compile_refuses_includes_of_server_files(client):
    for inc in ('"/etc/passwd"', "</etc/passwd>", '"saxpy.vk"', "FILE"):
        r = client.post("/compile", json={"source": f"#define FILE \"x\"\n#  include {inc}\n"}).json()
        assert not r["ok"] and r["diagnostics"][0]["line"] == 2
        assert "includes only the headers vgpu ships" in r["diagnostics"][0]["message"]
    ok = client.post("/compile", json={"source": "#include <stdint.h>\n" + SAXPY}).json()
    assert ok["ok"]


def test_compile_bad_requests(client):
    assert client.post("/compile", json={"source": "x" * 20_001}).status_code == 413
    r = client.post("/compile", json={"source": "import numpy\n@cuda.jit\ndef k(x):\n    pass\n"})
    assert r.status_code == 400 and "Python kernels are not accepted" in r.json()["detail"]
    r = client.post("/compile", json={"source": SAXPY, "filename": "k.py"})
    assert r.status_code == 400 and "Python" in r.json()["detail"]
    r = client.post("/compile", json={"source": SAXPY, "filename": "../../etc/x.vk"})
    assert r.status_code == 400 and "filename" in r.json()["detail"]
    assert client.post("/compile", json={"source": SAXPY, "language": "python"}).status_code == 422
    assert client.post("/compile", json={}).status_code == 422
    assert client.post("/compile", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422


# -- POST /run ----------------------------------------------------------------------------------------------------

def test_run_with_a_timing_preset_gives_the_modelled_time(client):
    r = client.post("/run", json=run_body(timing="h200")).json()
    assert r["fault"] is None and r["timing"]["preset"] == "h200"
    assert r["timing"]["cycles"] > 0 and r["timing"]["seconds"] > 0 and r["timing"]["instructions"] > 0
    bad = client.post("/run", json=run_body(timing="/etc/passwd"))
    assert bad.status_code == 400 and "unknown timing preset" in bad.json()["detail"]


def test_run_saxpy_outputs_match_numpy(client):
    r = client.post("/run", json=run_body()).json()
    assert r["fault"] is None and r["reports"] == [] and r["timing"] is None
    x = np.random.default_rng(5).random(300).astype(np.float32)
    y = np.float32(2.0) * x + np.arange(300, dtype=np.float32)
    out = {o["name"]: o for o in r["outputs"]}
    assert out["y"]["dtype"] == "float32" and out["y"]["size"] == 300
    assert out["y"]["first"] == y[:64].tolist()
    assert math.isclose(out["y"]["sum"], float(y.astype(np.float64).sum()), rel_tol=1e-9)
    assert out["y"]["max"] == float(y.max()) and out["x"]["min"] == float(x.min())
    assert r["occupancy"]["warps_per_block"] == 2 and r["counters"]["warp_instructions"] > 0
    assert r["ran_on"].startswith(("compiled executor", "interpreter ("))      # what ran it, and why


def test_run_profile_is_vgpuc_profile(client, tmp_path):
    """The per-line profile of /run equals `vgpuc profile --json` for the same launch."""
    r = client.post("/run", json=run_body(filename="saxpy.vk")).json()
    src = tmp_path / "saxpy.vk"
    src.write_text(SAXPY)
    np.save(tmp_path / "x.npy", np.random.default_rng(5).random(300).astype(np.float32))
    np.save(tmp_path / "y.npy", np.arange(300).astype(np.float32))
    out = tmp_path / "p.json"
    code = cli.main(["profile", str(src), "--kernel", "saxpy", "--grid", "2", "--block", "64", "alpha=2.0",
                     f"x=@{tmp_path}/x.npy", f"y=@{tmp_path}/y.npy", "n=300", "--workers", "0", "--json", str(out)])
    assert code == 0
    want = json.loads(out.read_text())
    strip = ("file", "source")
    assert [{k: v for k, v in line.items() if k not in strip} for line in r["profile"]["lines"]] == \
        [{k: v for k, v in line.items() if k not in strip} for line in want["lines"]]
    assert r["profile"]["counters"]["warp_instructions"] == want["counters"]["warp_instructions"]


def test_run_divergence_timeline_and_stack(client):
    body = {"source": COLLATZ, "grid": 2, "block": 64, "warp_block": [1], "warp": 1,
            "args": {"start": {"arange": 128, "dtype": "uint32"}, "steps": {"zeros": 128}, "n": 128}}
    r = client.post("/run", json=body).json()
    d = r["divergence"]
    assert d["block"] == [1, 0, 0] and d["warp"] == 1 and len(d["columns"]) > 100
    split = [c for c in d["columns"] if c["depth"] > 0]
    assert split and all(len(c["stack"]) == c["depth"] + 1 for c in split)
    assert all(c["stack"][0][2] == c["mask"] for c in d["columns"])   # the top entry holds the active lanes
    assert any(c["mask"] != 0xFFFFFFFF for c in d["columns"])
    steps = [c["step"] for c in d["columns"]]
    assert steps == sorted(steps)
    start = np.arange(128)
    out = {o["name"]: o for o in r["outputs"]}
    assert out["steps"]["dtype"] == "int32" and out["steps"]["first"][:8] == [0, 0, 1, 7, 2, 5, 8, 16]
    assert out["start"]["first"] == start[:64].tolist()


def test_run_constants_npy_and_sanitizers(client):
    body = {"source": CONST, "grid": 1, "block": 32, "args": {"x": {"npy": npy_b64(np.arange(20, dtype=np.float32))},
                                                               "n": 20},
            "constants": {"taps": {"npy": npy_b64(np.array([0, 3, 0, 0], np.float32))}}}
    r = client.post("/run", json=body).json()
    assert r["outputs"][0]["first"] == (np.arange(20) * 3.0).tolist()
    r = client.post("/run", json={"source": OOB, "grid": 1, "block": 32, "check": ["memcheck"],
                                  "args": {"x": {"zeros": 32}, "n": 16}}).json()
    problems = r["reports"] or ([r["fault"]] if r["fault"] else [])
    assert problems and "oob.vk" not in json.dumps(problems) and "kernel.vk" in json.dumps(problems)


def test_run_watchdog_stops_a_spinning_kernel(client):
    r = client.post("/run", json={"source": SPIN, "grid": 1, "block": 32, "args": {"x": {"zeros": 1, "dtype": "int32"}}})
    assert r.status_code == 200
    f = r.json()["fault"]
    assert f["type"] == "Watchdog" and f["kernel"] == "spin" and f["line"] == 3


def test_run_time_limit():
    with TestClient(create_app(Limits(max_seconds=0.0))) as c:
        r = c.post("/run", json=run_body(grid=300, block=32))
        assert r.status_code == 200
        f = r.json()["fault"]
        assert f["type"] == "TimeLimit" and "over the service's limit of 0.0 s" in f["message"]


@pytest.mark.parametrize("change, status, words", [
    ({"grid": 5000}, 400, "over the limit of 4096"),
    ({"grid": [65, 64]}, 400, "4160 blocks, over the limit"),
    ({"grid": 1000, "block": 1024}, 400, "threads, over the limit"),
    ({"grid": 0}, 400, "grid must be a positive integer"),
    ({"block": [1, 2, 3, 4]}, 400, "block must be"),
    ({"block": 2048}, 400, "1024"),
    ({"sms": 99}, 400, "sms must be"),
    ({"check": ["nosuchcheck"]}, 400, "check"),
    ({"kernel": "nope"}, 400, "kernel 'nope' is not in the source"),
    ({"source": "__global__ void f(int *x) { x[0] = ; }"}, 400, "does not compile"),
    ({"source": "import os\ndef k(): pass"}, 400, "Python kernels are not accepted"),
    ({"args": {"alpha": 2.0, "x": {"random": 8}, "y": {"zeros": 8}}}, 400, "missing argument(s) 'n'"),
    ({"args": {"alpha": 2.0, "x": {"random": 8}, "y": {"zeros": 8}, "n": 8, "m": 1}}, 400, "no parameter 'm'"),
    ({"args": {"alpha": 2.0, "x": 3, "y": {"zeros": 8}, "n": 8}}, 400, "is a pointer"),
    ({"args": {"alpha": {"zeros": 8}, "x": {"random": 8}, "y": {"zeros": 8}, "n": 8}}, 400, "is a scalar"),
    ({"args": {"alpha": 2.0, "x": {"random": 8, "dtype": "float128"}, "y": {"zeros": 8}, "n": 8}}, 400,
     "dtype must be one of"),
    ({"args": {"alpha": 2.0, "x": {"random": 8, "dtype": "int32"}, "y": {"zeros": 8}, "n": 8}}, 400, "'x'"),
    ({"args": {"alpha": 2.0, "x": {"random": -1}, "y": {"zeros": 8}, "n": 8}}, 400, "positive number"),
    ({"args": {"alpha": 2.0, "x": {"random": 8, "zeros": 8}, "y": {"zeros": 8}, "n": 8}}, 400, "exactly one"),
    ({"args": {"alpha": 2.0, "x": {"random": 60_000}, "y": {"zeros": 8}, "n": 8}}, 413, "elements per array"),
    ({"args": {"alpha": 2.0, "x": {"random": 40_000}, "y": {"zeros": 40_000}, "n": 8}}, 413, "bytes per run"),
    ({"args": {"alpha": 2.0, "x": {"npy": "!!notbase64"}, "y": {"zeros": 8}, "n": 8}}, 400, "not valid base64"),
    ({"args": {"alpha": 2.0, "x": {"npy": base64.b64encode(b"hello").decode()}, "y": {"zeros": 8}, "n": 8}}, 400,
     "not a .npy file"),
    ({"args": {"alpha": 2.0, "x": {"npy": npy_b64(np.array(["a"]))}, "y": {"zeros": 8}, "n": 8}}, 400, "dtype"),
    ({"args": {"alpha": 2.0, "x": {"random": 8}, "y": {"zeros": 8}, "n": 1.5}}, 400, "integer parameter"),
    ({"args": {"alpha": 2.0, "x": {"random": 8}, "y": {"zeros": 8}, "n": 1 << 40}}, 400, "out of range"),
    ({"constants": {"nope": {"zeros": 4}}}, 400, "constants"),
    ({"warp": -1}, 400, "warp must be"),
    ({"python": True}, 422, "python"),
])
def test_run_refuses_bad_input(client, change, status, words):
    body = run_body()
    body.update(change)
    r = client.post("/run", json=body)
    assert r.status_code == status, r.text[:300]
    assert words in (r.json()["detail"] if isinstance(r.json()["detail"], str) else json.dumps(r.json()["detail"]))


def test_oversized_upload_is_413_before_parsing(client):
    big = npy_b64(np.zeros(100_000, np.float32))          # ~530 KB of base64: over request_bytes=200_000
    r = client.post("/run", json=run_body(args={"alpha": 1.0, "x": {"npy": big}, "y": {"zeros": 8}, "n": 8}))
    assert r.status_code == 413 and "over the limit of 200000 bytes" in r.json()["detail"]
    r = client.post("/compile", content=b"x" * 300_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_concurrent_runs_over_the_limit_get_429(client):
    sem = client.app.state.runs
    assert sem.acquire(blocking=False)                       # a run in progress (the limit is 1)
    try:
        r = client.post("/run", json=run_body())
        assert r.status_code == 429 and "runs are in progress" in r.json()["detail"]
    finally:
        sem.release()
    assert client.post("/run", json=run_body()).status_code == 200


def test_run_devices_are_kept_bounded_and_inspectable(client):
    before = {d.id for d in vgpu.live_devices()}
    ids = [client.post("/run", json=run_body()).json()["device"]["id"] for _ in range(3)]
    live = {d.id for d in vgpu.live_devices()}
    assert ids[-1] in live and ids[-2] in live and ids[0] not in live      # keep_devices = 2
    assert len(live - before) <= 2
    allocs = client.get(f"/gpus/{ids[-1]}/allocations").json()
    assert len(allocs) == 2 and all(a["size"] == 1200 for a in allocs)


def test_cors_is_off_by_default_and_can_be_enabled(client):
    h = {"origin": "http://evil.example", "access-control-request-method": "POST"}
    r = client.options("/run", headers=h)
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in client.get("/status", headers={"origin": "http://evil.example"}).headers
    with TestClient(create_app(cors_origins=["http://lab.example"])) as other:
        r = other.get("/status", headers={"origin": "http://lab.example"})
        assert r.headers["access-control-allow-origin"] == "http://lab.example"


# -- the page, the examples, the OpenAPI document -------------------------------------------------------------------

def test_page_and_static_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "vgpu explorer" in page.text
    for src in ("/static/app.js", "/static/highlight.js", "/static/style.css"):
        r = client.get(src)
        assert r.status_code == 200 and src.rsplit("/", 1)[1].split(".")[0] in page.text
        assert "http://" not in r.text and "https://" not in r.text       # nothing fetched from elsewhere


def test_packaged_examples_equal_the_repository_examples():
    shipped = {e["name"]: e["source"] for e in examples()}
    originals = {p.name: p.read_text() for p in (ROOT / "examples").glob("*.vk")}
    assert shipped == originals, "copy examples/*.vk to vgpu/web/examples/ (the explorer ships them)"


@pytest.mark.parametrize("ex", examples(), ids=lambda e: e["name"])
def test_every_example_runs_cleanly_from_the_menu(ex):
    app = create_app()
    with TestClient(app) as c:
        body = {k: ex[k] for k in ("source", "kernel", "grid", "block", "args", "constants")}
        body["filename"] = ex["name"]
        r = c.post("/run", json=body)
        assert r.status_code == 200, r.text
        r = r.json()
        assert r["fault"] is None and r["counters"]["warp_instructions"] > 0
        assert any(o["sum"] for o in r["outputs"])


def test_openapi_documents_every_route_with_examples(client):
    spec = client.get("/openapi.json").json()
    routes = {"/status", "/gpus", "/gpus/{id}/state", "/gpus/{id}/metrics", "/gpus/{id}/sm/{sm}",
              "/gpus/{id}/kernel_log", "/gpus/{id}/global_mem", "/gpus/{id}/constant_mem", "/gpus/{id}/allocations",
              "/events", "/compile", "/run", "/examples"}
    assert routes <= set(spec["paths"])
    for path in routes:
        for method, op in spec["paths"][path].items():
            assert op["responses"]["200"]["content"]["application/json"].get("example") is not None, (path, method)
            if method == "post":
                assert op["requestBody"]["content"]["application/json"]["examples"], path
    assert {"400", "413", "429"} <= set(spec["paths"]["/run"]["post"]["responses"])
    assert "404" in spec["paths"]["/gpus/{id}/sm/{sm}"]["get"]["responses"]
    assert client.get("/docs").status_code == 200


# -- start_background and vgpuc serve --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_start_background_serves_this_process_devices(session):
    port = free_port()
    thread, stop = start_background(port=port)
    try:
        gpus = httpx.get(f"http://127.0.0.1:{port}/gpus", timeout=10).json()
        assert {d.id for d in session[0]} <= {g["id"] for g in gpus}
        with pytest.raises(RuntimeError, match="did not start"):
            start_background(port=port, timeout=5)                     # the port is taken
    finally:
        stop()
    assert not thread.is_alive()


def test_vgpuc_serve(capsys):
    assert cli.main(["serve", "--port", "70000"]) == cli.EXIT_USAGE
    assert "--port must be from 1 to 65535" in capsys.readouterr().err
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "vgpu.cli", "serve", "--port", str(port)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                st = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2).json()
                break
            except httpx.TransportError:
                assert p.poll() is None and time.monotonic() < deadline, p.communicate()
                time.sleep(0.2)
        assert st["service"] == "vgpu"
        assert "vgpu explorer" in httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    assert f"serving the explorer at http://127.0.0.1:{port}/" in err
