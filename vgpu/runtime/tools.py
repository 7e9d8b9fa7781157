"""What the command line (and a user at the same level) needs from below the runtime, in one place.

In:  sanitizer names, trace settings, source files and compiled programs.
Out: `parse_checks` / `summary` (the sanitizers' names and closing line), `Tracer` (text and Chrome
     traces, divergence SVG), `DeviceError`, and the listings `ir_text` (SSA IR of a .vk file) and
     `assembly` (a Program as .vasm text).  `vgpu.cli` imports only vgpu, vgpu.runtime and vgpu.pipeline.
"""
from __future__ import annotations

from pathlib import Path

from .. import pipeline
from ..ir import print_module
from ..isa import disassemble
from ..isa.debuginfo import format_table
from ..sim import DeviceError, Tracer, parse_checks, summary

__all__ = ["DeviceError", "parse_checks", "summary", "Tracer", "ir_text", "assembly"]


def ir_text(path: str | Path, optimize: bool = True) -> str:
    """The SSA IR of the .vk file at `path` (optimised unless `optimize` is False)."""
    return print_module(pipeline.to_ir(pipeline.read_source(path), str(path), optimize=optimize))


def assembly(program, debug_info: bool = False) -> str:
    """A compiled Program as assembly text, with the source lines as comments (and, with
    `debug_info`, the `.var` directives saying where each source variable lives, then each kernel's
    table of them as comments)."""
    text = disassemble(program, debug_info)
    if debug_info:
        text += "".join("\n" + format_table(code) + "\n" for code in program.kernels.values())
    return text
