"""The C preprocessor stage: .vk text in, preprocessed text and a `LineMap` out.

In:  the text of one .vk file, its name, and a `Reporter` (whose `sources` receives every file read).
Out: `(text, line_map)`: the text with directives done, macros expanded and comments removed, laid out
     one output line per original (file, line), tokens at their original columns where possible;
     `line_map.span(...)` turns a position in that text back into a `Span` of the original file.

The preprocessor is pcpp (a real C99 preprocessor) with a C lexer for numbers (pp-numbers: `2.5f`,
`7ull`, `1e-3F` stay one token).  `#include "x.vkh"` is looked up only in the directory of the including
file; `#include <...>` finds vgpu's built-in headers (vgpu/include: <climits> <cfloat> <cstdint>
<cuda_runtime.h> and their .h names, with x86-64 Linux nvcc/glibc values); any other system header is
accepted and ignored.  `#pragma` is ignored.  pcpp's own complaints become diagnostics; it never prints.
The output is token-exact: two tokens are separated only where the source (or a macro body) separated
them, or where they would paste into another token.  Columns inside a macro expansion point at the macro's
use.  What it may read is capped (file size, regular files only, total bytes and number of includes,
tokens made by macro expansion).  Text without a '#' skips pcpp entirely.
"""
from __future__ import annotations

import copy
import errno
import io
import os
import re
import stat
import types
from bisect import bisect_right

import pcpp.parser
from pcpp import Action, OutputDirective, Preprocessor
from pcpp.parser import lex

from ..diagnostics import CompileError, Reporter, Span
from .literals import PP_NUMBER, LiteralError, number

# nvcc's device pass for sm_90 on x86-64 Linux (`nvcc -E -Xcompiler -dM`; not the GNU-mode `linux`/`unix`)
PREDEFINED = {"__CUDACC__": "1", "__NVCC__": "1", "__CUDA_ARCH__": "900", "__CUDACC_VER_MAJOR__": "13",
              "__CUDACC_VER_MINOR__": "0", "__cplusplus": "201703L", "__linux__": "1", "__linux": "1",
              "__gnu_linux__": "1", "__unix__": "1", "__unix": "1", "__x86_64__": "1", "__x86_64": "1",
              "__LP64__": "1", "_LP64": "1", "__ELF__": "1", "__CHAR_BIT__": "8", "__SIZEOF_POINTER__": "8"}
INCLUDE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include")
MAX_INCLUDE_DEPTH = 32
MAX_FILE_BYTES = 4 << 20          # one source file or header
MAX_TOTAL_BYTES = 16 << 20        # all files read by one compilation, repeats included
MAX_INCLUDES = 4096               # #include directives followed by one compilation
MAX_EXPANDED_TOKENS = 400_000     # tokens made by macro expansion in one compilation
IGNORED_DIRECTIVES = {"pragma", "line", "ident"}
# What nvcc's implicit `#include "cuda_runtime.h"` gives every file without an #include: the macros of
# <limits.h>, <stdlib.h>, <stddef.h>, <math.h> and <assert.h> that it pulls in, defined before line 1.
IMPLICIT_HEADER = os.path.join(INCLUDE_DIR, "__vgpu_implicit.h")


def _implicit_macros() -> dict[str, str]:
    """Name -> the `#define` text (without `#define`) of each macro the implicit header set gives,
    read from vgpu/include (the headers' include guards left out)."""
    out: dict[str, str] = {}

    def read(path: str) -> None:
        with open(path) as f:
            for line in f:
                m = re.match(r"\s*#\s*include\s*<([^>]+)>", line)
                if m:
                    read(os.path.join(INCLUDE_DIR, m.group(1)))
                m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)(.*)", line)
                if m and not m.group(1).startswith("_VGPU_"):
                    out[m.group(1)] = m.group(1) + m.group(2).rstrip()
    read(IMPLICIT_HEADER)
    return out


IMPLICIT_MACROS = _implicit_macros()
_IMPLICIT_USE = re.compile(r"\b(?:%s)\b" % "|".join(sorted(IMPLICIT_MACROS)))


def _t_pp_number(t):
    v = t.value
    exponent = "pP" if v[:2] in ("0x", "0X") else "eE"
    if "." in v or any(c in v for c in exponent):
        t.type = "CPP_FLOAT"
    return t


_t_pp_number.__doc__ = PP_NUMBER            # ply takes a rule's regex from its docstring


def _make_lexer():
    """pcpp's lexer with C's pp-number rule in place of its integer and float rules (which split
    `2.5f` into `2 . 5 f` and `7ull` into `7ul l`), and `^=` as one token."""
    rules = {k: getattr(pcpp.parser, k) for k in dir(pcpp.parser) if k.startswith("t_") or k == "tokens"}
    del rules["t_CPP_FLOAT"]
    rules.update(t_CPP_INTEGER=_t_pp_number, t_CPP_XOREQUAL=r"\^=", __file__=__file__)   # pcpp's is r'^='
    # ply writes a table module next to the rules unless `optimize`, which first tries to import the table
    # (a name that does not exist, so it builds from the rules and writes nothing)
    return lex.lex(module=types.SimpleNamespace(**rules), optimize=True, lextab="_vgpu_no_lextab")


_LEXER = _make_lexer()

# One C token at the start of a string (to tell whether two tokens written together would paste).
_C_TOKEN = re.compile(PP_NUMBER + r"""|L?'(?:[^'\\\n]|\\.)*'|L?"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*
    |//|/\*|%:%:|\.\.\.|<<=|>>=|->|\+\+|--|<<|>>|<=|>=|==|!=|&&|\|\||[-*/%+&^|]=|\#\#|<:|:>|<%|%>|%:|.""",
                      re.S | re.X)


def pastes(a: str, b: str) -> bool:
    """Whether the token texts `a` then `b`, written without a blank, would lex differently."""
    m = _C_TOKEN.match(a + b)
    return m is None or m.end() != len(a)


class _TooMuch(Exception):
    """A cap on what the preprocessor may read or make was passed (message, token or None)."""


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
    if "#" not in text and not _IMPLICIT_USE.search(text):
        return text, LineMap.identity(filename, text.count("\n") + 1)
    if len(text) > MAX_FILE_BYTES:
        raise reporter.fatal(Span(filename, 1, 1), f"file too large (over {MAX_FILE_BYTES >> 20} MiB)")
    pp = _Preprocessor(filename, text, reporter)
    try:
        pp.parse(text, os.path.abspath(filename))
        tokens = list(iter(pp.token, None))
    except CompileError:
        raise
    except _TooMuch as e:
        message, tok = e.args
        span = pp.span_of(tok.source, tok.lineno, pp.column(tok)) if tok is not None else pp.directive_span()
        raise reporter.fatal(span, message) from None
    except RecursionError:
        raise reporter.fatal(Span(filename, 1, 1), "preprocessing nests too deeply")
    except Exception:  # pcpp is third-party: whatever it raises becomes a diagnostic
        raise reporter.fatal(pp.directive_span(), "malformed preprocessing directive")
    text, lines = _render(tokens, pp)
    return (text, lines) if lines.lines else ("", LineMap.identity(filename, 1))


class _NumbersFirst:
    """pcpp's #if evaluator, given each number as C reads it (digit separators, binary, any suffix) in the
    plain form it understands; a faulty number or a float is an error at the directive, and counts 0."""

    def __init__(self, evaluate, pp: "_Preprocessor"):
        self.evaluate, self.pp = evaluate, pp

    def __call__(self, tokens, **kw):
        out = []
        for t in tokens:
            if t.type in ("CPP_INTEGER", "CPP_FLOAT"):
                t, text = copy.copy(t), t.value
                try:
                    n = number(text)
                except LiteralError as e:
                    self.pp.reporter.error(self.pp.directive_span(), str(e))
                    n = None
                if n is not None and n.is_float:
                    self.pp.reporter.error(self.pp.directive_span(), "floating constant in preprocessor expression")
                t.type, t.value = "CPP_INTEGER", "0" if n is None or n.is_float else \
                    f"{n.value}{'u' if 'u' in n.suffix else ''}"
            out.append(t)
        return self.evaluate(out, **kw)


class _Preprocessor(Preprocessor):
    """pcpp with vgpu's include rules and its errors routed to a Reporter."""

    def define(self, tokens):
        """pcpp's define; __FILE__ in the main file is its name as given (as gcc and nvcc expand it)."""
        main = getattr(self, "main_file", None)
        if isinstance(tokens, str) and main is not None and tokens == '__FILE__ "%s"' % main[0]:
            tokens = '__FILE__ "%s"' % main[1].replace("\\", "\\\\").replace('"', '\\"')
        return super().define(tokens)

    def __init__(self, filename: str, text: str, reporter: Reporter):
        super().__init__(_LEXER.clone())
        self.reporter = reporter
        self.line_directive = None
        self.rewrite_paths = []
        self.main_file = (os.path.abspath(filename), filename)
        self.auto_pragma_once_enabled = False    # include guards are honoured the ordinary way
        self.display = {os.path.abspath(filename): filename}   # absolute path -> name in diagnostics
        self.wanted = ""                         # the path the current #include "..." asks for
        self.starts: dict[str, list[int]] = {}   # absolute path -> offsets where each line starts
        self._add_starts(os.path.abspath(filename), text)
        self.bytes_read = len(text)
        self.includes = 0
        self.expanded = 0                        # tokens made by macro expansion so far
        self.expanding = 0                       # depth of expand_macros calls
        self.add_path(INCLUDE_DIR)
        for name, value in PREDEFINED.items():
            self.define(f"{name} {value}")
        for body in IMPLICIT_MACROS.values():
            self.define(body)
        self.evaluator = _NumbersFirst(self.evaluator, self)

    def expand_macros(self, tokens, expanding_from=[]):  # noqa: B006 - pcpp's signature
        """pcpp's expansion, counting the tokens that nested expansions make (a macro bomb stops)."""
        if not self.expanding:
            self.outer = tokens
        self.expanding += 1
        try:
            out = super().expand_macros(tokens, expanding_from)
        finally:
            self.expanding -= 1
        if self.expanding:
            self.expanded += len(out)
            if self.expanded > MAX_EXPANDED_TOKENS:
                use = next((t for t in self.outer if t.lineno == self.linemacro and t.value in self.macros),
                           self.outer[0] if self.outer else None)
                raise _TooMuch(f"macro expansion too large (over {MAX_EXPANDED_TOKENS:,} tokens)", use)
        return out

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
        if directive.value == "include":
            self.include_tokens = [t for t in toks if t.type not in self.t_WS]
        if directive.value == "include" and toks and toks[0].type == self.t_STRING:
            self.wanted = os.path.join(os.path.dirname(directive.source or ""), toks[0].value[1:-1])
        return super().on_directive_handle(directive, toks, ifpassthru, precedingtoks)

    def on_file_open(self, is_system_include, includepath):
        if is_system_include:                # only vgpu's own headers
            if os.path.dirname(includepath) != INCLUDE_DIR or not os.path.isfile(includepath):
                raise IOError(includepath)
        elif includepath != os.path.abspath(self.wanted):
            raise IOError(includepath)       # only next to the including file
        if self.include_depth >= MAX_INCLUDE_DEPTH:
            self.reporter.error(self.directive_span(), "#include nested too deeply")
            raise OutputDirective(Action.IgnoreAndRemove)
        data = self._read(includepath)
        if is_system_include:
            name = f"<{os.path.basename(includepath)}>"
        else:
            source = self.lastdirective.source
            name = os.path.normpath(os.path.join(os.path.dirname(self.display.get(source, "")),
                                                 os.path.relpath(includepath, os.path.dirname(source))))
        text = decode(data, name, self.reporter)
        self.display[includepath] = name
        self.reporter.sources.add(name, text)
        self._add_starts(includepath, normalise(text))
        return io.StringIO(text)

    def _read(self, path: str) -> bytes:
        """The bytes of an included file, within the caps (a clear error at the #include otherwise)."""
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            raise _TooMuch(f"too many #include directives followed (over {MAX_INCLUDES})", None)
        try:
            data = read_bounded(path)
        except (FileNotFoundError, NotADirectoryError):
            raise
        except OSError as e:
            ours = e.errno in (errno.EISDIR, errno.EINVAL, errno.EFBIG)       # read_bounded's own reasons
            reason = e.strerror if ours else f"cannot be read: {e.strerror}"
            raise _TooMuch(f"'{self.wanted_name()}' {reason}", None) from None
        self.bytes_read += len(data)
        if self.bytes_read > MAX_TOTAL_BYTES:
            raise _TooMuch(f"#include reads too much (over {MAX_TOTAL_BYTES >> 20} MiB in all)", None)
        return data

    def wanted_name(self) -> str:
        """The file name the current #include directive spells."""
        d = self.lastdirective
        toks = [t.value for t in getattr(self, "include_tokens", [])]
        return "".join(toks).strip('"<>') if toks else (d.value if d is not None else "?")

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


def read_bounded(path: str | os.PathLike) -> bytes:
    """The bytes of a source file: OSError (with a `strerror` fit for a message) for a file that is not a
    regular file (a directory, /dev/zero, a FIFO) or is over MAX_FILE_BYTES, without reading it all."""
    try:
        f = open(path, "rb")
    except IsADirectoryError:
        raise OSError(errno.EISDIR, "is not a regular file") from None
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise OSError(errno.EINVAL, "is not a regular file")
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise OSError(errno.EFBIG, f"is too large (over {MAX_FILE_BYTES >> 20} MiB)")
    return data


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


def _adjacent(a, b) -> bool:
    """Whether tokens a and b stood side by side in one text (the source, or one macro body): written
    together again they are what they were."""
    return (a.source == b.source and a.lexpos + len(a.value) == b.lexpos
            and getattr(a, "expanded_from", None) == getattr(b, "expanded_from", None))


def _render(tokens, pp: _Preprocessor) -> tuple[str, LineMap]:
    """Lay pcpp's tokens out one line per original line, token-exactly: a blank only where the source or
    a macro body had one (at the original column when it fits) or where two tokens would paste."""
    out: list[str] = []
    lines: list[tuple[str, int]] = []
    anchors: dict[int, list[tuple[int, int, bool]]] = {}
    buf: list[str] = []
    width = 0
    key = None
    pending = 1                 # the original column where the next token starts, from blanks seen
    in_macro = False
    prev = None                 # the previous token on this output line
    blank = False               # a blank (or comment) since the previous token
    for tok in tokens:
        expanded = bool(getattr(tok, "expanded_from", None))
        if tok.type in pp.t_WS:
            if not expanded:
                pending = 1 if "\n" in tok.value else pp.column(tok) + len(tok.value)
            blank = True
            continue
        if not tok.value:
            continue
        k = (tok.source, tok.lineno)
        if k != key:
            if key is not None:
                out.append("".join(buf))
            key, buf, width, in_macro, prev = k, [], 0, False, None
            lines.append((pp.display.get(tok.source, tok.source or "<unknown>"), tok.lineno))
        if expanded:
            col = None if in_macro else pending       # a macro's tokens all map to its use
        else:
            col = pp.column(tok)
            pending = col + len(tok.value)
        if prev is None or blank:
            if col is not None and width < col - 1:
                buf.append(" " * (col - 1 - width))
                width = col - 1
            elif prev is not None:
                buf.append(" ")
                width += 1
        elif not _adjacent(prev, tok) and pastes(prev.value, tok.value):
            buf.append(" ")                           # keep tokens from pasting together
            width += 1
        line_anchors = anchors.get(len(lines))
        if col is not None and (expanded or line_anchors is not None or width != col - 1):
            anchors.setdefault(len(lines), []).append((width + 1, col, not expanded))
        in_macro = expanded
        prev, blank = tok, False
        buf.append(tok.value)
        width += len(tok.value)
    if key is not None:
        out.append("".join(buf))
    return "\n".join(out), LineMap(lines, anchors)
