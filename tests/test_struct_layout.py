"""Struct and union layout, checked against g++ (x86-64, the host ABI nvcc lays device structs out by):
sizeof, alignof, offsetof, and the bytes a kernel leaves in memory when it fills a struct field by field.

In: seeded random nests of structs and unions of every scalar type, arrays and earlier structs.
Out: the same sizes, alignments, offsets and bytes as the same C++ compiled by g++ and run on the host.
Fields and structs carry alignas(N) at times (N below the natural alignment is ignored, as g++ and nvcc
do).  Also: offsetof (the `__builtin_offsetof` of nvcc's implicit <stddef.h>) as a constant expression, and
`struct S;` forward declarations.
"""
from __future__ import annotations

import random
import shutil
import subprocess

import numpy as np
import pytest

import vgpu
from vgpu.diagnostics import CompileError

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="needs g++ (the independent implementation)")
SCALARS = ["char", "signed char", "unsigned char", "short", "unsigned short", "int", "unsigned", "long",
           "long long", "unsigned long long", "float", "double", "bool"]


ALIGNS = [0] * 12 + [1, 2, 4, 8, 16, 32]                # alignas(N) on a field or a struct, mostly none


def draw(r: random.Random, n: int = 4) -> list[tuple[str, list[tuple[str, str, int, int]], bool, int]]:
    """n aggregates (name, [(type, field, array length or 0, alignas or 0)], is_union, alignas or 0), each
    may use earlier ones."""
    out = []
    for i in range(n):
        fields = [(r.choice([x[0] for x in out]) if out and r.random() < 0.3 else r.choice(SCALARS),
                   f"f{j}", r.choice([0, 0, 0, r.randrange(1, 4)]), r.choice(ALIGNS)) for j in range(r.randrange(1, 6))]
        out.append((f"S{i}", fields, i > 0 and r.random() < 0.15, r.choice(ALIGNS)))
    return out


def source(aggs) -> str:
    return "".join(f"{'union' if u else 'struct'}{f' alignas({a})' if a else ''} {name} {{ " + " ".join(
        f"{f'alignas({fa}) ' if fa else ''}{t} {f}{f'[{n}]' if n else ''};" for t, f, n, fa in fields) + " };\n"
        for name, fields, u, a in aggs)


def fills(aggs, name: str, path: str, r: random.Random, out: list[str]) -> list[str]:
    """Statements giving every scalar of `path` (an lvalue of aggregate `name`) a value (a union: its first field)."""
    _, fields, union, _ = next(a for a in aggs if a[0] == name)
    for t, f, n, _ in fields[:1] if union else fields:
        for p in [f"{path}.{f}[{i}]" for i in range(n)] if n else [f"{path}.{f}"]:
            if t.startswith("S"):
                fills(aggs, t, p, r, out)
            elif t == "bool":
                out.append(f"{p} = {r.choice(['true', 'false'])};")
            elif t in ("float", "double"):
                out.append(f"{p} = {r.randrange(-1000, 1000)} / 8.0;")
            else:
                out.append(f"{p} = ({t}){r.randrange(-2 ** 40, 2 ** 40)}LL;")
    return out


def offsets(aggs) -> list[str]:
    """offsetof expressions for every field of every aggregate, and one step into arrays and members."""
    out = []
    for name, fields, _, _ in aggs:
        for t, f, n, _ in fields:
            out.append(f"offsetof({name}, {f})")
            if n:
                out.append(f"offsetof({name}, {f}[{n - 1}])")
            if t.startswith("S"):
                inner = next(a for a in aggs if a[0] == t)[1][-1]
                out.append(f"offsetof({name}, {f}{f'[{n - 1}]' if n else ''}.{inner[1]})")
    return out


@needs_gxx
@pytest.mark.parametrize("seed", range(3))
def test_layout_agrees_with_gxx(seed, tmp_path):
    for case in range(12):
        r = random.Random(seed * 1000 + case)
        aggs = draw(r)
        top = aggs[-1][0]
        queries = [f"sizeof({a[0]})" for a in aggs] + [f"alignof({a[0]})" for a in aggs] + offsets(aggs)
        body = source(aggs) + f"__device__ void fill({top} *v)\n{{\n    " + "\n    ".join(
            fills(aggs, top, "(*v)", r, [])) + "\n}\n"
        cpp = ("#include <cstdio>\n#include <cstddef>\n" + body.replace("__device__ ", "") +
               "int main()\n{\n    static unsigned char o[4096];\n    fill((%s *)o);\n" % top +
               "".join(f'    printf("%zu\\n", (size_t){q});\n' for q in queries) +
               f'    for (size_t i = 0; i < sizeof({top}); i++) printf("%02x", o[i]);\n    printf("\\n");\n}}\n')
        (tmp_path / "t.cpp").write_text(cpp)
        subprocess.run([GXX, "-std=c++17", "-w", "-o", str(tmp_path / "t"), str(tmp_path / "t.cpp")], check=True,
                       timeout=120)
        want = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True, check=True).stdout.split()

        kernel = body + "__global__ void k(unsigned char *o, unsigned long long *q)\n{\n    fill((%s *)o);\n" % top + \
            "".join(f"    q[{i}] = {x};\n" for i, x in enumerate(queries)) + "}\n"
        dev = vgpu.Device(workers=0)
        o = vgpu.to_device(np.zeros(4096, np.uint8), device=dev)
        q = vgpu.to_device(np.zeros(len(queries), np.uint64), device=dev)
        vgpu.compile(kernel, "layout.vk").get_function("k")(o, q, grid=1, block=1, device=dev)
        got = [str(int(x)) for x in q.copy_to_host()]
        size = int(got[len(aggs) - 1])
        got.append(o.copy_to_host()[:size].tobytes().hex())
        wrong = [(x, w, g) for x, w, g in zip(queries + ["the bytes"], want, got) if w != g]
        assert not wrong, f"{source(aggs)}(query, g++, vgpu): {wrong}"


def test_offsetof_is_a_constant_expression():
    src = """
struct In { int q; short r[4]; };
struct P { char c; double d; short s[3]; In in; In arr[2]; };
static_assert(offsetof(P, d) == 8, "d");
__global__ void k(unsigned long long *o)
{
    int a[offsetof(P, s)];
    o[0] = sizeof(a) / sizeof(a[0]);
    o[1] = offsetof(P, arr[1].q);
    o[2] = __builtin_offsetof(struct P, in.r[3]);
    switch (o[3]) { case offsetof(P, c): o[3] = 7; }
}
"""
    dev = vgpu.Device(workers=0)
    o = vgpu.to_device(np.zeros(4, np.uint64), device=dev)
    vgpu.compile(src, "off.vk").get_function("k")(o, grid=1, block=1, device=dev)
    assert o.copy_to_host().tolist() == [16, 48, 34, 7]


@pytest.mark.parametrize("designator, message", [
    ("int, x", "offsetof requires a struct or union type, not 'int'"),
    ("P, nope", "no member named 'nope' in 'struct P'"),
    ("P, d[1]", "subscripted value of type 'double' is not an array"),
    ("P, s[n]", "an offsetof array index is not an integer constant expression"),
])
def test_offsetof_errors(designator, message):
    src = f"struct P {{ char c; double d; short s[3]; }};\n__global__ void k(unsigned long *o, int n)\n{{\n" \
          f"    o[0] = offsetof({designator});\n}}\n"
    with pytest.raises(CompileError) as e:
        vgpu.compile(src, "off.vk")
    d = e.value.diagnostics[0]
    assert (d.span.line, d.message) == (4, message)


def test_forward_declared_struct_names_its_type():
    src = """
struct Node;
__device__ int depth(const Node *n);
struct Node { int v; Node *next; };
__device__ int depth(const Node *n) { int d = 0; while (n) { d++; n = n->next; } return d; }
__global__ void k(int *o)
{
    Node a[3];
    a[0].next = &a[1]; a[1].next = &a[2]; a[2].next = 0;
    o[0] = depth(&a[0]);
}
"""
    dev = vgpu.Device(workers=0)
    o = vgpu.to_device(np.zeros(1, np.int32), device=dev)
    vgpu.compile(src, "fwd.vk").get_function("k")(o, grid=1, block=1, device=dev)
    assert o.copy_to_host()[0] == 3


@pytest.mark.parametrize("src, message", [
    ("struct Q;\n__global__ void k(int *o) { Q q; o[0] = 0; }\n", "variable has incomplete type 'struct Q'"),
    ("struct Q;\nunion Q;\n", "use of 'Q' with tag type that does not match previous declaration"),
])
def test_forward_declaration_errors(src, message):
    with pytest.raises(CompileError) as e:
        vgpu.compile(src, "fwd.vk")
    assert e.value.diagnostics[0].message == message


def test_bit_fields_are_named_as_not_supported():
    src = "struct F { int a : 3; unsigned b : 5; };\n__global__ void k(int *o) { F f; f.a = 1; o[0] = f.a; }\n"
    with pytest.raises(CompileError) as e:
        vgpu.compile(src, "bits.vk")
    assert [(d.span.line, d.span.col, d.message.split(":")[0]) for d in e.value.diagnostics] == \
        [(1, 20, "bit-fields are not supported"), (1, 36, "bit-fields are not supported")]
