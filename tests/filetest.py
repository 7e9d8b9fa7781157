"""The file-test runner: every test is one file that says what it tests and holds what to expect.

The header line names the kinds of test (Cranelift's `test` line):

    // test: run: a description            (in a .gen.py: `# // test: error`)

Kinds, and the expectation lines each reads from the same file (clox's `// expect:`):

- `run`: the file is a kernel with its launches:
      // run: kern grid=2 block=32 out=zeros(64, i32) x=arange(64, i32) n=64
      // expect: out == x * 2
  `run:` names the kernel, grid and block (X or X,Y,Z), optionally shared=BYTES, then every parameter
  as NAME=EXPR (a Python expression over NAMESPACE below; an ndarray becomes a device array, anything
  else a scalar).  Each `expect:` is a Python expression over the parameters after the launch (arrays
  copied back) that must be true (numpy results are reduced with .all()).  Several run/expect groups may
  follow each other; `expect-fault: TEXT` expects a device fault whose message contains TEXT,
  `stdout: TEXT` a printf line, `constant: NAME = EXPR` sets a __constant__ symbol.  In-process
  (workers=0).
- `error`: the file is a bad input; one `// error: LINE:COL: message` per expected diagnostic (positions
  in that same file; `0:0` for one without a position), in order.  The compiler must report exactly
  those, raise CompileError (never another exception), and `vgpuc check` must exit 1 with
  `file:line:col` and a caret.  A `NAME.gen.py` builds a large input at test time (`source()` returns
  the text; its header and `# // error:` lines are comments of the script).
- `ir`: golden IR of the file, in NAME.ir beside it (or in the folder the caller names).
- `asm`: golden assembly in NAME.vasm, which must also round-trip (assemble, disassemble, same text).

The header is the file's first line; an input that cannot move its lines (an error test whose first
line is code) carries it where its expectations begin, and one that cannot hold it at all (an empty
file) has header and expectations in a sidecar `NAME.expect` (e.g. `empty.vk.expect`).
`python -m pytest --update-golden` re-records the ir/asm goldens; review the diff.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from conftest import check_golden

import vgpu
from vgpu import isa, pipeline
from vgpu.cli import main
from vgpu.diagnostics import CompileError
from vgpu.ir import print_module
from vgpu.pipeline import InternalCompilerError

KINDS = ("run", "error", "ir", "asm")
HEADER = re.compile(r"^\s*(?:#\s*)?//\s*test:\s*([a-z][a-z ,]*?)\s*(?::\s*(.*?))?\s*$")
DIRECTIVE = re.compile(r"^\s*//\s*(run|expect|expect-fault|stdout|constant):\s*(.*)$")
ERROR = re.compile(r"//\s*error:\s*(\d+):(\d+):\s*(.*?)\s*$")
OWNER = {"run": "run", "expect": "run", "expect-fault": "run", "stdout": "run", "constant": "run", "error": "error"}
SUFFIXES = (".vk", ".vasm")


def is_case(path: Path, suffixes=SUFFIXES) -> bool:
    return path.suffix in suffixes or path.name.endswith(".gen.py")


def spec_text(path: Path) -> str:
    """The text holding the file's header and expectations (its sidecar NAME.expect if it has one)."""
    sidecar = path.with_name(path.name + ".expect")
    return (sidecar if sidecar.exists() else path).read_bytes().decode("utf-8", errors="replace")


def header(path: Path) -> tuple[tuple[str, ...], str]:
    """(kinds, description) of a test file; exactly one header line, naming known kinds."""
    found = [m for m in map(HEADER.match, spec_text(path).splitlines()) if m]
    if len(found) != 1:
        raise ValueError(f"{path.name}: needs exactly one '// test: KIND' header line, has {len(found)}")
    kinds = tuple(k for k in re.split(r"[ ,]+", found[0][1]) if k)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"{path.name}: unknown test kind {unknown or kinds} (known: {', '.join(KINDS)})")
    return kinds, found[0][2] or ""


def directive_kinds(path: Path) -> set[str]:
    """The test kinds whose expectation lines appear in the file."""
    used = set()
    for line in spec_text(path).splitlines():
        m = DIRECTIVE.match(line)
        if m:
            used.add(OWNER[m[1]])
        elif ERROR.search(line):
            used.add("error")
    return used


def collect(folder: Path, kind: str, suffixes: tuple[str, ...] = SUFFIXES) -> list[Path]:
    """The test files (NAME.vk, .vasm, .gen.py; or those `suffixes`) in `folder` whose header names `kind`;
    each must have a valid header."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.iterdir() if is_case(p, suffixes) and kind in header(p)[0])


def problems(folder: Path, kind: str, suffixes: tuple[str, ...] = SUFFIXES) -> list[str]:
    """What is wrong with the test files of a folder that holds `kind` tests: a file without exactly one
    valid header, a header not naming `kind`, expectation lines of a kind the header does not name."""
    out = []
    for p in sorted(folder.iterdir()):
        if not is_case(p, suffixes):
            continue
        try:
            kinds, _ = header(p)
        except ValueError as e:
            out.append(str(e))
            continue
        if kind not in kinds:
            out.append(f"{p.name}: in the {kind} tests but its header names {', '.join(kinds)}")
        stray = directive_kinds(p) - set(kinds)
        if stray:
            out.append(f"{p.name}: has '{'/'.join(sorted(stray))}' expectation lines its header does not name")
    return out


# ------------------------------------------------------------------------------------------------ run

i8, u8, i16, u16, i32, u32, i64, u64 = (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                                        np.int64, np.uint64)
f16, f32, f64 = np.float16, np.float32, np.float64


def hbits(x) -> np.ndarray:
    """The bits of x rounded to float16 (numpy: one correct rounding), NaNs as the GPU's 0x7FFF."""
    h = np.asarray(x).astype(np.float16)
    return np.where(np.isnan(h), np.uint16(0x7FFF), h.view(np.uint16))


NAMESPACE = dict(np=np, i8=i8, u8=u8, i16=i16, u16=u16, i32=i32, u32=u32, i64=i64, u64=u64, f16=f16, f32=f32,
                 f64=f64, hbits=hbits,
                 zeros=lambda n, t=f32: np.zeros(n, t), full=lambda n, v, t=f32: np.full(n, v, t),
                 arange=lambda n, t=i32: np.arange(n).astype(t),
                 rand=lambda n, t=f32, seed=0: np.random.default_rng(seed).uniform(-1, 1, n).astype(t),
                 randint=lambda n, lo, hi, t=i32, seed=0: np.random.default_rng(seed).integers(lo, hi, n).astype(t))


def steps(path: Path) -> list[tuple[str, str]]:
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
        if name not in params:                   # left to its default argument (and so are the rest)
            break
        value = eval(params[name], NAMESPACE, dict(env))  # noqa: S307 - test expressions we wrote
        if isinstance(value, np.ndarray):
            arrays[name] = vgpu.to_device(value, device=dev)
            value = arrays[name]
        env[name] = value
        args.append(value)
    k(*args, grid=grid, block=block, shared=shared, device=dev)
    for name, arr in arrays.items():
        env[name] = arr.copy_to_host()


def check_run(path: Path, capfd) -> None:
    """Run every launch of a `run` file and check each expectation after it."""
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
            with np.errstate(all="ignore"):       # references over NaN/inf inputs (tier4_fp16.vk)
                ok = eval(spec, NAMESPACE, dict(env))  # noqa: S307
            assert np.all(ok), f"expect failed: {spec}"


# ---------------------------------------------------------------------------------------------- error

def expected_errors(path: Path) -> list[tuple[int, int, str]]:
    return [(int(m[1]), int(m[2]), m[3]) for m in map(ERROR.search, spec_text(path).splitlines()) if m]


def materialise(path: Path, tmp: Path) -> Path:
    """The input file to compile: the case itself, or what its .gen.py generates."""
    if not path.name.endswith(".gen.py"):
        return path
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)  # noqa: S102 - our own generator
    out = tmp / path.name.replace(".gen.py", ".vk")
    out.write_text(ns["source"]())
    return out


def check_error(path: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Compile an `error` file: exactly its expected diagnostics, a CompileError, `vgpuc check` exit 1."""
    want = expected_errors(path)
    assert want, f"{path.name} has no '// error: LINE:COL: message' line"
    path = materialise(path, tmp_path)
    monkeypatch.chdir(path.parent)          # messages name files as given: relative names here
    path = Path(path.name)
    try:
        pipeline.compile_path(path)
    except CompileError as e:
        error = e
    else:
        raise AssertionError(f"{path.name} compiled without an error")
    assert not isinstance(error, InternalCompilerError), str(error)
    got = [(d.span.line, d.span.col, d.message) for d in error.diagnostics if d.severity == "error"]
    assert got == want
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    line, col, msg = want[0]
    assert f"{path.name}:{line}:{col}: error: {msg}" in err if line else msg in err
    if line and path.stat().st_size:
        assert "^" in err


# --------------------------------------------------------------------------------------------- golden

def golden_path(src: Path, kind: str, folder: Path | None = None) -> Path:
    return (folder or src.parent) / (src.stem + {"ir": ".ir", "asm": ".vasm"}[kind])


def check_ir(src: Path, folder: Path | None = None) -> None:
    """The optimised IR of `src` equals its golden NAME.ir."""
    check_golden(golden_path(src, "ir", folder), print_module(pipeline.to_ir(src.read_text(), src.name)))


def check_asm(src: Path, folder: Path | None = None) -> None:
    """The assembly listing of `src` equals its golden NAME.vasm and round-trips through the assembler."""
    text = isa.disassemble(pipeline.compile_source(src.read_text(), src.name))
    check_golden(golden_path(src, "asm", folder), text)
    assert isa.disassemble(isa.assemble(text, f"{src.stem}.vasm")) == text
