"""Every file in tests/errors/ is a bad input with its exact expected diagnostics inside it:

    // error: 3:12: use of undeclared identifier 'x'

one line per expected error (line:col: message, positions in that same file; `// error: 0:0: ...` for a
diagnostic without a position).  The compiler must report exactly those, in that order, raise
CompileError (never another exception), and `vgpuc check` must exit 1 with `file:line:col` and a caret.
An input that cannot hold its own expectation (an empty file) has them in a sidecar `NAME.vk.expect`;
a `NAME.gen.py` builds a large input at test time: it defines `source()` returning the text and holds
the `// error:` lines itself.
"""
import re
from pathlib import Path

import pytest

from vgpu import pipeline
from vgpu.cli import main
from vgpu.diagnostics import CompileError
from vgpu.pipeline import InternalCompilerError

ERRORS = Path(__file__).resolve().parent / "errors"
EXPECT = re.compile(r"//\s*error:\s*(\d+):(\d+):\s*(.*?)\s*$")


def cases() -> list[Path]:
    return sorted(p for p in ERRORS.iterdir() if p.suffix in (".vk", ".vasm") or p.name.endswith(".gen.py"))


def expected(path: Path) -> list[tuple[int, int, str]]:
    sidecar = path.with_name(path.name + ".expect")
    text = (sidecar if sidecar.exists() else path).read_bytes().decode("utf-8", errors="replace")
    return [(int(m[1]), int(m[2]), m[3]) for m in map(EXPECT.search, text.splitlines()) if m]


def materialise(path: Path, tmp: Path) -> Path:
    """The input file to compile: the case itself, or what its .gen.py generates."""
    if not path.name.endswith(".gen.py"):
        return path
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)  # noqa: S102 - our own generator
    out = tmp / path.name.replace(".gen.py", ".vk")
    out.write_text(ns["source"]())
    return out


def test_there_are_enough_error_cases():
    assert len(cases()) >= 40


@pytest.mark.parametrize("path", cases(), ids=lambda p: p.name)
def test_error_case(path: Path, tmp_path, capsys, monkeypatch):
    want = expected(path)
    assert want, f"{path.name} has no '// error: LINE:COL: message' line"
    path = materialise(path, tmp_path)
    monkeypatch.chdir(path.parent)          # messages name files as given: relative names here
    path = Path(path.name)
    with pytest.raises(CompileError) as info:
        pipeline.compile_path(path)
    assert not isinstance(info.value, InternalCompilerError), str(info.value)
    got = [(d.span.line, d.span.col, d.message) for d in info.value.diagnostics if d.severity == "error"]
    assert got == want
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    line, col, msg = want[0]
    assert f"{path.name}:{line}:{col}: error: {msg}" in err if line else msg in err
    if line and path.stat().st_size:
        assert "^" in err
