"""Golden IR and assembly (the format is in tests/filetest.py); `python -m pytest --update-golden`
re-records them, review the diff.

- every example: tests/golden/examples/NAME.ir and NAME.vasm;
- every `// test: ir asm` file in tests/golden/ir/ (one language feature each: if_else, loops, switch,
  ...): NAME.ir and NAME.vasm beside it.
The assembly also round-trips: assembling the listing and disassembling it again gives the same text.
"""
from pathlib import Path

import pytest
from filetest import check_asm, check_ir, collect, problems

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.vk"))
GOLDEN = ROOT / "tests" / "golden" / "examples"
FEATURES = ROOT / "tests" / "golden" / "ir"


@pytest.mark.parametrize("src", EXAMPLES, ids=lambda p: p.stem)
def test_golden_ir(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    check_ir(src, GOLDEN)


@pytest.mark.parametrize("src", EXAMPLES, ids=lambda p: p.stem)
def test_golden_asm(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    check_asm(src, GOLDEN)


def test_every_feature_has_ir_and_asm_goldens():
    assert problems(FEATURES, "ir", (".vk",)) == [] and problems(FEATURES, "asm", (".vk",)) == []
    assert len(collect(FEATURES, "ir", (".vk",))) >= 8
    assert collect(FEATURES, "ir", (".vk",)) == collect(FEATURES, "asm", (".vk",))


@pytest.mark.parametrize("src", collect(FEATURES, "ir", (".vk",)), ids=lambda p: p.stem)
def test_feature_ir(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    check_ir(src)


@pytest.mark.parametrize("src", collect(FEATURES, "asm", (".vk",)), ids=lambda p: p.stem)
def test_feature_asm(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    check_asm(src)
