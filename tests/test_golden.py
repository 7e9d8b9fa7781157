"""Golden IR and assembly of every example: tests/golden/examples/NAME.ir and NAME.vasm.

`python -m pytest --update-golden` re-records them; review the diff.  The assembly also round-trips:
assembling the listing and disassembling it again gives the same text.
"""
from pathlib import Path

import pytest
from conftest import check_golden

from vgpu import isa, pipeline
from vgpu.ir import print_module

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.vk"))
GOLDEN = ROOT / "tests" / "golden" / "examples"


@pytest.mark.parametrize("src", EXAMPLES, ids=lambda p: p.stem)
def test_golden_ir(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    check_golden(GOLDEN / f"{src.stem}.ir", print_module(pipeline.to_ir(src.read_text(), src.name)))


@pytest.mark.parametrize("src", EXAMPLES, ids=lambda p: p.stem)
def test_golden_asm(src, monkeypatch):
    monkeypatch.chdir(src.parent)
    text = isa.disassemble(pipeline.compile_source(src.read_text(), src.name))
    check_golden(GOLDEN / f"{src.stem}.vasm", text)
    assert isa.disassemble(isa.assemble(text, f"{src.stem}.vasm")) == text
