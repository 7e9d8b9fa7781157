"""The C preprocessor stage: .vk text in, preprocessed text and a `LineMap` out.

In:  the text of one .vk file, its name, and a `Reporter` (whose `sources` receives every file read).
Out: `(text, line_map)`: the text with directives done, macros expanded and comments removed, laid out
     one output line per original (file, line), tokens at their original columns where possible;
     `line_map.span(...)` turns a position in that text back into a `Span` of the original file.

The preprocessor is pcpp (a real C99 preprocessor).  `#include "x.vkh"` is looked up only in the
directory of the including file; `#include <...>` (CUDA and C system headers) is accepted and ignored;
`#pragma` is ignored.  pcpp's own complaints become diagnostics; it never prints.  Columns inside a
macro expansion point at the macro's use.  Text without a '#' skips pcpp entirely.
"""
from __future__ import annotations

import io
import os
import re
from bisect import bisect_right

from pcpp import Action, OutputDirective, Preprocessor

from ..diagnostics import Reporter, Span

PREDEFINED = {"__CUDACC__": "1", "__NVCC__": "1", "__CUDA_ARCH__": "900"}   # nvcc, device pass, sm_90
MAX_INCLUDE_DEPTH = 32
IGNORED_DIRECTIVES = {"pragma", "line", "ident"}


class LineMap:
    """Positions in preprocessed text -> positions in the original files.

    `lines[i]` is the (file, line) of output line i + 1.  Lines whose tokens moved (after a macro
    expansion) have `anchors`: sorted (out_col, orig_col, exact) where each token starts; a column
    maps through the last anchor at or before it, exactly (`exact`) or onto the macro use.
    """

    def __init__(self, lines: list[tuple[str, int]], anchors: dict[int, list[tuple[int, int, bool]]]):
        self.lines = lines
        self.anchors = anchors

    @classmethod
    def identity(cls, filename: str, nlines: int) -> "LineMap":
        return cls([(filename, i + 1) for i in range(max(nlines, 1))], {})

    def locate(self, line: int, col: int) -> tuple[str, int, int]:
        """(file, line, col) of 1-based output `line`, `col`."""
        if not self.lines:
            return ("<unknown>", 0, 0)
        file, orig_line = self.lines[min(max(line, 1), len(self.lines)) - 1]
        anchors = self.anchors.get(line)
        if not anchors or col < anchors[0][0]:
            return file, orig_line, col
        out_col, orig_col, exact = anchors[bisect_right(anchors, (col, 1 << 30, True)) - 1]
        return file, orig_line, orig_col + (col - out_col if exact else 0)

    def span(self, line: int, col: int, end_line: int | None = None, end_col: int | None = None) -> Span:
        """The original-file Span of an output range (end_col exclusive, kept only on one line)."""
        if line not in self.anchors and 1 <= line <= len(self.lines):    # the common case, made quick
            file, oline = self.lines[line - 1]
            return Span(file, oline, col, end_col if end_line == line and end_col and end_col > col else None)
        file, oline, ocol = self.locate(line, col)
        end = None
        if end_line is not None and end_col is not None:
            efile, eline, ecol = self.locate(end_line, max(end_col - 1, 1))
            if (efile, eline) == (file, oline) and ecol >= ocol:
                end = ecol + 1
        return Span(file, oline, ocol, end)


def normalise(text: str) -> str:
    """Lines as Python (and pcpp, and Sources) split them, joined with '\\n'."""
    return "\n".join(text.splitlines())


def preprocess(text: str, filename: str, reporter: Reporter) -> tuple[str, LineMap]:
    """Run the preprocessor over `text` (the contents of `filename`)."""
    reporter.sources.add(filename, text)
    text = normalise(text)
    if "#" not in text:
        return text, LineMap.identity(filename, text.count("\n") + 1)
    pp = _Preprocessor(filename, text, reporter)
    try:
        pp.parse(text, os.path.abspath(filename))
        tokens = list(iter(pp.token, None))
    except RecursionError:
        raise reporter.fatal(Span(filename, 1, 1), "preprocessing nests too deeply")
    except Exception:  # pcpp is third-party: whatever it raises becomes a diagnostic
        raise reporter.fatal(pp.directive_span(), "malformed preprocessing directive")
    text, lines = _render(tokens, pp)
    return (text, lines) if lines.lines else ("", LineMap.identity(filename, 1))


class _Preprocessor(Preprocessor):
    """pcpp with vgpu's include rules and its errors routed to a Reporter."""

    def __init__(self, filename: str, text: str, reporter: Reporter):
        super().__init__()
        self.reporter = reporter
        self.line_directive = None
        self.rewrite_paths = []
        self.auto_pragma_once_enabled = False    # include guards are honoured the ordinary way
        self.display = {os.path.abspath(filename): filename}   # absolute path -> name in diagnostics
        self.wanted = ""                         # the path the current #include "..." asks for
        self.starts: dict[str, list[int]] = {}   # absolute path -> offsets where each line starts
        self._add_starts(os.path.abspath(filename), text)
        for name, value in PREDEFINED.items():
            self.define(f"{name} {value}")

    def _add_starts(self, path: str, text: str) -> None:
        starts, pos = [], 0
        for line in text.split("\n"):
            starts.append(pos)
            pos += len(line.rstrip()) + 1          # pcpp strips trailing blanks before lexing
        self.starts[path] = starts

    def span_of(self, path: str | None, line: int, col: int = 1) -> Span:
        return Span(self.display.get(path or "", path or "<unknown>"), line, col)

    def directive_span(self) -> Span:
        d = self.lastdirective
        return self.span_of(d.source, d.lineno) if d is not None else self.span_of(None, 0)

    def column(self, tok) -> int:
        starts = self.starts.get(tok.source)
        if not starts or not 1 <= tok.lineno <= len(starts):
            return 1
        return max(tok.lexpos - starts[tok.lineno - 1] + 1, 1)

    # -- pcpp hooks ------------------------------------------------------------------------------

    def on_error(self, file, line, msg):
        bad_if = re.match(r"Could not evaluate expression .*\(passed to evaluator: '(.*)'\)$", msg.strip(), re.S)
        msg = f"invalid preprocessor expression '{bad_if.group(1)}'" if bad_if else msg.strip()
        self.reporter.error(self.span_of(file, line), msg[0].lower() + msg[1:] if msg else "preprocessor error")

    def on_directive_handle(self, directive, toks, ifpassthru, precedingtoks):
        if directive.value == "include" and toks and toks[0].type == self.t_STRING:
            self.wanted = os.path.join(os.path.dirname(directive.source or ""), toks[0].value[1:-1])
        return super().on_directive_handle(directive, toks, ifpassthru, precedingtoks)

    def on_file_open(self, is_system_include, includepath):
        if is_system_include or includepath != os.path.abspath(self.wanted):
            raise IOError(includepath)       # only next to the including file
        if self.include_depth >= MAX_INCLUDE_DEPTH:
            self.reporter.error(self.directive_span(), "#include nested too deeply")
            raise OutputDirective(Action.IgnoreAndRemove)
        with open(includepath, "rb") as f:
            data = f.read()
        source = self.lastdirective.source
        name = os.path.normpath(os.path.join(os.path.dirname(self.display.get(source, "")),
                                             os.path.relpath(includepath, os.path.dirname(source))))
        text = decode(data, name, self.reporter)
        self.display[includepath] = name
        self.reporter.sources.add(name, text)
        self._add_starts(includepath, normalise(text))
        return io.StringIO(text)

    def on_include_not_found(self, is_malformed, is_system_include, curdir, includepath):
        if is_malformed:
            self.reporter.error(self.directive_span(), "#include expects \"FILENAME\" or <FILENAME>")
        elif not is_system_include:
            self.reporter.error(self.directive_span(), f"'{includepath}' file not found")
        raise OutputDirective(Action.IgnoreAndRemove)

    def on_directive_unknown(self, directive, toks, ifpassthru, precedingtoks):
        text = "".join(t.value for t in toks).strip()
        span = self.span_of(directive.source, directive.lineno)
        if directive.value == "error":
            self.reporter.error(span, f"#error {text}".rstrip())
        elif directive.value not in IGNORED_DIRECTIVES | {"warning"}:
            self.reporter.error(span, f"invalid preprocessing directive #{directive.value}")
        return True

    def on_comment(self, tok):
        return False


def decode(data: bytes, filename: str, reporter: Reporter) -> str:
    """UTF-8 text of a file's bytes; a bad byte is an error at its line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        good = data[:e.start].decode("utf-8", "replace")
        line = good.count("\n") + 1
        col = len(good) - (good.rfind("\n") + 1) + 1
        reporter.sources.add(filename, data.decode("utf-8", "replace"))
        raise reporter.fatal(Span(filename, line, col), f"invalid UTF-8 byte 0x{data[e.start]:02x}")


def _render(tokens, pp: _Preprocessor) -> tuple[str, LineMap]:
    """Lay pcpp's tokens out one line per original line, each at its original column if it fits."""
    out: list[str] = []
    lines: list[tuple[str, int]] = []
    anchors: dict[int, list[tuple[int, int, bool]]] = {}
    buf: list[str] = []
    width = 0
    key = None
    pending = 1                 # the original column where the next token starts, from blanks seen
    in_macro = False
    for tok in tokens:
        expanded = bool(getattr(tok, "expanded_from", None))
        if tok.type in pp.t_WS:
            if not expanded:
                pending = 1 if "\n" in tok.value else pp.column(tok) + len(tok.value)
            continue
        if not tok.value:
            continue
        k = (tok.source, tok.lineno)
        if k != key:
            if key is not None:
                out.append("".join(buf))
            key, buf, width, in_macro = k, [], 0, False
            lines.append((pp.display.get(tok.source, tok.source or "<unknown>"), tok.lineno))
        if expanded:
            col = None if in_macro else pending       # a macro's tokens all map to its use
        else:
            col = pp.column(tok)
            pending = col + len(tok.value)
        if col is not None and width < col - 1:
            buf.append(" " * (col - 1 - width))
            width = col - 1
        elif width and (expanded or in_macro or col is None or width > col - 1):
            buf.append(" ")                           # keep tokens from pasting together
            width += 1
        line_anchors = anchors.get(len(lines))
        if col is not None and (expanded or line_anchors is not None or width != col - 1):
            anchors.setdefault(len(lines), []).append((width + 1, col, not expanded))
        in_macro = expanded
        buf.append(tok.value)
        width += len(tok.value)
    if key is not None:
        out.append("".join(buf))
    return "\n".join(out), LineMap(lines, anchors)
