"""The checker: C types and conversions of expressions, constant values, and every diagnostic kind."""
import pytest

from vgpu.diagnostics import CompileError, Reporter
from vgpu.frontend import ast as A
from vgpu.frontend import ctypes as C
from vgpu.frontend import to_ir
from vgpu.frontend.check import check
from vgpu.frontend.consteval import const_value
from vgpu.frontend.parse import parse

PARAMS = "int i, unsigned u, unsigned char c, short s, float f, double d, long long ll, int *p, const int *cp"


def checked(src: str):
    rep = Reporter()
    rep.sources.add("k.vk", src)
    tu = parse(src, "k.vk", rep)
    sema = check(tu, rep)
    rep.check()
    return tu, sema


def expr(text: str):
    """Check `text` as an expression statement in a kernel; return (expression, sema)."""
    tu, sema = checked(f"__global__ void k({PARAMS}) {{ {text}; }}")
    fn = next(d for d in tu.decls if isinstance(d, A.FunctionDef))
    return fn.body.items[-1].expr, sema


def type_of(text: str) -> str:
    return C.spell(expr(text)[0].ctype)


def value_of(text: str):
    e, sema = expr(text)
    return const_value(e, sema)


def errors(src: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CompileError) as info:
        to_ir(src, "k.vk")
    return [(d.span.line, d.span.col, d.message) for d in info.value.diagnostics]


@pytest.mark.parametrize("text, ctype", [
    ("c + i", "int"), ("c + c", "int"), ("s * s", "int"), ("-c", "int"), ("~c", "int"),
    ("i + u", "unsigned int"), ("i * 1L", "long"), ("u + 1LL", "long long"), ("u + 1ull", "unsigned long long"),
    ("ll + u", "long long"), ("f * 1.0f", "float"), ("f * 1.0", "double"), ("f + i", "float"),
    ("i < u", "bool"), ("!i", "bool"), ("i && f", "bool"), ("c << i", "int"), ("u >> ll", "unsigned int"),
    ("'a'", "char"), ("0x80000000", "unsigned int"), ("2147483648", "long"), ("0xffffffffffffffff", "unsigned long"),
    ("p + 1", "int *"), ("1 + p", "int *"), ("p - p", "long"), ("&p[2]", "int *"), ("*cp", "const int"),
    ("i ? u : f", "float"), ("i ? p : 0", "int *"), ("i ? p : cp", "const int *"),
    ("sizeof(double)", "unsigned long"), ("(char)i", "char"), ("i = f", "int"), ("c += 300", "unsigned char"),
    ("threadIdx.x", "const unsigned int"), ("threadIdx.x + 0", "unsigned int"), ("warpSize", "int"), ("blockDim", "const dim3"),
    ("min(i, u)", "unsigned int"), ("max(i, f)", "float"), ("abs(c)", "int"), ("sqrt(f)", "float"),
    ("sqrt(d)", "double"), ("pow(f, f)", "float"), ("pow(d, f)", "double"), ("atomicAdd(p, 1)", "int"), ("clock()", "long"),
    ("clock64()", "long long"), ("__shfl_sync(0xffffffffu, c, 0)", "int"), ("__ballot_sync(~0u, i)",
                                                                             "unsigned int"),
    ("make_float4(1, 2, 3, 4)", "float4"), ("printf(\"%d\\n\", i)", "int"),
])
def test_expression_types(text, ctype):
    assert type_of(text) == ctype


@pytest.mark.parametrize("text, value", [
    ("-1 < 1u", 0), ("-1 < 1", 1), ("1u << 31", 2 ** 31), ("1 << 31", -2 ** 31), ("-7 / 2", -3),
    ("-7 % 2", -1), ("7 % -2", 1), ("(unsigned)-7 / 2u", 2147483644), ("-7u % 3u", (2 ** 32 - 7) % 3),
    ("(unsigned char)-1", 255), ("(char)300", 44), ("(short)65535", -1), ("(unsigned char)255 + 1", 256),
    ("2147483647 + 1", -2 ** 31), ("0xffffffffu + 1u", 0), ("-2147483648", -2 ** 31),
    ("-1 >> 1", -1), ("0x80000000u >> 31", 1), ("(int)2.9f", 2), ("(int)-2.9", -2), ("1.0f / 3.0f", 0.3333333432674408),
    ("1.0 / 3.0", 1.0 / 3.0), ("sizeof(float4)", 16), ("sizeof(float3)", 12), ("sizeof(long)", 8),
    ("sizeof(int *)", 8), ("3 > 2 ? 10 : 20", 10), ("0 && (1 / 0)", 0), ("!5", 0), ("~0u", 2 ** 32 - 1),
    ("'A' + 1", 66), ("true + true", 2),
])
def test_constant_values(text, value):
    assert value_of(text) == value


def test_non_constants_have_no_value():
    assert value_of("i + 1") is None
    assert value_of("1 / 0") is None          # undefined: not a constant expression


def test_const_local_is_an_integer_constant():
    tu, sema = checked("__global__ void k(float *o) { const int n = 4 * 4; float a[n]; a[0] = 1; o[0] = a[0]; }")
    fn = next(d for d in tu.decls if isinstance(d, A.FunctionDef))
    decl = fn.body.items[1].decls[0]
    assert C.spell(sema.vars[decl].ctype) == "float [16]"


def test_struct_layout_and_initialised_constants():
    tu, sema = checked("struct S { char c; double d; int i; };\n"
                       "__constant__ int tab[4] = {1, -2, 3};\n"
                       "__device__ float scale = 1.5f;\n"
                       "__global__ void k(struct S *s) { s->i = tab[1] + (int)scale; }")
    init = {v.name: v.init for v in sema.statics}
    # the initialised bytes; the symbol's size (16) zero-fills the rest
    assert init["tab"] == bytes([1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0])
    assert init["scale"] == bytes.fromhex("0000c03f")
    s = next(d for d in tu.decls if isinstance(d, A.DeclStmt)).decls[0]
    info = sema.types[s].info
    assert [(f.name, f.offset) for f in info.fields] == [("c", 0), ("d", 8), ("i", 16)]
    assert (info.size, info.align) == (24, 8)


def test_file_without_kernels_is_rejected():
    with pytest.raises(CompileError, match="no kernel in this file"):
        to_ir("__device__ int twice(int x) { return 2 * x; }")


# -- diagnostics: (source, line, column, message), every kind the checker produces --------------------
DIAGNOSTICS = [
    ("__global__ void k(int *a) {\n  a[0] = x;\n}", 2, 10, "use of undeclared identifier 'x'"),
    ("__device__ int f(int a, int b, int c) { return a; }\n__global__ void k(int *o) { o[0] = f(1, 2); }",
     2, 36, "too few arguments to function call, expected 3, have 2"),
    ("__device__ int f(int a) { return a; }\n__global__ void k(int *o) { o[0] = f(1, 2); }",
     2, 36, "too many arguments to function call, expected 1, have 2"),
    ("__global__ void k(const int n) { n = 3; }", 1, 34,
     "cannot assign to variable 'n' with const-qualified type 'const int'"),
    ("__global__ void k() { const int m = 2; m++; }", 1, 40,
     "cannot assign to variable 'm' with const-qualified type 'const int'"),
    ("__global__ void k(const int *a) { a[0] = 1; }", 1, 35, "read-only variable is not assignable"),
    ("__global__ void k(int *a) { (a + 1) = a; }", 1, 30, "expression is not assignable"),
    ("__global__ void k() { int v[2]; int w[2]; v = w; }", 1, 43, "array type 'int [2]' is not assignable"),
    ("__global__ void k() { threadIdx.x = 0; }", 1, 23,
     "cannot assign to variable 'threadIdx' with const-qualified type 'const uint3'"),
    ("__global__ void k() {\n    break;\n}", 2, 5, "'break' statement not in loop or switch statement"),
    ("__global__ void k() { switch (1) { default: continue; } }", 1, 45,
     "'continue' statement not in loop statement"),
    ("__global__ void k() { case 1: ; }", 1, 23, "'case' statement not in switch statement"),
    ("__device__ int f(int x) {\n    return x ? f(x - 1) : 0;\n}", 2, 16,
     "recursion is not supported: f calls itself at k.vk:2:16"),
    ("__device__ int g(int x);\n__device__ int f(int x) { return g(x); }\n__device__ int g(int x) { return f(x); }",
     3, 34, "recursion is not supported: g calls f at k.vk:3:34, which calls g at k.vk:2:34"),
    ("__device__ int g(int x);\n__global__ void k(int *o) { o[0] = g(1); }", 2, 36,
     "function 'g' is declared but not defined in this file (separate compilation is not supported)"),
    ("__global__ int k() { return 0; }", 1, 1, "a __global__ function must have a void return type"),
    ("__global__ void k() {}\n__device__ void d() { k(); }", 2, 23,
     "calling a __global__ function ('k') from device code is not supported"),
    ("int host(int x) { return x; }", 1, 5,
     "host function 'host' is not supported: device code only (declare it __device__ or __global__)"),
    ("__device__ void g() { return 1; }", 1, 30, "void function 'g' should not return a value"),
    ("__device__ int h() { return; }", 1, 22, "non-void function 'h' should return a value"),
    ("__global__ void k(int *a) { float *q = a; }", 1, 40,
     "cannot initialize a variable of type 'float *' with an expression of type 'int *'"),
    ("__global__ void k(const int *a) { int *q; q = a; }", 1, 47,
     "assigning to 'int *' from incompatible type 'const int *'"),
    ("__device__ void f(float *x) {}\n__global__ void k(int *a) { f(a); }", 2, 31,
     "cannot initialize a parameter of type 'float *' with an expression of type 'int *'"),
    ("__device__ int *f(float *x) { return x; }", 1, 38,
     "cannot initialize return object of type 'int *' with an expression of type 'float *'"),
    ("__global__ void k(int *a, float *b) { a + b; }", 1, 39,
     "invalid operands to binary expression ('int *' and 'float *')"),
    ("__global__ void k(float f) { f % 2; }", 1, 30, "invalid operands to binary expression ('float' and 'int')"),
    ("__global__ void k(int *a, float *b) { a < b; }", 1, 39,
     "comparison of distinct pointer types ('int *' and 'float *')"),
    ("__global__ void k(int i) { *i = 1; }", 1, 28, "indirection requires pointer operand ('int' invalid)"),
    ("__global__ void k(int i) { i[0] = 1; }", 1, 28, "subscripted value is not an array, pointer, or vector"),
    ("__global__ void k(int *a) { a[1.0f] = 1; }", 1, 31, "array subscript is not an integer"),
    ("__global__ void k(int i) { i.x = 1; }", 1, 28, "member reference base type 'int' is not a structure or union"),
    ("struct S { int a; };\n__global__ void k(struct S *s) { s.a = 1; }", 2, 34,
     "member reference type 'struct S *' is a pointer; did you mean to use '->'?"),
    ("struct S { int a; };\n__global__ void k(struct S *s) { s->b = 1; }", 2, 34, "no member named 'b' in 'struct S'"),
    ("__global__ void k() { int x = 1; int x = 2; }", 1, 38, "redefinition of 'x'"),
    ("__global__ void k() { int y = 1; int *q = &(y + 1); }", 1, 43, "cannot take the address of an rvalue of type 'int'"),
    ("__global__ void k() { unsigned *q = &threadIdx.x; }", 1, 37, "cannot take the address of built-in variable 'threadIdx'"),
    ("__global__ void k() { __shared__ int s = 1; }", 1, 42, "initialization is not supported for __shared__ variables"),
    ("__global__ void k() { __constant__ int c[4]; }", 1, 40,
     "a __constant__ variable declaration is not allowed inside a function body"),
    ("__global__ void k() { extern __shared__ float buf[4]; }", 1, 47,
     "only an extern __shared__ array of unknown size is supported: declare 'buf[]' and give its size at launch"),
    ("__global__ void k() { const int c; }", 1, 33, "default initialization of an object of const type 'const int'"),
    ("__global__ void k() { void v; }", 1, 28, "variable has incomplete type 'void'"),
    ("__global__ void k() { int a[]; }", 1, 27,
     "definition of variable with array type needs an explicit size or an initializer"),
    ("__global__ void k(int n) { int a[n]; }", 1, 34, "array size is not an integer constant expression"),
    ("__global__ void k() { int a[-1]; }", 1, 29, "array has a negative size"),
    ("__global__ void k() { int a[2] = {1, 2, 3}; }", 1, 41, "excess elements in array initializer"),
    ("__global__ void k() { switch (1) { case 1: case 1: ; } }", 1, 49, "duplicate case value '1'"),
    ("__global__ void k() { switch (1) { default: default: ; } }", 1, 45, "multiple default labels in one switch"),
    ("__global__ void k(float f) { switch (f) { } }", 1, 38,
     "statement requires expression of integer type ('float' invalid)"),
    ("struct S { int a; };\n__global__ void k(struct S *s) { if (*s) {} }", 2, 38,
     "statement requires expression of scalar type ('struct S' invalid)"),
    ("__global__ void k() { goto out; }", 1, 23, "goto statements are not supported yet"),
    ("__global__ void k(float *a) { a[0] = __shfl(a[1], 0); }", 1, 38, "'__shfl' is not supported yet"),
    ("__global__ void k(long long *a) { atomicAdd(a, 1); }", 1, 35,
     "no matching function for call to 'atomicAdd' with argument types (long long *, int)"),
    ("__global__ void k(float *a) { a[0] = sqrtf; }", 1, 38, "function pointers are not supported yet: call 'sqrtf' directly"),
    ("__global__ void k(int i) { printf(\"%d\"); printf(); }", 1, 42,
     "too few arguments to function call, expected 1, have 0"),
    ("__global__ void k(const char *f) { printf(f); }", 1, 43,
     "printf with a format that is not a string literal is not supported yet"),
    ("__global__ void k(bool b) { b++; }", 1, 29, "ISO C++17 does not allow incrementing expression of type bool"),
    ("int g;\n__global__ void k(int *o) { o[0] = g; }", 2, 36, "reference to __host__ variable 'g' in device code"),
    ("__global__ void k(int *o) { o[0] = (int)o; }", 1, 36, "cast from pointer to smaller type 'int' loses information"),
    ("union U { int a; float b; };\n__global__ void k(union U u) { }", 2, 19,
     "a union in a kernel parameter ('union U') is not supported: pass a pointer to it"),
    ("struct S { int a[9000]; };\n__global__ void k(struct S s) { }", 2, 19,
     "a struct parameter of 36,000 bytes is more than a kernel's 32,764 bytes of parameters: pass a pointer to it"),
    ("__global__ void k(int i) { i = sizeof(struct Q); }", 1, 32,
     "invalid application of 'sizeof' to an incomplete type 'struct Q'"),
    ("__global__ __device__ void k() {}", 1, 28, "a __global__ function cannot also be __device__ or __host__"),
    ("__device__ int f(int a);\n__device__ float f(int a) { return 1; }", 2, 18, "conflicting types for 'f'"),
    ("__device__ int f() { return 0; }\n__device__ int f() { return 0; }", 2, 16, "redefinition of 'f'"),
    ("__device__ int f;\n__device__ int f() { return 1; }", 2, 16,
     "redefinition of 'f' as a different kind of symbol"),
    ("struct S { int a; int a; };", 1, 23, "duplicate member 'a'"),
    ("struct S { int a; };\nstruct S { int b; };", 2, 1, "redefinition of 'struct S'"),
    ("struct S { struct T t; };", 1, 21, "field has incomplete type 'struct T'"),
    ("__global__ void k() { enum E { A = 1.5 }; }", 1, 36, "enumerator value is not an integer constant expression"),
    ("struct S { int a; };\n__global__ void k(struct S *s) { printf(\"%d\", *s); }", 2, 47,
     "cannot pass object of non-trivial type 'struct S' through variadic function; call will abort at runtime"),
    ("__global__ void k() { int x = {1, 2}; }", 1, 31, "scalar initializer must be a single expression"),
    ("struct S { int a; };\n__global__ void k() { struct S s = {1, 2}; }", 2, 40, "excess elements in struct initializer"),
    ("__global__ void k() { int m[2][2] = {{1, 2}, 3, 4}; }", 1, 37,
     "initializers that leave out some inner braces are not supported yet"),
    ("__global__ void k(int *o) { int a[2] = o[0]; }", 1, 40, "array initializer must be an initializer list"),
    ("__global__ void k() { char s[2] = \"hi\"; }", 1, 35, "initializer-string for char array is too long"),
    ("__device__ int g = threadIdx.x;", 1, 20, "initializer element is not a compile-time constant"),
    ("__global__ void k(int i) { i->x = 1; }", 1, 28, "member reference type 'int' is not a pointer"),
    ("struct S;\n__global__ void k(struct S *s) { s->a = 1; }", 2, 34, "incomplete definition of type 'struct S'"),
    ("__global__ void k(int i) { i(3); }", 1, 28, "called object type 'int' is not a function or function pointer"),
    ("struct S { int a; };\n__global__ void k(struct S *s, int i) { i = (int)*s; }", 2, 45,
     "C-style cast from 'struct S' to 'int' is not allowed"),
    ("__global__ void k(int *p, float f) { p = f ? p : f; }", 1, 42, "incompatible operand types ('int *' and 'float')"),
    ("__global__ void k(int *p) { if (p > 0) {} }", 1, 33,
     "ordered comparison between pointer and zero ('int *' and 'int')"),
    ("__global__ void k(void *p) { p = p + 1; }", 1, 34, "arithmetic on a pointer to void"),
    ("__global__ void k(int *p, float *q) { long d = p - q; }", 1, 48,
     "'int *' and 'float *' are not pointers to compatible types"),
    ("__global__ void k(void *p) { *p; }", 1, 30, "indirection not permitted on operand of type 'void *'"),
    ("__global__ void k(int *p) { ~p; }", 1, 29, "invalid argument type 'int *' to unary expression"),
    ("struct S { int a; };\n__device__ void d(struct S s) { s++; }", 2, 33, "cannot increment value of type 'struct S'"),
    ("typedef int A[4];\n__device__ A f() {}", 2, 1, "function cannot return array type"),
    ("__device__ void f(void x) {}", 1, 19, "parameter has incomplete type 'void'"),
    ("__global__ void k(long double x) {}", 1, 19, "type 'long double' is not supported yet"),
    ("__global__ void k(int i) { threadIdx.foo(); }", 1, 28, "member function calls are not supported yet"),
    ("explicit __device__ int f() { return 1; }\n__global__ void k() {}", 1, 25,
     "'explicit' can only appear on constructors"),
    ("friend __device__ int f() { return 1; }\n__global__ void k() {}", 1, 23, "'friend' used outside of class"),
    ("struct S { int v; __device__ S(int x) : v(x) {} };\n__global__ void k(int *o) { S s(1); o[0] = s[0]; }", 2, 44,
     "subscripted value is not an array, pointer, or vector"),
    ("__global__ void k() { cooperative_groups::this_grid().size(); }", 1, 23,
     "'size' of cooperative groups is not supported yet"),
    ("__global__ void k() { extern int x; }", 1, 34, "extern variables are not supported yet (except extern __shared__)"),
    ("__global__ void k() { static int x = 1; }", 1, 34, "static local variables are not supported yet"),
]


@pytest.mark.parametrize("src, line, col, message", DIAGNOSTICS, ids=[d[3][:40] for d in DIAGNOSTICS])
def test_diagnostic(src, line, col, message):
    assert (line, col, message) in errors(src)


def test_several_errors_are_reported_together():
    found = errors("__global__ void k(int *a) {\n  a[0] = x;\n  a[1] = y;\n  break;\n}")
    assert [m for _, _, m in found] == ["use of undeclared identifier 'x'", "use of undeclared identifier 'y'",
                                        "'break' statement not in loop or switch statement"]


def test_no_cascade_after_an_error():
    assert len(errors("__global__ void k(int *a) { a[0] = (x + 1) * 2 + a[0] / x; }")) == 2


def test_error_span_covers_the_expression():
    with pytest.raises(CompileError) as info:
        to_ir("__global__ void k(int *a, float *b) { a + b; }", "k.vk")
    d = info.value.diagnostics[0]
    assert (d.span.col, d.span.end_col) == (39, 44)
    assert "^~~~~" in str(info.value)


# -- device limits, sparse initialisers, depth, constructs rejected by name --------------------------

@pytest.mark.parametrize("decl, line_text, message", [
    ("__shared__ float big[16384];", "big", "__shared__ variable 'big' is too large: 65536 bytes, more than a "
                                            "block's static shared memory holds (48 KiB)"),
    ("__constant__ float c1[10000];\n__constant__ float c2[10000];", "c2",
     "__constant__ variable 'c2' is too large: 40000 bytes (with the 40000 bytes declared before it), more than "
     "the constant bank holds (64 KiB)"),
    ("__device__ char huge[200000000000];", "huge", "more than the device's global memory holds (141.0 GB)"),
    ("__global__ void f(float *o) {\n  float l[1 << 28];\n  l[0] = 1; o[0] = l[0];\n}", "l",
     "local variable 'l' is too large: 1073741824 bytes, more than a thread's local memory holds (512 KiB)"),
    ("__global__ void f(float *o) {\n  __shared__ int s2[20000];\n  o[0] = s2[0];\n}", "s2",
     "__shared__ variable 's2' is too large: 80000 bytes"),
])
def test_sizes_beyond_the_device_limits_are_errors_at_their_line(decl, line_text, message):
    src = decl + "\n__global__ void k(int *o) { o[0] = 1; }\n"
    (line, col, msg), = errors(src)
    assert message in msg
    assert src.splitlines()[line - 1][col - 1:].startswith(line_text)


def test_sizes_at_the_limits_are_accepted():
    to_ir("__shared__ float a[12288];\n__constant__ float c[16384];\n"
          "__global__ void k(float *o) { float l[131072]; l[threadIdx.x] = 1; o[0] = a[0] + c[0] + l[1]; }", "k.vk")


def test_a_huge_initialised_array_keeps_only_its_initialised_bytes():
    """`int t[1 << 28] = {1, 2, 3}` is 1 GiB of zeros after 12 bytes: the symbol holds the 12."""
    m = to_ir("__device__ int t[1 << 28] = {1, 2, 3};\n__device__ float u[1 << 26] = {0.5f};\n"
              "__device__ char s[1 << 20] = \"hi\";\n"
              "__global__ void k(int *o) { o[0] = t[1] + (int)u[0] + s[0]; }", "k.vk")
    t, u, s = m.globals["t"], m.globals["u"], m.globals["s"]
    assert (t.size, t.init) == (1 << 30, bytes([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0]))
    assert (u.size, u.init) == (1 << 28, bytes.fromhex("0000003f"))
    assert (s.size, s.init) == (1 << 20, b"hi\0")


def test_excess_elements_in_a_huge_array_are_still_reported():
    (line, col, msg), = errors("struct P { int a, b; };\n__device__ struct P p[1] = {1, 2, 3};\n"
                               "__global__ void k(int *o) { o[0] = p[0].a; }")
    assert (line, msg) == (2, "excess elements in array initializer")


def test_a_long_sum_compiles_and_a_too_deep_one_names_its_line():
    to_ir("__global__ void k(int *o, int a) {\n  o[0] = " + "+".join(["a"] * 3000) + ";\n}", "k.vk")
    (line, _, msg), = errors("__global__ void k(int *o, int a) {\n  o[0] = " + "+".join(["a"] * 12000) + ";\n}")
    assert line == 2 and msg.startswith("nested too deeply")


@pytest.mark.parametrize("src, line, message", [
    ("struct V {\n  float x;\n  __device__ ~V() { x = 0; }\n};\n"
     "__global__ void k(float *o) { struct V v = {1}; o[0] = v.x; }",
     3, "destructors that do something are not supported: '~V' must have an empty body"),
    ("__global__ void k(int *d) { d[0] = 1; }\nint main() {\n  int *d = 0;\n  k<<<1, 1>>>(d);\n  return 0;\n}",
     4, "not supported: launching a kernel from a .vk file (k<<<...>>>)"),
])
def test_cuda_constructs_outside_the_language_are_named(src, line, message):
    diags = errors(src)
    assert diags[0][0] == line and diags[0][2].startswith(message), diags
