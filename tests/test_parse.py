"""Preprocessing and parsing: .vk text -> AST shapes, spans, and diagnostics."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vgpu.diagnostics import CompileError
from vgpu.frontend import ast
from vgpu.frontend.parse import parse, parse_file

KERNELS = Path(__file__).parents[1] / ".." / "shared" / "conformance" / "kernels"


def body(src: str) -> list[ast.Stmt]:
    """The statements of the only function in `src`."""
    (fn,) = [d for d in parse(src).decls if isinstance(d, ast.FunctionDef)]
    return fn.body.items


def expr(text: str, prelude: str = "") -> ast.Expr:
    (stmt,) = body(f"{prelude}\nvoid f() {{ {text}; }}")
    return stmt.expr


def sexpr(e) -> str:
    """A compact, fully parenthesised rendering of an expression."""
    match e:
        case ast.Ident(name=n):
            return n
        case ast.IntLit(value=v):
            return str(v)
        case ast.Binary(op=op, left=l, right=r):
            return f"({sexpr(l)} {op} {sexpr(r)})"
        case ast.Assign(op=op, target=t, value=v):
            return f"({sexpr(t)} {op} {sexpr(v)})"
        case ast.Unary(op=op, operand=o):
            return f"({op}{sexpr(o)})"
        case ast.Postfix(op=op, operand=o):
            return f"({sexpr(o)}{op})"
        case ast.Conditional(cond=c, then=a, other=b):
            return f"({sexpr(c)} ? {sexpr(a)} : {sexpr(b)})"
        case ast.Cast(type=t, operand=o):
            return f"(({t.base}{'*' * len(t.derived)}){sexpr(o)})"
        case ast.Index(base=b, index=i):
            return f"{sexpr(b)}[{sexpr(i)}]"
        case ast.Call(func=f, args=args):
            return f"{sexpr(f)}({', '.join(map(sexpr, args))})"
        case ast.Member(base=b, name=n, arrow=arrow):
            return f"{sexpr(b)}{'->' if arrow else '.'}{n}"
        case ast.Comma(exprs=es):
            return f"({', '.join(map(sexpr, es))})"
        case ast.SizeOf(operand=o):
            return f"sizeof({o.base if isinstance(o, ast.TypeRef) else sexpr(o)})"
    raise AssertionError(f"unexpected {e!r}")


def errors(src: str, filename: str = "e.vk") -> list[str]:
    """`line:col: message` of every diagnostic parsing `src` raises."""
    with pytest.raises(CompileError) as info:
        parse(src, filename)
    return [f"{d.span.line}:{d.span.col}: {d.message}" for d in info.value.diagnostics]


# -- the conformance corpus ------------------------------------------------------------------------

@pytest.mark.skipif(not KERNELS.is_dir(), reason="conformance corpus not present")
@pytest.mark.parametrize("name", sorted(p.name for p in KERNELS.glob("*.vk")) if KERNELS.is_dir() else [])
def test_conformance_kernel_parses(name):
    unit = parse_file(KERNELS / name)
    kernels = [d for d in unit.decls if isinstance(d, ast.FunctionDef) and "__global__" in d.qualifiers]
    assert kernels and all(k.body is not None for k in kernels)


# -- expressions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, shape", [
    ("a + b * c", "(a + (b * c))"),
    ("a - b - c", "((a - b) - c)"),
    ("a / b % c * d", "(((a / b) % c) * d)"),
    ("a = b = c", "(a = (b = c))"),
    ("a += b -= c", "(a += (b -= c))"),
    ("a || b && c | d ^ e & f", "(a || (b && (c | (d ^ (e & f)))))"),
    ("a & b == c", "(a & (b == c))"),
    ("a < b == c > d", "((a < b) == (c > d))"),
    ("a << 1 + 2", "(a << (1 + 2))"),
    ("a >> b >> c", "((a >> b) >> c)"),
    ("c ? a : d ? b : e", "(c ? a : (d ? b : e))"),
    ("x = c ? a , b : e", "(x = (c ? (a, b) : e))"),
    ("-x * y", "((-x) * y)"),
    ("*p++", "(*(p++))"),
    ("&a[i]", "(&a[i])"),
    ("!~x", "(!(~x))"),
    ("++*p", "(++(*p))"),
    ("a, b, c", "(a, b, c)"),
    ("s.a->b[2].c", "s.a->b[2].c"),
    ("f(a, b + 1)(c)", "f(a, (b + 1))(c)"),
    ("sizeof(int) + sizeof x + sizeof (y)", "((sizeof(int) + sizeof(x)) + sizeof(y))"),
    ("a<=b>=c!=d", "(((a <= b) >= c) != d)"),
])
def test_precedence_and_associativity(text, shape):
    assert sexpr(expr(text)) == shape


@pytest.mark.parametrize("text, shape", [
    ("(float)x", "((float)x)"),
    ("(T)-x", "((T)(-x))"),
    ("(T)*b", "((T)(*b))"),
    ("(a)*b", "(a * b)"),
    ("(a)-b", "(a - b)"),
    ("(float4)v", "((float4)v)"),
    ("(unsigned long long)p", "((unsigned long long)p)"),
    ("(const int *)p + 1", "(((int*)p) + 1)"),
    ("(int)(float)x * 2", "(((int)((float)x)) * 2)"),
])
def test_cast_versus_parenthesised_expression(text, shape):
    assert sexpr(expr(text, "typedef int T; int a;")) == shape


def test_qualified_names_and_namespace_alias():
    src = ("namespace cg = cooperative_groups;\n"
           "__global__ void k() { cg::grid_group g = cg::this_grid(); g.sync();"
           " cooperative_groups :: this_grid().sync(); }")
    decl, sync, direct = body(src)
    var = decl.decls[0]
    assert var.type.base == "cooperative_groups::grid_group"
    assert var.init.func.name == "cooperative_groups::this_grid"
    assert sexpr(sync.expr) == "g.sync()"
    assert sexpr(direct.expr) == "cooperative_groups::this_grid().sync()"


# -- literals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value, suffix, base", [
    ("42", 42, "", 10), ("0x7fEb352dU", 0x7FEB352D, "u", 16), ("017", 15, "", 8), ("0", 0, "", 10),
    ("10ull", 10, "ull", 10), ("5LLU", 5, "ull", 10), ("7lu", 7, "ul", 10), ("0b101", 5, "", 2),
    ("18446744073709551615ULL", 2**64 - 1, "ull", 10),
])
def test_integer_literals(text, value, suffix, base):
    lit = expr(text)
    assert (lit.value, lit.suffix, lit.base, lit.text) == (value, suffix, base, text)


@pytest.mark.parametrize("text, value, is_float", [
    ("1.0f", 1.0, True), ("1.0", 1.0, False), (".5", 0.5, False), ("2.f", 2.0, True),
    ("1e3", 1000.0, False), ("1.5e-3F", float(np.float32(0.0015)), True), ("0x1.8p3", 12.0, False), ("0x1p-2f", 0.25, True),
    ("0.1f", 0.100000001490116119384765625, True),
    # 1 + 2**-24 + 2**-60 rounds up to 1 + 2**-23 in float32, but through float64 it would tie to 1.0
    ("1.000000059604644775390625000000000000867361737988403547205962240695953369140625f",
     1.00000011920928955078125, True),
])
def test_float_literals(text, value, is_float):
    lit = expr(text)
    assert isinstance(lit, ast.FloatLit) and lit.is_float == is_float and lit.value == value


def test_float_literal_overflow_is_infinite():
    assert math.isinf(expr("1e39f").value)


@pytest.mark.parametrize("text, value", [
    ("'a'", 97), ("'\\n'", 10), ("'\\0'", 0), ("'\\''", 39), ("'\\x41'", 65), ("'\\101'", 65),
    ("'\\xff'", -1), ("'\\\\'", 92),
])
def test_char_literals(text, value):
    assert expr(text).value == value


def test_string_literals_concatenate_and_decode_escapes():
    lit = expr('"a\\tb\\n" "%d\\x41\\0" \n "\\"q\\""')
    assert lit.value == b'a\tb\n%dA\x00"q"'


# -- declarations ----------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling, base", [
    ("unsigned", "unsigned int"), ("unsigned int", "unsigned int"), ("int unsigned", "unsigned int"),
    ("signed", "int"), ("signed int", "int"), ("short", "short"), ("short int", "short"),
    ("unsigned short int", "unsigned short"), ("char", "char"), ("signed char", "signed char"),
    ("char unsigned", "unsigned char"), ("long", "long"), ("long long", "long long"),
    ("long long int", "long long"), ("long unsigned long", "unsigned long long"),
    ("unsigned long long int", "unsigned long long"), ("bool", "bool"), ("double", "double"),
    ("size_t", "size_t"), ("float3", "float3"), ("uchar4", "uchar4"), ("const float", "float"),
])
def test_type_spellings_are_canonical(spelling, base):
    (stmt,) = body(f"void f() {{ {spelling} x; }}")
    assert stmt.decls[0].type.base == base


def test_declarators():
    src = ("void f() { const float * __restrict__ p[4]; float (*q)[8]; int * const * r;"
           " int a[3] = {1, 2, 3}, b = 4, m[2][3] = {{1}, {2, 3}}; }")
    decl_p, decl_q, decl_r, decl_abm = body(src)
    p = decl_p.decls[0].type
    assert p.quals == {"const"} and [type(d) for d in p.derived] == [ast.Array, ast.Pointer]
    assert p.derived[0].size.value == 4 and p.derived[1].quals == {"__restrict__"}
    q = decl_q.decls[0].type
    assert [type(d) for d in q.derived] == [ast.Pointer, ast.Array] and q.derived[1].size.value == 8
    r = decl_r.decls[0].type
    assert [d.quals for d in r.derived] == [frozenset(), {"const"}]
    a, b, m = decl_abm.decls
    assert [i.value for i in a.init.items] == [1, 2, 3] and b.init.value == 4
    assert [d.size.value for d in m.type.derived] == [2, 3]
    assert [[i.value for i in row.items] for row in m.init.items] == [[1], [2, 3]]


def test_file_scope_variables_and_storage():
    unit = parse("extern __shared__ float dyn[];\n__shared__ float tile[16][16];\n"
                 "__constant__ float coef[4] = {1.0f, 2.0f};\n__device__ int counter;\nstatic const int K = 3;")
    dyn, tile, coef, counter, k = [d.decls[0] for d in unit.decls]
    assert dyn.storage == {"extern", "__shared__"} and dyn.type.derived[0].size is None
    assert tile.storage == {"__shared__"} and [d.size.value for d in tile.type.derived] == [16, 16]
    assert coef.storage == {"__constant__"} and len(coef.init.items) == 2
    assert counter.storage == {"__device__"}
    assert k.storage == {"static"} and k.type.quals == {"const"}


def test_function_definitions_prototypes_and_qualifiers():
    unit = parse("static __device__ __forceinline__ float sq(float x);\n"
                 "__global__ void __launch_bounds__(256, 2) k(const float * __restrict__ x, int, float *y)"
                 " { }\n__device__ int *g(void) { return 0; }")
    proto, kernel, g = unit.decls
    assert proto.body is None and proto.qualifiers == {"static", "__device__", "__forceinline__"}
    assert [p.name for p in proto.params] == ["x"]
    assert kernel.qualifiers == {"__global__"} and [b.value for b in kernel.launch_bounds] == [256, 2]
    assert [p.name for p in kernel.params] == ["x", None, "y"] and kernel.body.items == []
    assert kernel.params[0].type.quals == {"const"}
    assert g.params == [] and g.ret.base == "int" and isinstance(g.ret.derived[0], ast.Pointer)


def test_structs_enums_and_typedefs():
    unit = parse("typedef struct { float x, y; } P;\nstruct S { int n; struct P2 { int a; } in; };\n"
                 "enum Op { ADD, MUL = 5, };\ntypedef P Q;\ntypedef struct S S;\nS s; Q q; P p;")
    anon, typedef_p = unit.decls[0].decls
    assert isinstance(anon, ast.StructDef) and anon.name.startswith("(anonymous struct at <string>:1:9")
    assert [f.name for f in anon.fields] == ["x", "y"]
    assert typedef_p.type.base == f"struct {anon.name}"
    nested, outer = unit.decls[1].decls
    assert (nested.name, outer.name) == ("P2", "S") and outer.fields[1].type.base == "struct P2"
    (enum,) = unit.decls[2].decls
    assert [(n, v and v.value) for n, v, _ in enum.items] == [("ADD", None), ("MUL", 5)]
    assert unit.decls[3].decls[0].type.base == "P"
    assert unit.decls[4].decls[0].type.base == "struct S"
    assert [d.decls[0].type.base for d in unit.decls[5:]] == ["S", "Q", "P"]


# -- statements ------------------------------------------------------------------------------------

def test_statements():
    items = body("void f() { for (int i = 0, j = 1; i < n; ++i) x += i; for (;;) break;"
                 " while (x) continue; do { x--; } while (x > 0); switch (x) { case 1: case 2: y = 1; break;"
                 " default: y = 2; } return; ;}")
    loop, forever, wloop, dloop, switch, ret, empty = items
    assert isinstance(loop.init, ast.DeclStmt) and [v.name for v in loop.init.decls] == ["i", "j"]
    assert sexpr(loop.cond) == "(i < n)" and sexpr(loop.step) == "(++i)"
    assert forever.init is forever.cond is forever.step is None and isinstance(forever.body, ast.Break)
    assert isinstance(wloop, ast.While) and isinstance(wloop.body, ast.Continue)
    assert isinstance(dloop, ast.DoWhile) and sexpr(dloop.cond) == "(x > 0)"
    case1, brk, default = switch.body.items
    assert case1.value.value == 1 and case1.body.value.value == 2
    assert isinstance(default, ast.Case) and default.value is None
    assert isinstance(ret, ast.Return) and ret.value is None
    assert isinstance(empty, ast.ExprStmt) and empty.expr is None


def test_else_binds_to_the_nearest_if():
    (outer,) = body("void f() { if (a) if (b) x = 1; else x = 2; }")
    assert outer.other is None and outer.then.other is not None


def test_goto_and_labels_are_unsupported_statements():
    goto, label = body("void f() { goto out; out: return; }")
    assert isinstance(goto, ast.UnsupportedStmt) and isinstance(label, ast.UnsupportedStmt)


def test_empty_and_comment_only_files_give_empty_units():
    assert parse("").decls == []
    assert parse("// nothing\n/* here */\n").decls == []
    assert parse("#define X 1\n").decls == []


# -- spans and the preprocessor --------------------------------------------------------------------

def test_spans_point_at_the_source():
    src = "__global__ void k(int *p)\n{\n    int i = threadIdx.x;\n    p[i] = i + 1;\n}\n"
    fn = parse(src, "k.vk").decls[0]
    assert (fn.span.line, fn.span.col) == (1, 1) and (fn.name_span.line, fn.name_span.col) == (1, 17)
    decl, assign = fn.body.items
    var = decl.decls[0]
    assert (var.name_span.file, var.name_span.line, var.name_span.col) == ("k.vk", 3, 9)
    add = assign.expr.value
    assert (add.span.line, add.span.col, add.span.end_col) == (4, 12, 17)
    assert (add.right.span.col, add.right.span.end_col) == (16, 17)


def test_macros_map_back_to_their_use(tmp_path):
    src = "#define N 16\n#define SQ(x) ((x) * (x))\nvoid f() {\n  y = SQ(N) + z;\n}\n"
    (stmt,) = body(src)
    square, z = stmt.expr.value.left, stmt.expr.value.right
    assert (square.span.line, square.span.col) == (4, 7)
    assert (z.span.line, z.span.col) == (4, 15)


def test_includes_map_lines_back_to_the_header(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.vkh").write_text("#pragma once\n#define TWICE(v) (2 * (v))\n\n"
                                               "__device__ int twice(int v)\n{\n    return TWICE(v);\n}\n")
    (tmp_path / "k.vk").write_text('#include "lib/util.vkh"\n#include <cooperative_groups.h>\n'
                                   '#include "lib/util.vkh"\n__global__ void k(int *p) { p[0] = twice(1); }\n')
    unit = parse_file(tmp_path / "k.vk")
    twice, kernel = unit.decls
    assert twice.span.file.endswith("lib/util.vkh") and twice.span.line == 4
    assert twice.body.items[0].span.line == 6
    assert kernel.span.file.endswith("k.vk") and kernel.span.line == 4


def test_include_errors_point_into_the_header(tmp_path):
    (tmp_path / "h.vkh").write_text("int ok;\nint bad = ;\n")
    (tmp_path / "k.vk").write_text('\n#include "h.vkh"\n')
    with pytest.raises(CompileError) as info:
        parse_file(tmp_path / "k.vk")
    (d,) = info.value.diagnostics
    assert d.span.file.endswith("h.vkh") and (d.span.line, d.span.col) == (2, 11)
    assert "int bad = ;" in str(info.value)


def test_includes_resolve_only_next_to_the_including_file(tmp_path):
    (tmp_path / "h.vkh").write_text("int x;\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "k.vk").write_text('#include "h.vkh"\n')
    with pytest.raises(CompileError, match="'h.vkh' file not found"):
        parse_file(tmp_path / "sub" / "k.vk")


# -- diagnostics -----------------------------------------------------------------------------------

@pytest.mark.parametrize("src, expected", [
    ("void f() { x = 1 }", ["1:18: expected ';' before '}'"]),
    ("void f() { int x = 3 +; }", ["1:23: expected expression before ';'"]),
    ("void f() { g(a b); }", ["1:16: expected ')' before 'b'"]),
    ("void f() { a[1; }", ["1:15: expected ']' before ';'"]),
    ("void f() {\n  x = 1;\n", ["2:9: expected '}' at end of input"]),
    ("int f() { return 1; }}", ["1:22: extraneous closing brace ('}')"]),
    ("void f() { x = 1; @ }", ["1:19: stray '@' in program"]),
    ('void f() { s = "abc; }', ['1:16: missing terminating " character']),
    ("/* never closed\nint x;", ["1:1: unterminated comment"]),
    ("int x = 08;", ["1:9: invalid digit '8' in octal constant"]),
    ("int y = 1abc;", ["1:9: invalid suffix 'abc' on integer constant"]),
    ("char c = 'ab';", ["1:10: multi-character character constants are not supported"]),
    ("unsigned float x;", ["1:1: cannot combine 'unsigned' 'float' in one type"]),
    ("template <typename T> __global__ void k(T &x) { } using x;", ["1:58: expected '=' before ';'"]),
    ("struct B { int y; }; class A : public B { int x; };", ["1:39: inheritance (a base class) is not supported"]),
    ("struct A { int x; __device__ A operator->(); };", ["1:32: overloading operator-> is not supported"]),
    ("struct A { int x; template <typename F> __device__ void f(F g) { g(x); } };",
     ["1:19: member templates (a template inside a struct or class) are not supported"]),
    ("struct A { virtual __device__ void f(); };", ["1:12: virtual functions are not supported",
                                                   "1:41: extraneous closing brace ('}')"]),
    ('void f() { asm("exit;"); }', ["1:12: inline assembly (asm) is not supported"]),
    ("void f() { auto g = [](int v) { return v; }; }", ["1:21: lambda expressions are not supported"]),
    ("#error stop here\n", ["1:1: #error stop here"]),
    ("#if 1\nint x;\n", ["1:1: unterminated #if 1"]),
    ('#include "nowhere.vkh"\n', ["1:1: 'nowhere.vkh' file not found"]),
    ("#bogus\n", ["1:1: invalid preprocessing directive #bogus"]),
])
def test_error_messages_and_positions(src, expected):
    assert errors(src) == expected


def test_several_errors_in_one_run():
    src = ("__global__ void a(int *p) {\n    p[0] = 1\n}\n"
           "__global__ void b(int *p) {\n    p[0] = (2 + ;\n    p[1] = 3;\n}\n"
           "__global__ void c(int *p) {\n    asm(\"trap;\");\n    p[2] = 4 5;\n}\n")
    assert errors(src) == ["3:1: expected ';' before '}'", "5:17: expected expression before ';'",
                           "9:5: inline assembly (asm) is not supported", "10:14: expected ';' before '5'"]


def test_diagnostics_show_the_line_and_a_caret():
    with pytest.raises(CompileError) as info:
        parse("void f() {\n    int x = 3 +;\n}\n", "k.vk")
    assert str(info.value) == ("k.vk:2:16: error: expected expression before ';'\n"
                               "        int x = 3 +;\n"
                               "    " + " " * 15 + "^")


def test_non_utf8_bytes_are_reported_at_their_position(tmp_path):
    path = tmp_path / "bad.vk"
    path.write_bytes(b"int x;\nint y\xff = 2;\n")
    with pytest.raises(CompileError) as info:
        parse_file(path)
    (d,) = info.value.diagnostics
    assert (d.span.line, d.span.col) == (2, 6) and "0xff" in d.message


# -- robustness ------------------------------------------------------------------------------------

TOKENS = ["int", "float", "unsigned", "void", "__global__", "__shared__", "typedef", "struct", "enum", "T", "x",
          "y", "f", "1", "2.5f", "'c'", '"s"', "(", ")", "[", "]", "{", "}", ";", ",", "=", "+=", "+", "-", "*",
          "&", "/", "<<", "<", "?", ":", ".", "->", "++", "!", "if", "else", "for", "while", "do", "return",
          "switch", "case", "default", "break", "sizeof", "goto", "template", "asm", "::", "#define X",
          "#if 1", "#endif", "#include \"x.vkh\"", "\n", "/*", "*/", "//", "\\", "@", "0x", "1e", "08"]


def _parses_or_reports(src: str) -> None:
    try:
        assert isinstance(parse(src, "fuzz.vk"), ast.TranslationUnit)
    except CompileError as e:
        assert e.diagnostics and all(d.message for d in e.diagnostics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80))
def test_random_text_never_crashes(src):
    _parses_or_reports(src)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_random_token_sequences_never_crash(tokens):
    _parses_or_reports(" ".join(tokens))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 400), st.sampled_from(["(", "{", "-", "!", "a[", "if (x) "]))
def test_deep_nesting_never_crashes(depth, opener):
    _parses_or_reports("void f() { x = " + opener * depth + "1;}")
