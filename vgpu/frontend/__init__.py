"""The front end: .vk text in, SSA IR out (preprocess -> parse -> check -> lower).

    module = to_ir(text, "k.vk")      # ir.Module; raises CompileError with every diagnostic
"""
from __future__ import annotations

from pathlib import Path

from ..diagnostics import Reporter, Span, deep_recursion, too_deep
from ..ir.nodes import Module
from . import ast
from .check import check
from .lower import lower
from .parse import parse, parse_file


def to_ir(text: str, filename: str = "<string>", reporter: Reporter | None = None,
          instantiate: tuple[str, ...] = ()) -> Module:
    """Compile .vk source text to an IR module; raise CompileError on bad input.  `reporter` (a new
    one if None) collects the diagnostics, and in `reporter.sources` the text of every file read.
    `instantiate`: kernel template instances to make besides the file's own (`reduce<256, true>`)."""
    reporter = reporter if reporter is not None else Reporter()
    reporter.sources.add(filename, text)
    with deep_recursion():
        try:
            return _lower(parse(text, filename, reporter), filename, reporter, instantiate)
        except RecursionError as e:
            raise too_deep(reporter, e, Span(filename, 1, 1)) from None


def file_to_ir(path: str | Path) -> Module:
    """Compile a .vk file (its `#include "..."` resolve next to it) to an IR module."""
    reporter = Reporter()
    with deep_recursion():
        try:
            return _lower(parse_file(path, reporter), str(path), reporter)
        except RecursionError as e:
            raise too_deep(reporter, e, Span(str(path), 1, 1)) from None


def _lower(tu, filename: str, reporter: Reporter, instantiate: tuple[str, ...] = ()) -> Module:
    sema = check(tu, reporter, instantiate)
    reporter.check()
    module = lower(tu, sema, filename, reporter)
    module.filename = filename
    module.instances = dict(sema.instances)
    templates = [d.decl.name for d in tu.decls if isinstance(d, ast.TemplateDecl) and
                 isinstance(d.decl, ast.FunctionDef) and "__global__" in d.decl.qualifiers]
    module.templates = templates
    if not module.kernels:
        if not templates:       # as nvcc, a file of kernel templates alone compiles (to no kernel yet)
            raise reporter.fatal(Span(filename, 1, 1), "no kernel in this file: a .vk file needs a __global__ "
                                 "function or a kernel template")
    return module
