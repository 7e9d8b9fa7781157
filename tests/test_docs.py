"""docs/language.md is true: every ```c kernel block compiles, every ```c error block gives the
diagnostic its last line (`// error: MESSAGE`) names."""
import re
from pathlib import Path

import pytest

import vgpu

DOC = Path(__file__).resolve().parents[1] / "docs" / "language.md"
BLOCK = re.compile(r"^```c (kernel|error)\n(.*?)^```$", re.M | re.S)


def blocks(kind: str) -> list[str]:
    return [body for k, body in BLOCK.findall(DOC.read_text()) if k == kind]


def test_the_doc_has_examples():
    assert len(blocks("kernel")) >= 15 and len(blocks("error")) >= 10


@pytest.mark.parametrize("source", blocks("kernel"), ids=lambda s: s.split("(")[0].split()[-1])
def test_kernel_example_compiles(source):
    assert vgpu.compile(source, filename="<doc>").kernel_names


@pytest.mark.parametrize("source", blocks("error"), ids=lambda s: s.splitlines()[-1][10:50])
def test_error_example_gives_its_diagnostic(source):
    message = source.rstrip().splitlines()[-1].removeprefix("// error: ")
    with pytest.raises(vgpu.CompileError) as info:
        vgpu.compile(source, filename="<doc>")
    assert message in [d.message for d in info.value.diagnostics]
