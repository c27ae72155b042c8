"""The dependency direction of DESIGN.md, checked on every import statement in the package."""

import ast
from pathlib import Path

import domainssl

PACKAGE = Path(domainssl.__file__).parent
TOP = {"cli", "api", "__main__", "__init__"}

FORBIDDEN = {
    "modalities": {"models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "augment": {"models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "data": {"models", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "models": {"data", "modalities", "augment", "methods", "train", "export", "finetune", "evaluate", *TOP},
    "methods": {"data", "modalities", "augment", "train", "export", "finetune", "evaluate", *TOP},
    "export": {"data", "augment", "methods", "train", "finetune", "evaluate", *TOP},
    "evaluate": {"methods", "train", "finetune", *TOP},
    "finetune": {"methods", "train", "cli", "api", "__main__"},
    "train": {"finetune", *TOP},
}


def _imported_parts(path: Path) -> set[str]:
    parts = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("domainssl."):
            parts.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            parts.update(a.name.split(".")[1] for a in node.names if a.name.startswith("domainssl."))
    return parts


def test_layers_only_import_downwards():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        bad = _imported_parts(path) & FORBIDDEN.get(layer, set())
        if bad:
            violations.append(f"{path.relative_to(PACKAGE)} imports {sorted(bad)}")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_imports():
    assert "config" in _imported_parts(PACKAGE / "train" / "loop.py")
