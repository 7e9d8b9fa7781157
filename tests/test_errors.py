"""Every file in tests/errors/ is a `// test: error` file: a bad input with its exact expected diagnostics
inside it, one line per error (the format is in tests/filetest.py):

    // error: 3:12: use of undeclared identifier 'x'

The compiler must report exactly those, in order, raise CompileError (never another exception), and
`vgpuc check` must exit 1 with `file:line:col` and a caret.
"""
from pathlib import Path

import pytest
from filetest import check_error, collect, header, problems

ERRORS = Path(__file__).resolve().parent / "errors"


def cases() -> list[Path]:
    """The error test files (also used by other test modules)."""
    return collect(ERRORS, "error")


def test_there_are_enough_error_cases():
    assert len(cases()) >= 40


@pytest.mark.parametrize("path", cases(), ids=lambda p: p.name)
def test_error_case(path: Path, tmp_path, capsys, monkeypatch):
    check_error(path, tmp_path, capsys, monkeypatch)


def test_every_file_says_it_is_an_error_test():
    assert problems(ERRORS, "error") == []


@pytest.mark.parametrize("text, why", [
    ("__global__ void k() {}\n", "has 0"),
    ("// test: error\n// test: error\n", "has 2"),
    ("// test: eror\n", "unknown test kind"),
])
def test_a_bad_header_is_reported(tmp_path, text, why):
    path = tmp_path / "bad.vk"
    path.write_text(text)
    with pytest.raises(ValueError, match=why):
        header(path)


def test_header_forms(tmp_path):
    (tmp_path / "a.vk").write_text("// test: ir, asm: two kinds\n")
    (tmp_path / "b.gen.py").write_text("# // test: error\n")
    (tmp_path / "c.vk").write_text("")
    (tmp_path / "c.vk.expect").write_text("// test: run\n")
    assert header(tmp_path / "a.vk") == (("ir", "asm"), "two kinds")
    assert header(tmp_path / "b.gen.py") == (("error",), "")
    assert header(tmp_path / "c.vk") == (("run",), "")
    (tmp_path / "d.vk").write_text("// test: run\n// error: 1:1: x\n")
    assert problems(tmp_path, "run") == ["a.vk: in the run tests but its header names ir, asm",
                                         "b.gen.py: in the run tests but its header names error",
                                         "d.vk: has 'error' expectation lines its header does not name"]
