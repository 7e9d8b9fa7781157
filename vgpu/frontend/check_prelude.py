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
_DECLS: dict[str, A.Node] | None = None


def prelude_decls() -> dict[str, A.Node]:
    """Name -> FunctionDef or TemplateDecl of every intrinsic in the header (parsed once)."""
    global _DECLS
    if _DECLS is None:
        tu = parse_file(PRELUDE_PATH, Reporter())
        _DECLS = {}
        for d in tu.decls:
            name = d.decl.name if isinstance(d, A.TemplateDecl) else getattr(d, "name", None)
            if name:
                _DECLS[name] = d
    return _DECLS


class PreludeChecker:
    """Needs the Checker's scopes, `declaration`, `template_scope`."""

    def prelude(self, name: str):
        """The symbol of intrinsic `name` (checked now if it is the first use), or None."""
        decl = prelude_decls().get(name)
        if decl is None:
            return None
        if name not in self.scopes[0]:
            with self.template_scope(Template(name, [], None, None), {}):
                self.declaration(copy.deepcopy(decl), file_scope=True)
        return self.scopes[0].get(name)
