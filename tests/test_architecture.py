"""The house rules of docs/architecture.md, checked on the source: no import cycle between vgpu modules
(function-local imports included), no module over 700 lines, no instruction family compared by its name
string outside vgpu/isa/."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "vgpu"
MODULES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


NAMES = {module_name(p): p for p in MODULES}


def resolve(target: str) -> str | None:
    """The vgpu module an import of `target` loads (a name inside a module maps to the module)."""
    while target and target not in NAMES:
        target = target.rpartition(".")[0]
    return target or None


def imports(path: Path) -> set[str]:
    """Every vgpu module `path` imports, at any depth of its code."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            base = f"{base}.{node.module}" if node.level and node.module else (base if node.level else node.module)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            if n and n.split(".")[0] == "vgpu":
                target = resolve(n)
                if target and target != me:
                    found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def package_edges(graph):
    """Importing a package runs its __init__, which may import its children: an import of a package
    from inside it is not a cycle of the code's layers, so edges from a module to its own ancestors
    are left out."""
    return {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}


def test_no_import_cycles():
    graph = package_edges({module_name(p): imports(p) for p in MODULES})
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_over_700_lines(path):
    assert len(path.read_text().splitlines()) <= 700


FAMILY_COMPARE = re.compile(r"""(\bfam(ily)?(\([^()]*\))?\.name|\.family\b|\bins\.op\b|\.mnemonic|\.opcode)"""
                            r"""\s*(==|!=|in|not in)\s*[({\[]?\s*["']""")


def test_no_instruction_family_compared_by_name_outside_isa():
    bad = []
    for p in MODULES:
        rel = p.relative_to(PKG)
        if rel.parts[0] in ("isa", "ir"):     # the ISA table's home; the IR's ops are its own table (ir/ops.py)
            continue
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if FAMILY_COMPARE.search(line):
                bad.append(f"{rel}:{n}: {line.strip()}")
    assert bad == []


def test_the_family_pattern_matches_a_comparison():
    assert FAMILY_COMPARE.search('if fam.name == "grid.sync":')
    assert FAMILY_COMPARE.search("if op.family == 'bra':")
    assert FAMILY_COMPARE.search('if spec.family(ins).name in ("shfl.sync", "vote.sync"):')
    assert not FAMILY_COMPARE.search("if row.machine is Machine.BRANCH:")
    assert not FAMILY_COMPARE.search('if e.func.name == "tiled_partition":')
