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


def to_ir(text: str, filename: str = "<string>", reporter: Reporter | None = None) -> Module:
    """Compile .vk source text to an IR module; raise CompileError on bad input.  `reporter` (a new
    one if None) collects the diagnostics, and in `reporter.sources` the text of every file read."""
    reporter = reporter if reporter is not None else Reporter()
    reporter.sources.add(filename, text)
    with deep_recursion():
        try:
            return _lower(parse(text, filename, reporter), filename, reporter)
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


def _lower(tu, filename: str, reporter: Reporter) -> Module:
    sema = check(tu, reporter)
    reporter.check()
    module = lower(tu, sema, filename, reporter)
    module.filename = filename
    if not module.kernels:
        templates = [d for d in tu.decls if isinstance(d, ast.TemplateDecl) and isinstance(d.decl, ast.FunctionDef)
                     and "__global__" in d.decl.qualifiers]
        if templates:
            d = templates[0].decl
            raise reporter.fatal(d.name_span or d.span, f"kernel template '{d.name}' is never instantiated, so this "
                                 f"file has no kernel: add an explicit instantiation, e.g. `template __global__ "
                                 f"void {d.name}<...>(...);`")
        raise reporter.fatal(Span(filename, 1, 1), "no kernel in this file: a .vk file needs a __global__ function")
    return module
