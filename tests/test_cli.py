"""`vgpuc`: arguments checked against their parameters, byte order, one-line success of `check`,
options of `run` (--max-steps, --workers, --schedule random without a seed, --stats on stdout), the
progress bar, and what cli.py may import."""
from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import numpy as np
import pytest

from vgpu.cli import Progress, main

ROOT = Path(__file__).resolve().parents[1]

KERNELS = r"""
__global__ void scale(float *x, int n, float a) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = x[i] * a;
}
__global__ void store(int *out, int n) { out[0] = n; }
__global__ void spin(int *out) { while (out[0] == 0) { } }
"""


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "k.vk"
    src.write_text(KERNELS)
    np.save(tmp_path / "x.npy", np.arange(8, dtype=np.float32))
    np.save(tmp_path / "big.npy", np.arange(8, dtype=">f4"))
    np.save(tmp_path / "ints.npy", np.arange(8, dtype=np.int32))
    np.save(tmp_path / "one.npy", np.zeros(1, np.int32))
    return tmp_path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def scale(files, *extra):
    return ["run", files / "k.vk", "--kernel", "scale", "--grid", 1, "--block", 32, "--workers", 0,
            f"x=@{files / 'x.npy'}", "n=8", "a=2", *extra]


def store(files, n, *extra):
    return ["run", files / "k.vk", "--kernel", "store", "--grid", 1, "--block", 1, "--workers", 0,
            f"out=@{files / 'one.npy'}", f"n={n}", "--save", files / "out", *extra]


def test_check_says_ok_in_one_line(files, capsys):
    code, out, err = run(capsys, "check", files / "k.vk")
    assert code == 0 and err == ""
    assert out == f"{files / 'k.vk'}: ok, 3 kernels (scale, store, spin)\n"


def test_ir_of_assembly_is_a_usage_error(files, capsys):
    assert run(capsys, "asm", files / "k.vk", "-o", files / "k.vasm")[0] == 0
    code, out, err = run(capsys, "ir", files / "k.vasm")
    assert code == 2 and out == ""
    assert "ir needs a .vk source" in err and "k.vasm is assembly" in err


def test_output_dash_is_stdout(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    code, out, _ = run(capsys, "asm", files / "k.vk", "-o", "-")
    assert code == 0 and ".entry scale" in out and not (files / "-").exists()


def test_duplicate_argument(files, capsys):
    code, _, err = run(capsys, *scale(files)[:-1], "a=2", "a=3")
    assert code == 2
    assert "parameter 'a' of kernel scale is given twice (a=2 and a=3)" in err


@pytest.mark.parametrize("n", ["4294967297", "-2147483649", "0x80000000"])
def test_out_of_range_scalar(files, capsys, n):
    code, _, err = run(capsys, *store(files, n))
    assert code == 2
    assert f"store(): parameter 'n' (int, -2147483648..2147483647): {int(n, 0)} is out of range" in err, err
    assert not (files / "out").exists()


def test_allow_reinterpret_wraps(files, capsys):
    code, _, err = run(capsys, *store(files, "4294967297", "--allow-reinterpret"))
    assert code == 0, err
    assert np.load(files / "out" / "out.npy").tolist() == [1]


def test_array_dtype_must_match_the_pointer(files, capsys):
    args = scale(files)
    args[args.index(f"x=@{files / 'x.npy'}")] = f"x=@{files / 'ints.npy'}"
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "scale(): parameter 'x' points to float elements, but the array holds int32" in err
    assert run(capsys, *args, "--allow-reinterpret")[0] == 0


def test_big_endian_npy_is_computed_and_saved_right(files, capsys):
    args = scale(files, "--print", "x", "--save", files / "out")
    args[args.index(f"x=@{files / 'x.npy'}")] = f"x=@{files / 'big.npy'}"
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "x = [ 0.  2.  4.  6.  8. 10. 12. 14.]" in out
    saved = np.load(files / "out" / "x.npy")
    assert saved.dtype == np.dtype(">f4")                  # the dtype it was given
    assert saved.tolist() == [2.0 * v for v in range(8)]


def test_big_endian_constant(tmp_path, capsys):
    taps = np.load(ROOT / "examples" / "data" / "taps.npy")
    np.save(tmp_path / "native.npy", taps)
    np.save(tmp_path / "big.npy", taps.astype(">f4"))
    for name in ("native", "big"):
        args = ["run", ROOT / "examples" / "conv1d_constant.vk", "--grid", 1, "--block", 32, "--workers", 0,
                "--constant", f"filter=@{tmp_path / name}.npy", f"in=@{ROOT / 'examples/data/signal.npy'}",
                f"out=@{ROOT / 'examples/data/smoothed.npy'}", "n=32", "--save", tmp_path / name]
        code, _, err = run(capsys, *args)
        assert code == 0, err
    native, big = np.load(tmp_path / "native" / "out.npy")[:32], np.load(tmp_path / "big" / "out.npy")[:32]
    assert np.any(native != 0) and np.array_equal(native, big)


def test_stats_go_to_stdout(files, capsys):
    code, out, err = run(capsys, *scale(files, "--stats"))
    assert code == 0 and err == ""
    assert "warp_instructions" in out or "instructions" in out
    assert re.search(r"^ran on: (compiled executor, \d threads?|interpreter.*\(.+\))$", out, re.M), out


def test_random_schedule_without_seed_prints_the_seed(files, capsys):
    code, _, err = run(capsys, *scale(files, "--schedule", "random"))
    assert code == 0
    m = re.search(r"--schedule random with seed (\d+) \(--seed \1 repeats this order\)", err)
    assert m, err
    code, _, err = run(capsys, *scale(files, "--schedule", "random", "--seed", m.group(1)))
    assert code == 0 and err == ""
    code, _, err = run(capsys, *scale(files, "--seed", "3"))
    assert code == 0 and err == "vgpuc: warning: --seed has no effect without --schedule random\n"


def test_max_steps_stops_a_spinning_kernel(files, capsys):
    args = ["run", files / "k.vk", "--kernel", "spin", "--grid", 1, "--block", 32, "--workers", 0,
            f"out=@{files / 'one.npy'}"]
    code, _, err = run(capsys, *args, "--max-steps", 2000)
    assert code == 3 and "spin" in err
    code, _, err = run(capsys, *args, "--max-steps", 0)
    assert code == 2 and "--max-steps must be a positive integer" in err


def test_cli_does_not_reach_past_the_runtime():
    """cli.py imports vgpu, vgpu.runtime, vgpu.pipeline (and front ends at its own level, such as
    vgpu.web), never the layers below them."""
    below = ("sim", "isa", "ir", "frontend", "arith", "types", "grammars", "diagnostics")
    tree = ast.parse((ROOT / "vgpu" / "cli.py").read_text())
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module:
                imported.append(node.module)
            else:
                imported += [alias.name for alias in node.names]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            imported += [n[len("vgpu."):] for n in names if n.startswith("vgpu.")]
    assert "runtime" in imported and "pipeline" in imported
    reaching = [m for m in imported if m.split(".")[0] in below]
    assert not reaching, f"cli.py imports {reaching}"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_appears_after_two_seconds_and_is_erased():
    now = [100.0]
    stream = FakeTerminal()
    bar = Progress(stream, after=2.0, clock=lambda: now[0])
    bar(1, 40)
    assert stream.getvalue() == ""                         # a short launch shows nothing
    now[0] += 2.5
    bar(10, 40)
    assert stream.getvalue() == "\r[#######.......................] 10/40 blocks, 2 s"
    now[0] += 0.01
    bar(11, 40)                                           # at most ten redraws a second
    assert stream.getvalue().count("\r[") == 1
    now[0] += 1
    bar(40, 40)                                           # done: the line is erased
    assert stream.getvalue().endswith("\r\033[K")


def test_a_warning_is_one_clean_line(files, capsys, monkeypatch):
    import warnings

    import vgpu.cli as cli
    real = cli.Device

    def warning_device(**kw):
        warnings.warn("vgpu: 1000 workers asked for, capped at 2 (the cores and SMs this device can use)",
                      RuntimeWarning, stacklevel=2)
        return real(**kw)

    monkeypatch.setattr(cli, "Device", warning_device)
    code, _, err = run(capsys, *scale(files))
    assert code == 0
    assert err == "vgpu: 1000 workers asked for, capped at 2 (the cores and SMs this device can use)\n"


def test_workers_beyond_the_machine_are_capped_with_one_line(files, capsys):
    args = scale(files)
    args[args.index("--workers") + 1] = 1000
    code, out, err = run(capsys, *args, "--print", "x")
    assert code == 0 and "x = [ 0.  2.  4." in out
    assert re.fullmatch(r"vgpu: workers=1000 capped at \d+: [^\n]*\n", err), err


def test_a_launch_on_a_terminal_reports_progress(files, capsys, monkeypatch):
    import sys

    import vgpu.cli as cli
    calls = []

    class Recorder:
        def __init__(self, stream):
            self.stream = stream

        def __call__(self, done, total):
            calls.append((done, total))

        def close(self):
            calls.append("closed")

    monkeypatch.setattr(cli, "Progress", Recorder)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = scale(files)
    args[args.index("--grid") + 1] = 300                  # 3 waves of 128 blocks on 4 SMs
    assert run(capsys, *args)[0] == 0
    assert calls[-2:] == [(300, 300), "closed"] and all(t == 300 for d, t in calls[:-1])


def test_divergence_svg_of_a_step_range(files, capsys):
    data = ROOT / "examples" / "data"
    args = ["run", ROOT / "examples" / "collatz.vk", "--grid", 1, "--block", 64, "--workers", 0,
            f"start=@{data / 'start.npy'}", f"steps=@{data / 'steps.npy'}", "n=64"]
    assert run(capsys, *args, "--divergence-svg", files / "all.svg")[0] == 0
    assert run(capsys, *args, "--divergence-svg", files / "part.svg", "--divergence-steps", "10:40")[0] == 0
    part, whole = (files / "part.svg").read_text(), (files / "all.svg").read_text()
    assert "steps 10..40" in part and "steps 10..40" not in whole and len(part) < len(whole) / 4
    code, _, err = run(capsys, *args, "--divergence-svg", files / "bad.svg", "--divergence-steps", "5:3")
    assert code == 2 and "--divergence-steps takes FIRST:LAST" in err
    code, _, err = run(capsys, *args, "--divergence-steps", "1:2")
    assert code == 2 and "--divergence-steps selects the steps of --divergence-svg" in err
