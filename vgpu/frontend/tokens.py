"""The token stream between Lark's lexer and its parser, and the parser itself.

`PARSE_FILTER` (a Lark postlexer) retypes IDENTIFIERs that name types as TYPE_NAME, tracking
`typedef`s as they go by, C++-only keywords as UNSUPPORTED, `public`/`private`/`protected` as ACCESS, and
a `{` right after a declarator's name or array bound as BRACE_INIT (`S v{a, b};`, `int b[3]{1, 2}`); after
a syntax error it drops tokens up to the next `;` or `}` (the recovery in `vgpu.frontend.parse_errors` switches it on).
`parser()` is the LALR parser of `vk.lark`; `spellings()` how a C programmer writes each terminal.
"""
from __future__ import annotations

from functools import lru_cache

from lark import Lark, Token
from lark.lexer import PatternStr

from ..grammars import load_grammar

VECTOR_TYPES = {f"{base}{n}" for base in ("char", "uchar", "short", "ushort", "int", "uint", "long", "ulong",
                                          "longlong", "ulonglong", "float", "double") for n in (1, 2, 3, 4)}
# <sys/types.h> names every file gets from nvcc's implicit includes (the types: vgpu.frontend.ctypes.SYS_TYPES)
SYS_TYPE_NAMES = {"uint", "ushort", "ulong", "u_char", "u_short", "u_int", "u_long", "quad_t", "u_quad_t", "int8_t",
                  "int16_t", "int32_t", "int64_t", "u_int8_t", "u_int16_t", "u_int32_t", "u_int64_t", "ssize_t"}
BUILTIN_TYPES = VECTOR_TYPES | SYS_TYPE_NAMES | {"size_t", "ptrdiff_t", "clock_t", "dim3", "cudaTextureObject_t",
                                                 "cudaSurfaceObject_t", "cudaExtent", "__vgpu_half",
                                                 "__vgpu_half2"}
TEXTURE_TEMPLATES = {"tex1Dfetch", "tex1D", "tex2D", "tex3D", "tex1DLayered", "tex2DLayered", "surf1Dread",
                     "surf2Dread", "surf3Dread", "surf1Dwrite", "surf2Dwrite", "surf3Dwrite", "surf1DLayeredread",
                     "surf2DLayeredread", "surf1DLayeredwrite", "surf2DLayeredwrite", "__vgpu_cuda_pipeline", "texCubemap",
                     "__vgpu_cuda_aligned_size_t", "__vgpu_cuda_memcpy_async"}
# libcu++ names vgpu supports, as the .vk library names them (vgpu/include/__vgpu_intrinsics.vkh); the
# scopes become their values (cuda::thread_scope_thread is 0 in libcu++'s enum)
CUDA_NAMES = {"cuda::pipeline": "__vgpu_cuda_pipeline", "cuda::make_pipeline": "__vgpu_cuda_make_pipeline",
              "cuda::memcpy_async": "__vgpu_cuda_memcpy_async", "cuda::aligned_size_t": "__vgpu_cuda_aligned_size_t",
              "cuda::thread_scope_system": 0, "cuda::thread_scope_device": 1, "cuda::thread_scope_block": 2,
              "cuda::thread_scope_thread": 3}       # templates wherever they are named
CG_TYPES = {"grid_group", "thread_block", "thread_group", "coalesced_group"}   # cooperative_groups::
# built-in templates (cooperative_groups:: and the functors of cg::reduce)
BUILTIN_TEMPLATES = {"thread_block_tile", "tiled_partition", "plus", "less", "greater", "bit_and", "bit_or",
                     "bit_xor"}
UNSUPPORTED = {
    "virtual": "virtual functions are not supported",
    "operator": "overloading this operator is not supported (vgpu overloads arithmetic, bitwise, comparison, "
                "assignment, [] and () operators)",
    "asm": "inline assembly (asm) is not supported", "__asm__": "inline assembly (asm) is not supported",
    "__asm": "inline assembly (asm) is not supported",
    "new": "'new' is not supported", "delete": "'delete' is not supported",
    "try": "exceptions are not supported", "catch": "exceptions are not supported",
    "throw": "exceptions are not supported",
    "__managed__": "__managed__ variables are not supported",
}
# CUDA libraries vgpu does not model, by a name that starts their use: a clear diagnostic at that name
_WMMA = "WMMA (nvcuda::wmma tensor-core fragments) is not supported"
_LIBCUXX = ("of libcu++ (cuda::), vgpu has cuda::pipeline<cuda::thread_scope_thread>, cuda::make_pipeline, "
            "cuda::memcpy_async and cuda::aligned_size_t; not this")
_GRAPHS = "CUDA graph conditional nodes (cudaGraphConditionalHandle, cudaGraphSetConditional) are not supported"
_CUBEMAP = "layered cubemap textures and cubemap surfaces are not supported"
LIBRARY_NAMES = {"cudaGraphConditionalHandle": _GRAPHS, "cudaGraphSetConditional": _GRAPHS,
                 "texCubemapLayered": _CUBEMAP, "surfCubemapwrite": _CUBEMAP,
                 "surfCubemapread": _CUBEMAP, "texCubemapLod": _CUBEMAP}
LIBRARY_PREFIXES = (("nvcuda::wmma::", _WMMA), ("wmma::", _WMMA), ("cuda::", _LIBCUXX),
                    ("cg::block_tile_memory", "cooperative_groups::block_tile_memory (tiles larger than a warp) is "
                                              "not supported"),
                    ("cooperative_groups::block_tile_memory", "cooperative_groups::block_tile_memory (tiles larger "
                                                              "than a warp) is not supported"))


def unsupported_message(name: str) -> str | None:
    """The diagnostic for a C++-only keyword or a CUDA library name vgpu does not support, else None."""
    if name in UNSUPPORTED:
        return UNSUPPORTED[name]
    if name in LIBRARY_NAMES:
        return LIBRARY_NAMES[name]
    name = name.replace(" ", "")
    return next((msg for prefix, msg in LIBRARY_PREFIXES if name.startswith(prefix)), None)


OPEN, CLOSE = "([{", ")]}"
TYPE_WORD_ORDER = ("signed", "unsigned", "short", "long", "void", "bool", "char", "int", "float", "double",
                   "auto")                       # the grammar's type_word, in the order _canonical sorts them
TYPE_WORDS = frozenset(TYPE_WORD_ORDER)


class _TokenFilter:
    """Lark postlexer: retypes IDENTIFIERs naming types as TYPE_NAME (tracking `typedef`s as they
    go by) and C++-only keywords as UNSUPPORTED; drops tokens while `skipping` after an error."""

    always_accept = ("IDENTIFIER",)       # Lark: terminals the postlexer may produce from these

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.type_names = set(BUILTIN_TYPES)
        self.prev = ""
        self.prev_is_type = False
        self.prev_ident = False                       # the last token was a plain IDENTIFIER (a name)
        self.typedef_depth: list[int] | None = None    # [parens, braces, brackets] inside a typedef
        self.skipping = False
        self.skip_depth = 0
        self.templates: set[str] = set()              # names of templates declared so far
        self.using_cg = False                         # after `using namespace cooperative_groups;`
        self.tparams: list[str] | None = None         # type parameters of the template being read
        self.tstate = ""                              # '', 'params' (in template<...>), 'decl'
        self.tdepth = [0, 0]                          # [angle or paren depth in params, brace depth in decl]
        self.tlast = ""                               # the last identifier of a template's declaration head
        self.tnamed = False
        self.braces = 0                               # '{' depth so far
        self.linkage: list[int] = []                  # depths of open `extern "C" {` blocks
        self.namespaces: set[str] = set()             # names of the `namespace N { ... }` blocks seen
        self.tag_align: list | None = None            # in `struct alignas(...) S`: [the tag word, paren depth]

    def _namespace(self, tok, pull, pending) -> bool:
        """`namespace N {`: drop it and its closing brace (as `extern "C" {`), so that what it declares is
        declared at file scope, and remember N: `N::name` then means `name`, `using namespace N;`
        nothing (vgpu.frontend.parse_cpp).  (vgpu has one scope for all namespaces: the same name in two namespaces is a
        redefinition.)  True when `tok` was dropped."""
        nxt = pull()
        nxt2 = pull() if nxt is not None else None
        if nxt is not None and nxt.type == "IDENTIFIER" and nxt2 is not None and nxt2.value == "{" and \
                self.prev != "using":
            self.namespaces.add(nxt.value)
            self.linkage.append(self.braces)
            return True
        pending[:0] = [x for x in (nxt, nxt2) if x is not None]
        return False

    def _unqualify(self, tok):
        """`N::name` of a namespace block N (nested ones too): the token `name`."""
        parts = [p.strip() for p in tok.value.split("::")]
        k = 0
        while k < len(parts) - 1 and parts[k] in self.namespaces:
            k += 1
        if k == 0:
            return tok
        if k == len(parts) - 1:
            return Token.new_borrow_pos("IDENTIFIER", parts[-1], tok)
        return Token.new_borrow_pos("QUALIFIED_ID", "::".join(parts[k:]), tok)

    def _linkage(self, tok, pull, pending) -> bool:
        """Drop `extern "C"` (a linkage, which device code does not need: vgpu's names are never
        mangled) and the braces of an `extern "C" { ... }` block; True when `tok` was dropped."""
        v = tok.value if tok.type not in ("STRING", "CHAR") else None
        if v == "extern":
            nxt = pull()
            if nxt is not None and nxt.type == "STRING" and nxt.value in ('"C"', '"C++"'):
                nxt2 = pull()
                if nxt2 is not None and nxt2.value == "{":
                    self.linkage.append(self.braces)
                elif nxt2 is not None:
                    pending.insert(0, nxt2)
                return True
            if nxt is not None:
                pending.insert(0, nxt)
        elif v == "{":
            self.braces += 1
        elif v == "}":
            if self.linkage and self.linkage[-1] == self.braces:
                self.linkage.pop()
                return True
            self.braces -= 1
        return False

    def _tag_alignas(self, tok) -> None:
        """In `struct alignas(N) S`, the alignas is passed over: after its `)`, S follows the tag word
        (so it names a type, and `{` opens the struct, not a braced initialiser)."""
        if tok.type in ("LPAR", "RPAR"):
            self.tag_align[1] += 1 if tok.type == "LPAR" else -1
        elif self.tag_align[1] == 0:                  # the token after the `)`
            self.prev, self.prev_is_type, self.prev_ident = self.tag_align[0], False, False
            self.tag_align = None

    def process(self, stream):
        stream = iter(stream)
        pending: list = []

        def pull():
            return pending.pop(0) if pending else next(stream, None)

        while True:
            tok = pending.pop(0) if pending else next(stream, None)
            if tok is None:
                return
            if self.tag_align is not None:
                self._tag_alignas(tok)
            elif tok.type == "ALIGNAS" and self.prev in ("struct", "union", "class"):
                self.tag_align = [self.prev, 0]
            if tok.type in _QUICK and not self.skipping and not self.tstate and self.typedef_depth is None:
                self.prev = tok.value if tok.type not in ("STRING", "CHAR") else '""'   # what the steps
                self.prev_is_type = False                                      # below do to these
                self.prev_ident = tok.type == "RSQB"     # `int b[3]{1, 2, 3}`: the brace is an initialiser
                yield tok
                continue
            if self.skipping and self._skip(tok):
                continue
            if tok.value in ("extern", "{", "}") and self._linkage(tok, pull, pending):
                continue
            if tok.value == "namespace" and tok.type != "STRING" and self._namespace(tok, pull, pending):
                continue
            if tok.type == "QUALIFIED_ID" and tok.value.startswith("cuda") and \
                    tok.value.replace(" ", "") in CUDA_NAMES:
                to = CUDA_NAMES[tok.value.replace(" ", "")]
                tok = Token.new_borrow_pos("INT" if isinstance(to, int) else "IDENTIFIER", str(to), tok)
            if tok.type == "QUALIFIED_ID" and self.namespaces:
                tok = self._unqualify(tok)
            t = tok.type
            short = tok.value.rsplit("::", 1)[-1].strip() if t in ("IDENTIFIER", "QUALIFIED_ID") else ""
            if short and (short in self.templates or short in TEXTURE_TEMPLATES or
                          short in BUILTIN_TEMPLATES and (t == "QUALIFIED_ID" or self.using_cg)) \
                    and self.prev not in (".", "->"):
                nxt = pull()
                if nxt is not None and nxt.value == "<":
                    ahead = [nxt]
                    depth = 0
                    while True:
                        x = pull()
                        if x is None:
                            break
                        ahead.append(x)
                        if x.value in ("<", "(", "["):
                            depth += 1
                        elif x.value in (")", "]"):
                            depth -= 1
                        elif x.value == ">":
                            depth -= 1
                            if depth < 0:
                                break
                        elif x.value in (";", "{", "}"):
                            break
                    follow = pull()
                    if follow is not None:
                        ahead.append(follow)
                    tok.type = "TEMPLATE_FUNC" if follow is not None and follow.value == "(" else "TEMPLATE_TYPE"
                    pending[:0] = ahead
                elif nxt is not None:
                    pending.insert(0, nxt)
                injected = tok.type == t and self.tstate == "decl" and self.tdepth[1] > 0 and short == self.tlast \
                    and short in self.type_names and self.prev != "~"
                if not injected:                      # (in its own body, a struct template's name is a type)
                    self._template_track(tok)
                    self.prev, self.prev_is_type = tok.value, tok.type == "TEMPLATE_TYPE"
                    self.prev_ident = False
                    yield tok
                    continue
            if (t == "IDENTIFIER" and tok.value in self.type_names) or tok.value in TYPE_WORDS:
                nxt = pull()
                nxt2 = pull() if nxt is not None else None
                pending[:0] = [x for x in (nxt, nxt2) if x is not None]
                if nxt is not None and nxt.value == "(" and not self.prev_is_type and \
                        not (nxt2 is not None and nxt2.value in ("*", "&")) and \
                        self.prev not in _TAG_KEYWORDS and \
                        self.prev not in (".", "->", "typedef", "sizeof", "operator") and \
                        self.tstate != "params" and self.typedef_depth is None:
                    tok.type = "FCAST"
                    self.prev, self.prev_is_type, self.prev_ident = tok.value, False, False
                    yield tok
                    continue
                if nxt is not None and nxt.value == "{" and nxt.type == "LBRACE" and not self.prev_is_type and \
                        self.prev not in _NOT_BEFORE_BRACE and self.tstate != "params" and self.typedef_depth is None:
                    tok.type, nxt.type = "FCAST", "BRACE_INIT"       # `S{a, b}`: a temporary
                    self.prev, self.prev_is_type, self.prev_ident = tok.value, False, False
                    yield tok
                    continue
            if self._template_track(tok):
                self.prev, self.prev_is_type, self.prev_ident = tok.value, False, False
                yield tok
                continue
            if tok.value == "{" and tok.type == "LBRACE" and self.prev_ident:
                tok.type = "BRACE_INIT"                   # `S v{a, b}`: a name, then a brace
            if t in _PLAIN and self.typedef_depth is None and tok.value not in TYPE_WORDS \
                    and tok.value != "typedef":
                after_type = False                    # _retype's answer, the common case made quick
            else:
                after_type = self._retype(tok)
            self.prev_ident = tok.type == "IDENTIFIER" and self.prev not in _TAG_WORDS
            self.prev = tok.value if t not in ("STRING", "CHAR") else '""'
            self.prev_is_type = after_type
            yield tok

    def _template_track(self, tok: Token) -> bool:
        """Follow `template <...> declaration`: its type parameters are type names until the
        declaration ends, and its name becomes a template name."""
        v = tok.value if tok.type not in ("STRING", "CHAR") else '""'
        if tok.type == "TEMPLATE":
            self.tstate, self.tdepth, self.tparams, self.tlast, self.tnamed = "head", [0, 0], [], "", False
            return False
        if self.tstate == "head":
            self.tstate = "params" if v == "<" else "decl"
            if v == "<":
                return False
        if self.tstate == "params":
            if v in ("<", "("):
                self.tdepth[0] += 1
            elif v == ")":
                self.tdepth[0] -= 1
            elif v == ">" and self.tdepth[0] == 0:
                self.tstate = "decl"
            elif v == ">":
                self.tdepth[0] -= 1
            elif v == "class":
                tok.type = "TYPENAME"
            elif tok.type == "IDENTIFIER" and self.prev in ("typename", "class"):
                self.tparams.append(v)
                self.type_names.add(v)
                return True
            return False
        if self.tstate == "decl":
            if tok.type == "IDENTIFIER" and self.tdepth[1] == 0 and not self.tnamed:
                self.tlast = v
            elif tok.type == "TEMPLATE_FUNC" and self.tdepth[1] == 0:
                self.tnamed = True
            elif v in ("(", "{", "=", ";", ":") and self.tdepth[1] == 0 and not self.tnamed:   # (":" a base)
                self.tnamed = True
                if self.tlast and self.tparams is not None and (self.tparams or v != ";"):
                    self.templates.add(self.tlast)
            if v == "{":
                self.tdepth[1] += 1
            elif v == "}":
                self.tdepth[1] -= 1
                if self.tdepth[1] == 0:
                    self._end_template()
            elif v == ";" and self.tdepth[1] == 0:
                self._end_template()
        return False

    def _end_template(self) -> None:
        for name in self.tparams or []:
            self.type_names.discard(name)
        self.tstate, self.tparams = "", None

    def _skip(self, tok: Token) -> bool:
        """Whether to drop `tok`: stop after a ';' or a whole `{...}`, or before a closing '}'."""
        v = tok.value if tok.type not in ("STRING", "CHAR") else '""'
        if v in OPEN:
            self.skip_depth += 1
        elif v in CLOSE:
            if v == "}" and self.skip_depth == 0:
                self.skipping = False
                return False
            self.skip_depth = max(self.skip_depth - 1, 0)
            self.skipping = not (v == "}" and self.skip_depth == 0)
        elif v == ";" and self.skip_depth == 0:
            self.skipping = False
        return True

    def _retype(self, tok: Token) -> bool:
        """Retype `tok` in place; say whether it completes a type (so a type name after it is redeclared)."""
        v = tok.value
        after_tag = self.prev in _TAG_KEYWORDS or self.prev in (".", "->")
        if tok.type == "IDENTIFIER" and v == "cooperative_groups" and self.prev == "namespace":
            self.type_names |= CG_TYPES          # using namespace cooperative_groups;
            self.using_cg = True
            return False
        if tok.type == "IDENTIFIER" and self.prev in _TAG_KEYWORDS and \
                self.typedef_depth is None:
            self.type_names.add(v)               # C++: the tag alone names the type from here on
            #                                      (not in a typedef: C code names its variables after those tags)
        if tok.type == "IDENTIFIER" and not after_tag:
            redeclared = self.prev_is_type or (self.prev == "}" and self.typedef_depth == [0, 0, 0])
            if v == "typename":
                tok.type = "TYPENAME"
            elif v in ("public", "private", "protected"):
                tok.type = "ACCESS"
            elif v in UNSUPPORTED or v in LIBRARY_NAMES:
                tok.type = "UNSUPPORTED"
            elif v in self.type_names and not redeclared:
                tok.type = "TYPE_NAME"
                return True
            elif self.typedef_depth is not None:
                parens, braces, brackets = self.typedef_depth
                if braces == brackets == 0 and (parens == 0 or (parens == 1 and self.prev == "*")):
                    self.type_names.add(v)
        elif tok.type == "QUALIFIED_ID":
            if v.rsplit("::", 1)[1].strip() == "operator":
                tok.type = "SCOPED_OPERATOR"            # `S::operator+=`: a member defined outside S
            elif v.rsplit("::", 1)[1].strip() in CG_TYPES:
                tok.type = "TYPE_NAME"
                return True
            if unsupported_message(v) is not None:
                tok.type = "UNSUPPORTED"
        elif v == "typedef" and tok.type != "IDENTIFIER":
            self.typedef_depth = [0, 0, 0]
        elif self.typedef_depth is not None and tok.type not in ("STRING", "CHAR"):
            if v == ";" and not any(self.typedef_depth):
                self.typedef_depth = None
            elif len(v) == 1 and v in OPEN + CLOSE:
                i = (OPEN + CLOSE).index(v)
                self.typedef_depth[i % 3] += 1 if i < 3 else -1
        return (tok.type == "IDENTIFIER" and self.prev in _TAG_KEYWORDS) or \
            (v in TYPE_WORDS and tok.type not in ("IDENTIFIER", "STRING", "CHAR"))


_TAG_KEYWORDS = frozenset({"struct", "union", "enum", "class"})      # a name after one is a tag
_TAG_WORDS = _TAG_KEYWORDS | {"namespace", "goto", ".", "->"}
_NOT_BEFORE_BRACE = _TAG_WORDS | {"typedef", "operator", ":", "public", "private", "protected", "virtual"}
PARSE_FILTER = _TokenFilter()
_PLAIN = frozenset({"INT", "FLOAT", "CHAR", "STRING", "SEMICOLON", "COMMA", "LPAR", "RPAR", "EQUAL", "PLUS", "MINUS",
                    "STAR", "LSQB", "RSQB", "LBRACE", "RBRACE", "LESSTHAN", "MORETHAN", "DOT"})  # never retyped
_QUICK = _PLAIN - {"LBRACE", "RBRACE"}     # and (outside templates and typedefs) nothing else to track


@lru_cache(maxsize=1)
def parser() -> Lark:
    return load_grammar("vk.lark", parser="lalr", lexer="basic", maybe_placeholders=True, postlex=PARSE_FILTER,
                        cache=True)


@lru_cache(maxsize=1)
def spellings() -> dict[str, str]:
    """Terminal name -> how a C programmer would write it in a message."""
    names = {t.name: f"'{t.pattern.value}'" for t in parser().terminals if isinstance(t.pattern, PatternStr)}
    names.update(IDENTIFIER="identifier", QUALIFIED_ID="identifier", TYPE_NAME="type name", INT="constant",
                 FLOAT="constant", CHAR="constant", STRING="string literal")
    return names
