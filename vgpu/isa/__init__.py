"""The virtual ISA: instruction table, selection, register allocation, reconvergence, assembler
and disassembler.

    select_program(module, max_registers=None) -> Program     optimised IR -> runnable program
    assemble(text, filename) -> Program                       .vasm text -> the same Program
    disassemble(program) -> str                               the canonical listing
    SPEC                                                      the instruction table (spec.py)
"""
from __future__ import annotations

from ..diagnostics import Sources, Span
from ..ir.nodes import Module
from .asm import assemble
from .disasm import disassemble
from .peephole import clean_branches
from .program import Program, shared_symbols
from .reconv import place_reconvergence
from .regalloc import allocate
from .select import select_kernels
from .spec import SPEC

__all__ = ["select_program", "assemble", "disassemble", "SPEC", "Program"]


def select_program(module: Module, max_registers: int | None = None, sources: Sources | None = None) -> Program:
    """Compile an optimised IR module to a Program: select, allocate registers, clean up
    branches, place reconvergence points.  `sources` (the front end's) gives listings the
    text of lines in included headers too."""
    prog = select_kernels(module)
    for k in prog.kernels.values():
        allocate(k, max_registers)
        clean_branches(k)
        place_reconvergence(k)
        k.shared = shared_symbols(k, prog)
        if sources is not None:
            for ins in k.instrs:
                text = sources.line(Span(ins.file, ins.line, 1)) if ins.line and ins.file else None
                if text is not None:
                    prog.line_text[(ins.file, ins.line)] = text.strip()
    return prog
