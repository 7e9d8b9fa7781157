"""The quick parse (vgpu.frontend.parse_lex, parse_lalr) gives what Lark's lexer and parser give: the
same tokens with the same positions, the same AST, and the recovering parser's diagnostics on bad input."""
import random
from pathlib import Path

import pytest
from lark.lexer import LexerState
from lark.utils import TextSlice

from vgpu.diagnostics import CompileError, Reporter
from vgpu.frontend.parse import _Builder, parse
from vgpu.frontend.parse_lalr import quick_parse
from vgpu.frontend.parse_lex import QuickParseFailed, first_chars, lexer_tables, quick_tokens
from vgpu.frontend.preprocess import preprocess
from vgpu.frontend.tokens import PARSE_FILTER, parser

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.vk"))
PIECES = ["a", "if", "int", "x1", "_y", "0", "12", "0x1F", "1.5", ".5e3f", "1e9", "'c'", "'\\n'", '"s"', '"a\\"b"',
          " ", "\t", "\n", "\r\n", "\\\n", "/", "//c\n", "/*c*/", "/* \n */", "/*", "*", "*/", "+=", "++", "->",
          "<<=", ">>", "==", "!=", "&&", "||", "^", "~", "?", ":", "::", "a::b", "a :: b", ";", ",", ".", "(", ")",
          "[", "]", "{", "}", "@", "$", "\u00e9", "`", "'", '"', "__global__", "return", "sizeof", "0b101", "2ull"]


def lark_tokens(text: str):
    """Lark's tokens of text as tuples, or None where its lexer stops with an error."""
    try:
        return [_key(t) for t in parser().parser.lexer.lexer.lex(LexerState(TextSlice.cast_from(text)), None)]
    except Exception:
        return None


def quick(text: str):
    try:
        return [_key(t) for t in quick_tokens(text)]
    except QuickParseFailed:
        return None


def _key(t):
    return t.type, t.value, t.start_pos, t.line, t.column, t.end_line, t.end_column, t.end_pos


def test_quick_lexer_is_in_use():
    assert lexer_tables() is not None


def test_first_chars():
    assert first_chars(r"[a-c]x|[0-9]") == set("abc0123456789")
    assert first_chars("(ab)+c") == {"a"}
    assert first_chars("a*b") == {"a", "b"}
    assert first_chars("a*") is None                  # can match nothing
    assert first_chars(r"\dx") is None                # a category: not told
    assert first_chars("(?i:if)") is None             # case-insensitive: not told


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_same_tokens_and_ast_as_lark(path):
    text, lines = preprocess(path.read_text(), str(path), Reporter())
    assert quick(text) == lark_tokens(text) and quick(text)
    PARSE_FILTER.reset()
    mine = quick_parse(text, _Builder, lines, Reporter())
    PARSE_FILTER.reset()
    theirs = _Builder(lines, Reporter()).transform(parser().parse(text))
    assert repr(mine) == repr(theirs)


def test_same_tokens_as_lark_on_random_text():
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
        assert quick(text) == lark_tokens(text), repr(text)


BAD = ["__global__ void k(int *o) { o[0] = 1 @ 2; }",                 # a stray character
       "__global__ void k(int *o) { o[0] = (1 + ; }",                   # a syntax error
       "__global__ void k(int *o) { int x = 09; o[0] = x; }",           # the AST builder's error
       "__global__ void k(int *o) { o[0] = 1; } /* unterminated"]


@pytest.mark.parametrize("src", BAD)
def test_bad_input_reports_as_the_recovering_parser(src, monkeypatch):
    with pytest.raises(CompileError) as quick_error:
        parse(src, "k.vk")
    monkeypatch.setattr("vgpu.frontend.parse_lalr.lexer_tables", lambda: None)     # Lark's lexer and parser only
    with pytest.raises(CompileError) as slow_error:
        parse(src, "k.vk")
    assert [(d.span, d.message) for d in quick_error.value.diagnostics] == \
        [(d.span, d.message) for d in slow_error.value.diagnostics]
    assert quick_error.value.diagnostics


def test_quick_parse_works_with_a_parser_lark_has_just_built(tmp_path):
    """A parser Lark builds (no cache file yet: a fresh machine, a cleaned /tmp) names rules with
    Tokens, one loaded from its cache with plain str: the quick parse must work with both (it fell back
    to Lark's parser on every first run, and this test's siblings failed when run first)."""
    import os
    import subprocess
    import sys
    code = ("from pathlib import Path\nfrom vgpu.diagnostics import Reporter\nfrom vgpu.frontend.parse import _Builder\n"
            "from vgpu.frontend.parse_lalr import quick_parse\nfrom vgpu.frontend.preprocess import preprocess\n"
            "import tempfile, glob\nassert not glob.glob(tempfile.gettempdir() + '/.lark_cache*')\n"
            f"p = Path({str(EXAMPLES[0])!r})\ntext, lines = preprocess(p.read_text(), str(p), Reporter())\n"
            "quick_parse(text, _Builder, lines, Reporter())\nprint('ok')\n")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]
