"""The dependency direction of docs/architecture.md, checked on every import statement in the package.

Two rules: each layer imports only the layers below it (``FORBIDDEN``), and the module import graph,
lazy imports inside functions included, has no cycle (so no registry is imported back from its
package ``__init__`` and no two modules need each other).
"""

import ast
from pathlib import Path

import domainssl

PACKAGE = Path(domainssl.__file__).parent
TOP = {"cli", "api", "__main__", "__init__", "preview"}

#: The bottom layer: each of these imports only the ones listed (nothing else from domainssl).
BOTTOM = {"errors": set(), "paths": set(), "version": set(), "options": {"errors"}, "physics": set(),
          "device": {"errors"}, "schedules": set(), "registry": set()}

FORBIDDEN = {
    "augment": {"modalities", "data", "config", "models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "modalities": {"data", "config", "models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "data": {"models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "models": {"data", "modalities", "augment", "physics", "config", "methods", "train", "export", "finetune",
               "evaluate", *TOP},
    "methods": {"data", "modalities", "augment", "physics", "config", "train", "export", "finetune", "evaluate", *TOP},
    "config": {"data", "augment", "physics", "models", "train", "export", "finetune", "evaluate", *TOP},
    "export": {"data", "augment", "physics", "config", "methods", "train", "finetune", "evaluate", *TOP},
    "evaluate": {"methods", "train", "finetune", *TOP},
    "finetune": {"methods", "train", *TOP},
    "train": {"finetune", *TOP},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = PACKAGE.parent / Path(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """The domainssl modules ``path`` imports: ``from pkg import sub`` names the submodule when it is one."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("domainssl"):
            subs = [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "domainssl")
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_layers_only_import_downwards():
    graph = _graph()
    layers = {_layer(m) for m in graph}
    violations = []
    for module, imported in graph.items():
        layer = _layer(module)
        for target in imported:
            other = _layer(target)
            below = BOTTOM[layer] if layer in BOTTOM else layers - FORBIDDEN.get(layer, set())
            if other != layer and other not in below:
                violations.append(f"{module} ({layer}) imports {target} ({other})")
    assert not violations, "\n".join(sorted(violations))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_lazy_imports_included():
    cycles = _cycles(_graph())
    assert not cycles, "modules that import each other:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checkers_see_imports_and_cycles():
    assert "domainssl.config" in _imports(PACKAGE / "train" / "loop.py")
    assert "domainssl.modalities.registry" in _imports(PACKAGE / "modalities" / "tof.py")
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
