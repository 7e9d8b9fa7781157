"""The grammars of vgpu's three languages (Lark files shipped inside the package) and their one loader.

    vk.lark    the .vk kernel language (vgpu.frontend.parse)
    vir.lark   the IR's text form (vgpu.ir.reader)
    vasm.lark  the assembly (vgpu.isa.asm)

`load_grammar(name, **options)` reads the file from the installed package (never from a source-tree
path, so a wheel install works) and builds a `lark.Lark` with `strict=True` (a grammar with a
shift/reduce or terminal collision is an error, not a silent choice) plus the caller's options.
"""
from __future__ import annotations

from importlib.resources import files

from lark import Lark


def load_grammar(name: str, **options) -> Lark:
    """The Lark parser of the grammar file `name` ('vk.lark', 'vir.lark', 'vasm.lark')."""
    text = files(__name__).joinpath(name).read_text(encoding="utf-8")
    return Lark(text, strict=True, **options)
