"""Every file in tests/run/ is a kernel with its launches and expectations inside it:

    // run: kern grid=2 block=32 out=zeros(64, i32) x=arange(64, i32) n=64
    // expect: out == x * 2

`run:` names the kernel, grid and block (X or X,Y,Z), optionally shared=BYTES, then every parameter as
NAME=EXPR (a Python expression over the helpers below; an ndarray becomes a device array, anything else a
scalar).  Each `expect:` is a Python expression over the parameters after the launch (arrays copied back)
that must be true (numpy results are reduced with .all()).  Several run/expect groups may follow each
other; `expect-fault: TEXT` expects a device fault whose message contains TEXT, and `stdout: TEXT` a
printf line.  The files run in-process (workers=0).
"""
import re
from pathlib import Path

import numpy as np
import pytest

import vgpu

RUN = Path(__file__).resolve().parent / "run"
DIRECTIVE = re.compile(r"^\s*//\s*(run|expect|expect-fault|stdout|constant):\s*(.*)$")

i8, u8, i16, u16, i32, u32, i64, u64 = (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                        np.int64, np.uint64)
f32, f64 = np.float32, np.float64
NAMESPACE = dict(np=np, i8=i8, u8=u8, i16=i16, u16=u16, i32=i32, u32=u32, i64=i64, u64=u64, f32=f32, f64=f64,
                 zeros=lambda n, t=f32: np.zeros(n, t), full=lambda n, v, t=f32: np.full(n, v, t),
                 arange=lambda n, t=i32: np.arange(n).astype(t),
                 rand=lambda n, t=f32, seed=0: np.random.default_rng(seed).uniform(-1, 1, n).astype(t),
                 randint=lambda n, lo, hi, t=i32, seed=0: np.random.default_rng(seed).integers(lo, hi, n).astype(t))


def cases() -> list[Path]:
    return sorted(RUN.glob("*.vk")) if RUN.exists() else []


def steps(path: Path):
    out = []
    for line in path.read_text().splitlines():
        m = DIRECTIVE.match(line)
        if m:
            out.append((m[1], m[2].strip()))
    return out


def split_top(spec: str) -> list[str]:
    """Split at spaces outside brackets: 'k x=zeros(4, i32) n=4' -> ['k', 'x=zeros(4, i32)', 'n=4']."""
    words, depth, cur = [], 0, ""
    for ch in spec:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch.isspace() and depth == 0:
            if cur:
                words.append(cur)
            cur = ""
        else:
            cur += ch
    return words + ([cur] if cur else [])


def parse_run(spec: str):
    words = split_top(spec)
    kernel, cfg, params = words[0], {"shared": "0"}, {}
    for w in words[1:]:
        name, eq, expr = w.partition("=")
        assert eq, f"run: {w!r} is not NAME=EXPR (write expressions without spaces outside brackets)"
        (cfg if name in ("grid", "block", "shared") else params)[name] = expr
    dims = lambda s: tuple(int(v) for v in s.split(","))  # noqa: E731
    return kernel, dims(cfg["grid"]), dims(cfg["block"]), int(cfg["shared"]), params


def launch(mod, spec, env, dev):
    kernel, grid, block, shared, params = parse_run(spec)
    k = mod.get_function(kernel)
    args, arrays = [], {}
    for name in k.param_names:
        value = eval(params[name], NAMESPACE, dict(env))  # noqa: S307 - test expressions we wrote
        if isinstance(value, np.ndarray):
            arrays[name] = vgpu.to_device(value, device=dev)
            value = arrays[name]
        env[name] = value
        args.append(value)
    k(*args, grid=grid, block=block, shared=shared, device=dev)
    for name, arr in arrays.items():
        env[name] = arr.copy_to_host()


@pytest.mark.parametrize("path", cases(), ids=lambda p: p.stem)
def test_run_case(path: Path, capfd):
    todo = steps(path)
    assert any(kind == "run" for kind, _ in todo), f"{path.name} has no '// run:' line"
    dev = vgpu.Device(workers=0)
    mod = vgpu.compile_file(path)
    env: dict = {}
    pending_fault = None
    for kind, spec in todo:
        if kind == "constant":
            name, _, expr = spec.partition("=")
            mod.set_constant(name.strip(), eval(expr, NAMESPACE, dict(env)), device=dev)  # noqa: S307
        elif kind == "run":
            try:
                launch(mod, spec, env, dev)
                pending_fault = None
            except vgpu.DeviceError as e:
                pending_fault = str(e)
        elif kind == "expect-fault":
            assert pending_fault is not None, f"expected a device fault containing {spec!r}"
            assert spec in pending_fault, pending_fault
        elif kind == "stdout":
            assert spec in capfd.readouterr().out
        else:
            assert pending_fault is None, pending_fault
            ok = eval(spec, NAMESPACE, dict(env))  # noqa: S307
            assert np.all(ok), f"expect failed: {spec}"
