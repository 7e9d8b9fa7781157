"""Every `vgpuc run` line of examples/README.md runs, and its saved outputs match a numpy model."""
import re
import shlex
from pathlib import Path

import conftest
import numpy as np
import pytest
from conftest import conformance_kernels

from vgpu.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "data"


def readme_commands() -> list[list[str]]:
    text = (ROOT / "examples" / "README.md").read_text()
    return [shlex.split(m) for m in re.findall(r"`(vgpuc run [^`]+)`", text)]


def load(name):
    return np.load(DATA / f"{name}.npy")


def model_vector_add(out):
    np.testing.assert_array_equal(out["c"], load("a") + load("b"))


def model_saxpy(out):
    np.testing.assert_array_equal(out["y"], np.float32(2.5) * load("x") + load("y"))


def model_reduce_sum(out):
    big = load("big").astype(np.float64)
    want = big.reshape(128, 512).sum(axis=1)
    np.testing.assert_allclose(out["partial"], want, rtol=1e-5)


def model_matmul(out):
    want = load("A").astype(np.float64) @ load("B").astype(np.float64)
    np.testing.assert_allclose(out["C"], want, rtol=1e-4, atol=1e-4)


def model_histogram(out):
    want = np.bincount((load("bytes") & 255) // 4, minlength=64).astype(np.uint32)
    np.testing.assert_array_equal(out["hist"], want)


def collatz_steps(x: int) -> int:
    s = 0
    while x > 1 and s < 1000:
        x = x // 2 if x % 2 == 0 else (3 * x + 1) & 0xFFFFFFFF
        s += 1
    return s


def model_collatz(out):
    want = np.array([collatz_steps(int(v)) for v in load("start")], np.int32)
    np.testing.assert_array_equal(out["steps"], want)


def model_warp_scan(out):
    want = np.concatenate([np.cumsum(c) for c in np.split(load("scan_in"), range(256, 4000, 256))])
    np.testing.assert_array_equal(out["out"], want.astype(np.int32))


def model_conv1d(out):
    x, taps = load("signal"), load("taps")
    padded = np.concatenate([np.zeros(4, np.float32), x, np.zeros(4, np.float32)])
    acc = np.zeros_like(x)
    for k in range(9):                       # float32, in the kernel's order
        acc = acc + taps[k] * padded[k:k + len(x)]
    np.testing.assert_array_equal(out["out"], acc)


def particle_step(x, y, z, vx, vy, vz):
    dt = np.float32(0.01)
    vy = vy - np.float32(9.81) * dt
    return x + vx * dt, y + vy * dt, z + vz * dt, vy


def model_step_aos(out):
    p = load("particles")
    got = out["p"]
    for name, want in zip(("x", "y", "z", "vy"), particle_step(*(p[f] for f in ("x", "y", "z", "vx", "vy", "vz")))):
        np.testing.assert_array_equal(got[name], want)
    np.testing.assert_array_equal(got["vx"], p["vx"])


def model_step_soa(out):
    want = particle_step(*(load("p" + f) for f in ("x", "y", "z", "vx", "vy", "vz")))
    for name, w in zip(("x", "y", "z", "vy"), want):
        np.testing.assert_array_equal(out[name], w)


def model_matvec_half(out):
    W, x = load("W16"), load("x16")
    acc = np.zeros(W.shape[0], np.float32)
    for j in range(W.shape[1]):              # float32, in the kernel's order; products exact
        acc = acc + W[:, j].astype(np.float32) * x[j].astype(np.float32)
    assert out["y"].dtype == np.float16
    np.testing.assert_array_equal(out["y"].view(np.uint16), acc.astype(np.float16).view(np.uint16))


def model_render(out):
    """examples/raytrace.vk in numpy, the same float32 operations in the same order: the same bits."""
    f, (width, height) = np.float32, (64, 48)
    j, i = np.mgrid[0:height, 0:width]
    u, v = (i.astype(f) + f(0.5)) / f(width), (j.astype(f) + f(0.5)) / f(height)
    d = [f(-2.0) + f(4.0) * u, f(-1.5) + f(3.0) * v, np.full_like(u, f(-1.0)) + f(0.0)]
    center, radius = [f(0.0), f(0.0), f(-1.5)], f(0.75)
    oc = [f(0.0) - c for c in center]

    def dot(p, q):
        return p[0] * q[0] + p[1] * q[1] + p[2] * q[2]

    def unit(p):
        inv = f(1.0) / np.sqrt(dot(p, p))
        return [x * inv for x in p]
    a, b, c = dot(d, d), dot(oc, d), dot(oc, oc) - radius * radius
    disc = b * b - a * c
    with np.errstate(invalid="ignore"):
        t = np.where(disc < 0, f(-1.0), (-b - np.sqrt(disc)) / a).astype(f)
    n = unit([f(0.0) + x * t - cc for x, cc in zip(d, center)])
    lit = np.maximum(dot(n, unit([f(1.0)] * 3)), f(0.0))
    want = np.where(t > 0, lit, f(0.25) + f(0.5) * v).astype(f).ravel()
    assert 100 < int((t > 0).sum()) < width * height           # the sphere is in the picture
    np.testing.assert_array_equal(out["img"], want)


MODELS = {f.__name__[len("model_"):]: f for f in
          (model_vector_add, model_saxpy, model_reduce_sum, model_matmul, model_histogram, model_collatz,
           model_warp_scan, model_conv1d, model_step_aos, model_step_soa, model_matvec_half, model_render)}


def test_readme_lists_every_example():
    kernels = {cmd[cmd.index("--kernel") + 1] for cmd in readme_commands()}
    assert kernels == set(MODELS)
    for vk in (ROOT / "examples").glob("*.vk"):
        assert any(vk.name in " ".join(c) for c in readme_commands()), f"{vk.name} has no line in the README"


@pytest.mark.parametrize("cmd", readme_commands(), ids=lambda c: c[c.index("--kernel") + 1])
def test_example_runs(cmd, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    args = [a if a != "out" else str(tmp_path / "out") for a in cmd[1:]]
    assert main(args) == 0, capsys.readouterr().err
    saved = {p.stem: np.load(p) for p in (tmp_path / "out").glob("*.npy")}
    MODELS[cmd[cmd.index("--kernel") + 1]](saved)


@pytest.mark.parametrize("constant, message", [
    ("filtr=@examples/data/taps.npy", "no __constant__ symbol named 'filtr'"),
    ("filter=@examples/data/signal.npy", "40000 bytes given for 'filter', which holds 36"),
    ("filter=3", "--constant takes NAME=@PATH.npy"),
])
def test_bad_constant_is_a_usage_error(constant, message, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    args = ["run", "examples/conv1d_constant.vk", "--grid", "1", "--block", "32", "--constant", constant,
            "in=@examples/data/signal.npy", "out=@examples/data/smoothed.npy", "n=32"]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_conformance_corpus_is_present(conformance):
    """Under CI the corpus must be there (the fixture fails otherwise); where it is, it has kernels."""
    assert (conformance / "kernels").is_dir() and conformance_kernels(), f"no kernels in {conformance}"


def test_a_missing_corpus_fails_under_ci_and_skips_elsewhere(monkeypatch, tmp_path):
    monkeypatch.setattr(conftest, "CONFORMANCE", tmp_path / "nowhere")
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="conformance corpus is missing"):
        conftest.require_conformance()
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_conformance()
