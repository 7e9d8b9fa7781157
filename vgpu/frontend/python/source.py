"""A Python kernel's source: its `ast`, the file it came from, and the names it can see.

In:  a Python function object.
Out: `PySource`: the parsed FunctionDef, spans that point at the function's .py file and line, the
     function's globals and closure values, and `error()` building a `CompileError` with a caret.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import textwrap

from ...diagnostics import CompileError, Diagnostic, Span


class PySource:
    def __init__(self, pyfunc):
        self.pyfunc = pyfunc
        self.name = pyfunc.__name__
        try:
            lines, start = inspect.getsourcelines(pyfunc)
            self.filename = inspect.getsourcefile(pyfunc) or "<string>"
        except (OSError, TypeError):
            raise CompileError(Diagnostic(Span("<unknown>", 0, 0),
                                          f"cannot read the source of {self.name!r}: a kernel must be a "
                                          f"function defined in a file or notebook cell")) from None
        text = "".join(lines)
        dedented = textwrap.dedent(text)
        first = next((ln for ln in lines if ln.strip()), "")
        self.indent = len(first) - len(first.lstrip()) if dedented != text else 0
        self.line0 = start - 1 if start > 0 else 0
        self.lines = lines
        try:
            with open(self.filename, encoding="utf-8") as f:
                self.file_text = f.read()
        except OSError:
            self.file_text = "\n" * self.line0 + text
        tree = ast.parse(dedented)
        fn = tree.body[0]
        if not isinstance(fn, (ast.FunctionDef,)):
            raise self.error(fn, "a kernel must be a plain `def` function")
        self.tree = fn
        self.names = dict(pyfunc.__globals__)
        code = pyfunc.__code__
        if pyfunc.__closure__:
            for name, cell in zip(code.co_freevars, pyfunc.__closure__):
                try:
                    self.names[name] = cell.cell_contents
                except ValueError:
                    pass
        self.builtins = vars(builtins)

    def span(self, node) -> Span:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end = getattr(node, "end_col_offset", None)
        end_line = getattr(node, "end_lineno", line)
        ind = self.indent
        return Span(self.filename, line + self.line0, col + ind + 1,
                    end + ind + 1 if end is not None and end_line == line else None)

    def source_line(self, span: Span) -> str | None:
        k = span.line - self.line0 - 1
        return self.lines[k] if 0 <= k < len(self.lines) else None

    def error(self, node, msg: str) -> CompileError:
        span = self.span(node)
        return CompileError(Diagnostic(span, msg, source_line=self.source_line(span)))

    def lookup(self, name: str):
        """(found, value) of a global, closure or builtin name."""
        if name in self.names:
            return True, self.names[name]
        if name in self.builtins:
            return True, self.builtins[name]
        return False, None
