"""The virtual ISA: instruction table, selection, register allocation, reconvergence, assembler
and disassembler.  The stages from an IR module to a Program are run by `vgpu.pipeline.to_program`
(select.select_kernels, regalloc.allocate, peephole.clean_branches, reconv.place_reconvergence).

    assemble(text, filename) -> Program                       .vasm text -> a Program
    disassemble(program) -> str                               the canonical listing
    SPEC                                                      the instruction table (spec.py)
"""
from __future__ import annotations

from .asm import assemble
from .disasm import disassemble
from .program import Program
from .spec import SPEC

__all__ = ["assemble", "disassemble", "SPEC", "Program"]
