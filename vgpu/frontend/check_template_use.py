"""Kernel templates a file leaves uninstantiated (a mixin of `vgpu.frontend.check.Checker`).

nvcc accepts a file whose kernel template nothing instantiates (it emits nothing for it) and checks
only what does not depend on the template's parameters (its host pass does; `nvcc -ptx` checks
nothing in it).  vgpu does the same: `unused_templates` reports the identifiers of such a body that
are declared nowhere, except the callee of a call whose arguments name a parameter or local (found at
instantiation by argument-dependent lookup in C++).  `instantiate_named` makes the
instantiation a caller asks for by its C++ name (`reduce<int, 256, true>`: the form vgpu names
instances with, blanks optional) as if the file had instantiated it explicitly.
"""
from __future__ import annotations

import dataclasses
import re

from . import ast as A
from .builtins import NOT_YET, TABLE
from .check_template import Template
from .literals import PP_NUMBER, LiteralError, number
from .parse_records import _canonical
from .symbols import Func
from .tokens import TYPE_WORDS
from ..diagnostics import Span

_TYPE_TOKEN = re.compile(r"[A-Za-z_]\w*(?:\s*::\s*[A-Za-z_]\w*)*|\*|\S")
_INT = re.compile(r"([+-]?)\s*(%s)" % PP_NUMBER)


def split_template_name(name: str) -> tuple[str, list[str]] | None:
    """'reduce<int, 256, true>' -> ('reduce', ['int', '256', 'true']); None if not of that form."""
    m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*<(.*)>\s*", name, re.S)
    if m is None:
        return None
    args, depth, cur = [], 0, ""
    for c in m.group(2):
        if c in "<([":
            depth += 1
        elif c in ">)]":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        args.append(cur.strip())
    return m.group(1), args


def _walk(node, declared: set, idents: list, calls: list | None = None) -> None:
    """Collect the Ident/TemplateId nodes under `node`, the names declared there and the calls."""
    if isinstance(node, list):
        for x in node:
            _walk(x, declared, idents, calls)
        return
    if not isinstance(node, A.Node):
        return
    if isinstance(node, A.Call) and calls is not None:
        calls.append(node)
    if isinstance(node, (A.Ident, A.TemplateId)):
        idents.append(node)
    elif isinstance(node, (A.VarDecl, A.Typedef)):
        declared.add(node.name)
    elif isinstance(node, A.EnumDef):
        declared.update(name for name, _, _ in node.items)
    for f in dataclasses.fields(node):
        if f.name not in ("span", "ctype"):
            _walk(getattr(node, f.name), declared, idents, calls)


class TemplateUseChecker:
    """Needs the Checker's scopes, `lookup`, `prelude`, `template_values`, `instantiate`."""

    def unused_templates(self) -> None:
        """Report what a never-instantiated function template's body names but nothing declares."""
        for tpl in list(self.scopes[0].values()):
            if not isinstance(tpl, Template) or not isinstance(tpl.decl, A.FunctionDef) or tpl.instances \
                    or tpl.decl.body is None:
                continue
            declared = {p.name for p in tpl.params} | {p.name for p in tpl.decl.params if p.name}
            idents: list = []
            calls: list = []
            _walk(tpl.decl.body, declared, idents, calls)
            deferred = set()        # callees of calls with arguments that may depend on the parameters:
            for c in calls:         # C++ looks those up at instantiation (argument-dependent lookup)
                names: list = []
                _walk(c.args, set(), names)
                if any(x.name in declared for x in names):
                    deferred.add(id(c.func))
            for e in idents:
                name = e.name
                if id(e) in deferred or name in declared or "::" in name or name in ("true", "false", "nullptr") or \
                        name in TABLE or name in NOT_YET or self.lookup(name) is not None or \
                        self.prelude(name) is not None:
                    continue
                self.error(e.span, f"use of undeclared identifier '{name}'")
                declared.add(name)

    def instantiate_named(self, name: str, span: Span) -> str | None:
        """Instantiate the function template instance `name` ('k<256, true>'); its kernel name (as
        vgpu spells it), or None (reported) when `name` names no instance of a template here."""
        parts = split_template_name(name)
        tpl = self.scopes[0].get(parts[0]) if parts else None
        if not isinstance(tpl, Template) or not isinstance(tpl.decl, A.FunctionDef):
            self.error(span, f"no function template named '{parts[0] if parts else name}' in this file "
                             f"to instantiate '{name}' from")
            return None
        span = tpl.decl.name_span or tpl.span
        if len(parts[1]) > len(tpl.params):
            self.error(span, f"too many template arguments in '{name}' ('{tpl.name}' has {len(tpl.params)} "
                             "parameters)")
            return None
        args = []
        for p, text in zip(tpl.params, parts[1]):
            a = self._type_arg(text, span) if p.kind == "type" else self._value_arg(text, span)
            if a is None:
                self.error(span, f"template argument '{text}' in '{name}' is not "
                                 f"{'a type' if p.kind == 'type' else 'an integer or bool literal'} (for parameter '{p.name}')")
                return None
            args.append(a)
        values = self.template_values(tpl, args, [], span)
        fn = self.instantiate(tpl, values, span) if values is not None else None
        return fn.name if isinstance(fn, Func) else None

    @staticmethod
    def _value_arg(text: str, span: Span):
        if text in ("true", "false"):
            return A.Ident(text, span=span)
        m = _INT.fullmatch(text.strip())
        try:
            n = number(m.group(2)) if m else None
        except LiteralError:
            return None
        if n is None or n.is_float:
            return None
        lit = A.IntLit(n.value, n.suffix, n.base, m.group(2), span=span)
        return A.Unary("-", lit, span=span) if m.group(1) == "-" else lit

    @staticmethod
    def _type_arg(text: str, span: Span):
        toks = _TYPE_TOKEN.findall(text)
        quals = frozenset(t for t in toks if t in ("const", "volatile"))
        stars = sum(t == "*" for t in toks)
        words = [t for t in toks if t not in ("const", "volatile", "*")]
        if not words or any(not re.fullmatch(r"[A-Za-z_][\w:\s]*", w) for w in words):
            return None
        if all(w in TYPE_WORDS for w in words):
            base = _canonical(words)
        elif len(words) == 2 and words[0] in ("struct", "union", "enum"):
            base = " ".join(words)
        else:
            base = words[0] if len(words) == 1 else None
        if base is None:
            return None
        return A.TypeRef(base, quals, [A.Pointer(span=span) for _ in range(stars)], span=span)
