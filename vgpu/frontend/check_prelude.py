"""CUDA intrinsics written in .vk (a mixin of `vgpu.frontend.check.Checker`): vgpu/include/
__vgpu_intrinsics.vkh holds device functions (`__umulhi`, `__byte_perm`, `__funnelshift_l`, `__sad`,
`__float2int_rn`, `__ldg`, ...); the first use of one of those names in a program checks that
function (a copy of its parsed AST) at file scope, so it becomes an ordinary device function of the
program, inlined like any other.  Their spans point into the header.
"""
from __future__ import annotations

import copy
import os

from . import ast as A
from ..diagnostics import Reporter
from .check_template import Template
from .parse import parse_file

PRELUDE_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "include",
                            "__vgpu_intrinsics.vkh")
_DECLS: dict[str, list] | None = None


def prelude_decls() -> dict[str, list]:
    """Name -> the declarations of that name in the header (a function; a template and its
    specialisations; a struct), parsed once."""
    global _DECLS
    if _DECLS is None:
        tu = parse_file(PRELUDE_PATH, Reporter())
        _DECLS = {}
        for d in tu.decls:
            if isinstance(d, A.TemplateDecl) and isinstance(d.decl, A.DeclStmt):     # a struct template
                name = next((x.name for x in d.decl.decls if isinstance(x, A.StructDef)), None)
            elif isinstance(d, A.TemplateDecl):
                name = d.decl.name if isinstance(d.decl, A.FunctionDef) else None
            elif isinstance(d, A.DeclStmt):
                name = next((x.name for x in d.decls if isinstance(x, A.StructDef)), None)
            else:
                name = getattr(d, "name", None)
            if name:
                _DECLS.setdefault(name, []).append(d)
    return _DECLS


class PreludeChecker:
    """Needs the Checker's scopes, `declaration`, `template_scope`."""

    def prelude(self, name: str):
        """The symbol of intrinsic `name` (checked now if it is the first use), or None."""
        decls = prelude_decls().get(name)
        if decls is None:
            return None
        if name not in self.scopes[0] and name not in self.tags[0]:
            with self.template_scope(Template(name, [], None, None), {}):
                self.scopes, self.tags = self.scopes[:1], self.tags[:1]     # file scope only
                for decl in decls:
                    self.declaration(copy.deepcopy(decl), file_scope=True)
        return self.scopes[0].get(name)
