"""No import circle anywhere in src/lrkit, lazy imports inside functions included.

The graph is read from the source with ``ast`` (no module is imported): every ``import`` and
``from ... import`` at any depth (module level, functions, methods), relative or absolute ``lrkit.``,
and ``importlib.import_module("lrkit...")`` with a literal name. Every ``.py`` file under src/lrkit is a
node, packages included (``lrkit/torch/__init__.py`` is ``lrkit.torch``). Importing ``a.b.c`` also runs
the ``__init__`` of each package on the way (``a.b``) that the importer is not already inside.
"""
import ast
import pathlib

import lrkit

ROOT = pathlib.Path(lrkit.__file__).resolve().parent

def module_names(root=ROOT):
    """{dotted module name: path} for every .py file under ``root`` (``__init__`` -> the package)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = ("lrkit",) + path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _ancestors(name):
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def _package_of(name, path):
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_modules(name, path, known):
    """The lrkit modules that running ``name`` (at path) may import, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _package_of(name, path)
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in known else base)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            targets = [node.args[0].value]
        for target in targets:
            if target.partition(".")[0] != "lrkit":
                continue
            for module in {target} | (_ancestors(target) - _ancestors(name)):
                if module in known and module != name:
                    found.add(module)
    return found


def import_graph(root=ROOT):
    known = module_names(root)
    return {name: imported_modules(name, path, known) for name, path in known.items()}


def circles(graph):
    """The strongly connected components with more than one module (Tarjan), each as a list of names."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def a_cycle(graph, component):
    """One import path around ``component`` that comes back to where it starts: a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}

    def walk(v):
        for w in sorted(graph[v] & members):
            if w == start:
                return path + [start]
            if w not in seen:
                seen.add(w)
                path.append(w)
                found = walk(w)
                if found:
                    return found
                path.pop()
        return None

    return walk(start)


def describe(graph, component):
    """One circle of ``component`` and every import edge inside it."""
    edges = ", ".join(f"{a} -> {b}" for a in component for b in sorted(graph[a] & set(component)))
    return f"  {' -> '.join(a_cycle(graph, component))}  (all imports among them: {edges})"


def test_no_import_circle_in_src_lrkit():
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(describe(graph, c) for c in found)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """The reader itself: relative, absolute, function-level, importlib and package imports make edges,
    and a circle through a function-level import is found and printed."""
    pkg = tmp_path / "lrkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from ._a import A\n")
    (pkg / "_a.py").write_text("import math\nfrom . import _b\nA = 1\n")
    (pkg / "_b.py").write_text("def f():\n    from lrkit.sub._c import C\n    return C\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "_c.py").write_text("import importlib\n"
                                       "def g():\n    return importlib.import_module('lrkit._a')\nC = 2\n")
    graph = import_graph(pkg)
    assert graph == {"lrkit": {"lrkit._a"}, "lrkit._a": {"lrkit._b"}, "lrkit._b": {"lrkit.sub", "lrkit.sub._c"},
                     "lrkit.sub": set(), "lrkit.sub._c": {"lrkit._a"}}
    [component] = circles(graph)
    assert component == ["lrkit._a", "lrkit._b", "lrkit.sub._c"]
    assert a_cycle(graph, component) == ["lrkit._a", "lrkit._b", "lrkit.sub._c", "lrkit._a"]
    (pkg / "sub" / "__init__.py").write_text("from .. import _a\n")  # the package's own __init__ counts
    (pkg / "sub" / "_c.py").write_text("C = 2\n")
    graph = import_graph(pkg)
    assert graph["lrkit.sub"] == {"lrkit._a"}
    assert circles(graph) == [["lrkit._a", "lrkit._b", "lrkit.sub"]]
