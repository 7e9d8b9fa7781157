"""Source spans and the one error type every stage raises.

In:  positions (file, line, column) gathered by the preprocessor, parser, checker, IR reader,
     assembler and verifier, plus the source text they came from.
Out: `CompileError`, a list of `Diagnostic`s; `str()` renders each as

    k.vk:3:12: error: undeclared identifier 'x'
        int y = x + 1;
                ^

Lines and columns are 1-based.  A span may cover several characters (`^~~~`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A place in a source file: 1-based line and column, `end_col` exclusive (same line)."""
    file: str
    line: int
    col: int
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<unknown>", 0, 0)


@dataclass
class Diagnostic:
    """One message about one place.  `severity` is 'error', 'warning' or 'note'."""
    span: Span
    message: str
    severity: str = "error"
    source_line: str | None = None   # the text of span.line, for the caret

    def render(self) -> str:
        head = f"{self.span}: {self.severity}: {self.message}" if self.span.line else \
            f"{self.span.file}: {self.severity}: {self.message}"
        if not self.source_line or self.span.line <= 0:
            return head
        text = self.source_line.rstrip("\n").expandtabs(1)
        col = max(1, min(self.span.col, len(text) + 1))
        width = 1
        if self.span.end_col and self.span.end_col > col:
            width = min(self.span.end_col, len(text) + 1) - col
        return f"{head}\n    {text}\n    {' ' * (col - 1)}^{'~' * max(0, width - 1)}"


class Sources:
    """Keeps the text of every file the compiler read, so diagnostics can show their lines."""

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {}

    def add(self, name: str, text: str) -> None:
        self.files[name] = text.splitlines()

    def line(self, span: Span) -> str | None:
        lines = self.files.get(span.file)
        if lines is None or not 1 <= span.line <= len(lines):
            return None
        return lines[span.line - 1]


class CompileError(Exception):
    """Raised by every compile stage.  `.diagnostics` is a non-empty list of `Diagnostic`."""

    def __init__(self, diagnostics: list[Diagnostic] | Diagnostic):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)

    def __str__(self) -> str:
        return self.render()


@dataclass
class Reporter:
    """Collects diagnostics during a stage; `check()` raises them together at the end.

    Stages call `error(span, msg)` for every problem they can recover from and `fatal` for one
    they cannot; lines come from `sources`.
    """
    sources: Sources = field(default_factory=Sources)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    limit: int = 50

    def error(self, span: Span, message: str) -> None:
        if any(d.span == span and d.message == message for d in self.diagnostics):
            return
        self.diagnostics.append(Diagnostic(span, message, "error", self.sources.line(span)))
        if len(self.errors) >= self.limit:
            raise CompileError(self.diagnostics)

    def fatal(self, span: Span, message: str) -> "CompileError":
        """Record an error and return the CompileError to raise: `raise rep.fatal(span, msg)`."""
        self.diagnostics.append(Diagnostic(span, message, "error", self.sources.line(span)))
        return CompileError(self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def check(self) -> None:
        if self.errors:
            raise CompileError(self.diagnostics)


# -- how deeply a program may nest -----------------------------------------------------------------

NESTING_FRAMES = 30_000
"""The Python recursion limit while compiling: the recursive stages (parse-tree building, checking,
lowering) take a few frames per level, so expressions and statements nest a few thousand levels
deep.  Deeper programs get "nested too deeply" at the innermost construct (`too_deep`)."""


class deep_recursion:
    """Context manager: raise the recursion limit to NESTING_FRAMES for the block (Python 3.11
    does not use the C stack for Python-to-Python calls, so this is safe)."""

    def __enter__(self):
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.old, NESTING_FRAMES))
        return self

    def __exit__(self, *exc) -> None:
        sys.setrecursionlimit(self.old)


def note_depth(exc: RecursionError, span: Span | None) -> None:
    """Remember the innermost construct a RecursionError unwinds through (the first to see it)."""
    if span is not None and getattr(exc, "span", None) is None:
        exc.span = span


def too_deep(reporter: Reporter, exc: RecursionError, fallback: Span) -> CompileError:
    """The CompileError for a program that nests beyond NESTING_FRAMES, at the construct recorded
    by `note_depth` (else `fallback`)."""
    return reporter.fatal(getattr(exc, "span", None) or fallback,
                          "nested too deeply: vgpu compiles expressions and statements nested up to a few "
                          "thousand levels")
