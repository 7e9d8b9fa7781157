"""Real kernels from public repositories, extracted mechanically, checked by nvcc and by vgpu.

    python benchmarks/realworld_public.py [--out /tmp/realworld] [--only SOURCE] [--no-nvcc] [-j N] [-v]

In:  the bare git mirrors of NVIDIA/cuda-samples, yuhc/gpu-rodinia and cavazos-lab/PolyBench-ACC (CUDA/)
     under /work/.mirror (read with `git show`, nothing is checked out).
Out: one file per __global__ kernel under --out/<source>/ (never inside the repository: the code is
     public but not ours to commit), then per source how many of the files nvcc accepts
     (`nvcc -arch=sm_90 -ptx`) vgpu also accepts (`vgpu.compile_file`), and the first vgpu diagnostic per
     rejected kernel grouped by message. An exception other than CompileError is reported as a vgpu bug.

Extraction (no hand edits): quoted #includes found beside the file are inlined (helper_*.h dropped),
comments are removed, the text is split into top-level declarations by brace matching (namespaces are
split inside), host-only definitions and main() are dropped, and each kernel is written with every
declaration it references transitively by identifier, in source order, plus the <...> includes,
conditional directives, pragmas and `using namespace` lines of its file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MIRRORS = {
    "samples": ("/work/.mirror/NVIDIA+cuda-samples/repo", ""),
    "rodinia": ("/work/.mirror/yuhc+gpu-rodinia/repo", ""),
    "polybench": ("/work/.mirror/cavazos-lab+PolyBench-ACC/repo", "CUDA/"),
}
HOST_HEADERS = re.compile(r"helper_|timer|multithreading|nvrtc|cuda_gl|GL/|glew|freeglut|"
                          r"exception\.h|drvapi|FreeImage|nvMedia|EGL|cudaProfiler|cuda_profiler|omp\.h|"
                          r"sys/time|unistd|mpi\.h|polybench\.c")
IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = set("""if else for while do return switch case default break continue struct class union enum
typedef template typename const volatile static extern inline unsigned signed int long short char float double
void bool auto sizeof namespace using public private protected operator new delete true false this""".split())


def git_files(repo: str, prefix: str) -> list[str]:
    out = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.split("\n")
    return sorted(p for p in out if p.startswith(prefix) and p.endswith((".cu", ".cuh")))


def git_text(repo: str, path: str) -> str | None:
    r = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"], capture_output=True)
    return r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None


def strip_comments(text: str) -> tuple[str, str]:
    """(text without comments, the same with string/char literal contents blanked) - equal lengths."""
    out, mask, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            while j < n and text[j - 1] == "\\":  # line comment continued by backslash
                k = text.find("\n", j + 1)
                j = n if k < 0 else k
            out.append(" " * (j - i)); mask.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank = re.sub(r"[^\n]", " ", text[i:j])
            out.append(blank); mask.append(blank); i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(text[i:j]); mask.append(c + " " * max(j - i - 2, 0) + (c if j - i >= 2 else "")); i = j
        else:
            out.append(c); mask.append(c); i += 1
    return "".join(out), "".join(mask)


def inline_includes(repo: str, path: str, text: str, seen: set[str], tree: list[str]) -> str:
    """Replace #include "x" (or <x>) by the text of x when it lies beside the file, or else is the one
    file of the repository with that name (the build's -I directory), recursively, once each."""
    base = path.rsplit("/", 1)[0] if "/" in path else ""

    def repl(m: re.Match) -> str:
        name = m.group(1)
        if HOST_HEADERS.search(name):
            return ""
        parts = (base + "/" + name).split("/") if base else name.split("/")
        norm: list[str] = []
        for p in parts:
            if p == "..":
                if norm:
                    norm.pop()
            elif p not in ("", "."):
                norm.append(p)
        target = "/".join(norm)
        if target not in tree:
            same = [t for t in tree if t.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]]
            if not same:
                return m.group(0) if m.group(0).lstrip("# \t").startswith("include <") or "<" in m.group(0) else ""
            target = same[0]
        if target in seen:
            return ""
        sub = git_text(repo, target)
        if sub is None:
            return ""
        seen.add(target)
        return inline_includes(repo, target, sub, seen, tree) + "\n"

    return re.sub(r'^[ \t]*#[ \t]*include[ \t]*["<]([^">]+)[">][^\n]*$', repl, text, flags=re.M)


class Item:
    def __init__(self, text: str, mask: str, ns: tuple[str, ...]):
        self.text, self.mask, self.ns = text, mask, ns
        self.kind, self.names, self.kernel = self.classify()
        self.refs = set(IDENT.findall(mask)) - KEYWORDS

    def classify(self) -> tuple[str, set[str], str | None]:
        m = self.mask.strip()
        if m.startswith("#"):
            d = re.match(r"#\s*(\w+)\s*(\S*)", m)
            word = d.group(1) if d else ""
            if word == "define":
                return "define", {re.match(r"\w+", d.group(2)).group(0)} if d.group(2) else set(), None
            if word == "include":
                return ("always" if "<" in m and not HOST_HEADERS.search(m) else "drop"), set(), None
            return "always", set(), None
        head = m.split("{", 1)[0]
        has_body = "{" in m
        body_head = re.sub(r"^template\s*<.*?>\s*", "", head, flags=re.S) if head.startswith("template") else head
        if re.match(r"using\s+namespace\b", body_head):
            return "always", set(), None
        if "__global__" in head:
            name = self.func_name(head)
            return ("kernel" if has_body else "drop"), {name} if name else set(), name if has_body else None
        tm = re.match(r"(?:typedef\s+)?(?:struct|class|union|enum(?:\s+class)?)\s+(?:__\w+__\s*(?:\([^)]*\))?\s*)*(\w+)?",
                      body_head)
        if body_head.startswith("typedef") or (tm and (has_body or body_head.rstrip().endswith(";"))
                                               and "(" not in body_head.split("{")[0][:tm.end()]):
            names = set()
            if tm and tm.group(1):
                names.add(tm.group(1))
            if body_head.startswith("typedef"):
                tail = re.findall(r"(\w+)\s*(?:\[[^\]]*\]\s*)*(?:\)\s*\([^)]*\))?\s*;?\s*$", m)
                names.update(tail[-1:])
                fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", m)
                if fp:
                    names.add(fp.group(1))
            if re.match(r"(typedef\s+)?enum", body_head) and "{" in m:
                names.update(re.findall(r"[{,]\s*(\w+)", m[m.index("{"):]))
            return "type", names, None
        if re.match(r"using\s+(\w+)\s*=", body_head):
            return "type", {re.match(r"using\s+(\w+)", body_head).group(1)}, None
        device = re.search(r"\b__(device|constant|shared|managed)__\b", head)
        if device:
            if "(" in head and "=" not in head.split("(")[0]:
                name = self.func_name(head)
                return "device", {name} if name else set(), None
            return "device", self.var_names(head), None
        if not has_body and re.match(r"(static\s+)?(const|constexpr)\b|(\w+\s+)*(const|constexpr)\b", body_head) \
                and "=" in m and "(" not in m.split("=")[0]:
            return "device", self.var_names(head), None  # a constant usable from device code
        return "drop", set(), None

    @staticmethod
    def func_name(head: str) -> str | None:
        h = re.sub(r"__launch_bounds__\s*\([^)]*\)", " ", head).split("(")[0]
        if "operator" in h:
            return "operator"
        ids = IDENT.findall(re.sub(r"<[^<>]*>", " ", h))
        return ids[-1] if ids else None

    @staticmethod
    def var_names(head: str) -> set[str]:
        names = set()
        for part in re.split(r",(?![^()\[\]{}]*[)\]}])", head.split(";")[0]):
            ids = IDENT.findall(re.split(r"[=\[({]", part)[0])
            if ids:
                names.add(ids[-1])
        return names


def split_items(text: str, mask: str, ns: tuple[str, ...] = ()) -> list[Item]:
    """Top-level declarations of text (mask: the same with literals blanked), namespaces split inside."""
    items: list[Item] = []
    i, n = 0, len(mask)
    while i < n:
        while i < n and mask[i] in " \t\r\n;":
            i += 1
        if i >= n:
            break
        if mask[i] == "#":
            j = i
            while True:
                k = mask.find("\n", j)
                if k < 0:
                    k = n
                    break
                if mask[k - 1] == "\\" or (k >= 2 and mask[k - 2:k] == "\\\r"):
                    j = k + 1
                    continue
                break
            items.append(Item(text[i:k], mask[i:k], ns)); i = k
            continue
        nm = re.compile(r"(namespace(?:\s+[\w:]+)?|extern\s+\"\s*\")\s*\{").match(mask, i)
        if nm:
            depth, j = 0, nm.end() - 1
            while j < n:
                if mask[j] == "{":
                    depth += 1
                elif mask[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            name = nm.group(1).split()[-1] if nm.group(1).startswith("namespace") and len(nm.group(1).split()) > 1 \
                else ("" if nm.group(1).startswith("namespace") else 'extern "C"')
            items.extend(split_items(text[nm.end():j], mask[nm.end():j], ns + (name,)))
            i = j + 1
            continue
        depth, paren, j, start = 0, 0, i, i
        typelike = None
        while j < n:
            c = mask[j]
            if c == "#" and depth == 0 and (j == 0 or mask[mask.rfind("\n", 0, j) + 1:j].strip() == ""):
                break  # a directive between declarations ends an unterminated one
            if c == "(":
                paren += 1
            elif c == ")":
                paren -= 1
            elif c == "{":
                if depth == 0 and typelike is None:
                    head = re.sub(r"^template\s*<.*?>\s*", "", mask[start:j].strip(), flags=re.S)
                    typelike = bool(re.match(r"(typedef\b|struct\b|class\b|union\b|enum\b|\w+(\s*<[^>]*>)?(\s*\[[^\]]*\])*\s*=)", head)
                                    or re.search(r"=\s*$", head))
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0 and not typelike:
                    j += 1
                    break
            elif c == ";" and depth == 0 and paren == 0:
                j += 1
                break
            j += 1
        items.append(Item(text[start:j], mask[start:j], ns))
        i = j
    return items


def extract(repo: str, path: str, tree: list[str]) -> list[tuple[str, str]]:
    """[(kernel name, file text)] for each kernel defined in repo:path."""
    raw = git_text(repo, path)
    if raw is None:
        return []
    full = inline_includes(repo, path, raw, {path}, tree)
    text, mask = strip_comments(full)
    items = split_items(text, mask)
    providers: dict[str, list[int]] = defaultdict(list)
    for k, it in enumerate(items):
        if it.kind in ("define", "type", "device", "kernel"):
            for name in it.names:
                providers[name].append(k)
    out = []
    for k, it in enumerate(items):
        if it.kind != "kernel":
            continue
        always = [x for x, y in enumerate(items) if y.kind == "always"]
        keep, todo = {k}, [k] + always
        while todo:
            for ref in items[todo.pop()].refs:
                for p in providers.get(ref, ()):
                    if p not in keep and items[p].kind != "kernel":
                        keep.add(p); todo.append(p)
        chosen = [x for x in range(len(items)) if x in keep or items[x].kind == "always"]
        lines, cur = [], ()
        for x in chosen:
            it2 = items[x]
            if it2.ns != cur and not it2.text.lstrip().startswith("#"):
                lines.extend("}" for _ in cur)
                lines.extend(("extern \"C\" {" if s == 'extern "C"' else f"namespace {s} {{") for s in it2.ns)
                cur = it2.ns
            lines.append(it2.text.strip())
        lines.extend("}" for _ in cur)
        out.append((it.kernel or f"kernel{k}", "\n".join(lines) + "\n"))
    return out


def write_all(out: Path, only: str | None) -> list[tuple[str, Path]]:
    files = []
    for source, (repo, prefix) in MIRRORS.items():
        if only and source != only:
            continue
        tree = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.split("\n")
        for path in git_files(repo, prefix):
            used: Counter = Counter()
            for kernel, text in extract(repo, path, tree):
                used[kernel] += 1
                stem = path[len(prefix):].replace("/", "__").rsplit(".", 1)[0]
                name = f"{stem}__{kernel}" + (f"_{used[kernel]}" if used[kernel] > 1 else "") + ".cu"
                dest = out / source / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(f"// extracted from {MIRRORS[source][0].split('/')[-2]}:{path}\n" + text)
                files.append((source, dest))
    return files


def nvcc_ok(path: Path, cache: dict) -> bool:
    key = hashlib.sha1(path.read_bytes()).hexdigest()
    if key not in cache:
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run(["nvcc", "-arch=sm_90", "-ptx", "-x", "cu", str(path), "-o", f"{tmp}/k.ptx"],
                               capture_output=True, text=True, timeout=300)
        cache[key] = r.returncode == 0
    return cache[key]


def vgpu_result(path: Path) -> str | None:
    """None when vgpu compiles the file, 'error: ...' for a CompileError, 'BUG: ...' otherwise."""
    import vgpu
    from vgpu.diagnostics import CompileError
    try:
        vgpu.compile_file(str(path))
    except CompileError as e:
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
        return "error: " + (lines[0] if lines else "error")
    except Exception as e:  # noqa: BLE001 - any other exception is a vgpu bug to report
        return f"BUG: {type(e).__name__}: {e}"
    return None


def blocker(msg: str) -> str:
    msg = re.sub(r"^error: \S+:\d+:\d+:\s*(error:\s*)?", "", msg)
    return re.sub(r"'[^']*'", "'…'", msg)[:100]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/realworld")
    ap.add_argument("--only", choices=sorted(MIRRORS))
    ap.add_argument("--no-nvcc", action="store_true", help="count every file as nvcc-accepted")
    ap.add_argument("-j", type=int, default=2, help="parallel nvcc runs")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        for f in out.rglob("*.cu"):
            f.unlink()
    files = write_all(out, args.only)
    cache_path = out / "nvcc_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    if args.no_nvcc or shutil.which("nvcc") is None:
        nv = [True] * len(files)
    else:
        with ThreadPoolExecutor(args.j) as pool:
            nv = list(pool.map(lambda f: nvcc_ok(f[1], cache), files))
        cache_path.write_text(json.dumps(cache))
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    blockers: dict[str, list[str]] = defaultdict(list)
    for (source, path), ok in zip(files, nv):
        per[source][2] += 1
        if not ok:
            continue
        per[source][1] += 1
        err = vgpu_result(path)
        if err is None:
            per[source][0] += 1
        else:
            blockers[blocker(err)].append(path.name)
        if args.verbose:
            print(f"{source}/{path.name:70s} {'ok' if err is None else err.replace(str(path), '')[:200]}")
    tot = [sum(v[i] for v in per.values()) for i in range(3)]
    print(f"\n{'source':10s} {'vgpu ok':>7s} / {'nvcc ok':>7s}  share   (kernels extracted)")
    for source, (ok, n, ext) in sorted(per.items()) + [("all", tot)]:
        print(f"{source:10s} {ok:7d} / {n:7d}  {100 * ok / max(n, 1):4.0f}%   ({ext})")
    if blockers:
        print("\nfirst vgpu diagnostic per rejected kernel, grouped:")
        for msg, names in sorted(blockers.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(names):4d}  {msg}    e.g. {names[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
