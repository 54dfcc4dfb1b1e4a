"""The house by stages (docs/architecture.md): every module of assistant/ imports only its
own layer or the layers below it, and no modules import each other in a circle (in
assistant/ or deploy/). Read from the code's own imports with `ast`, the imports inside
functions included: a lazy import is still an arrow."""
from __future__ import annotations

import ast
from pathlib import Path

from servers import PROJECT

# From the bottom up; a module may import its own layer and those below.
LAYERS = (
    ("errors", "settings", "records"),  # the kernel
    ("text",),
    ("model",),
    ("content",),
    ("search",),
    ("answer",),
    ("questionlog",),
    ("http",),
    ("engine",),
    ("eval",),
    ("web",),
    ("cli", "__main__", "__init__"),
)
KERNEL = LAYERS[0]


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package folder `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package, *path.relative_to(root).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of `modules` that the module `name` (the file `path`) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # `from package import module` names the module; `from module import name`, the module
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names)
    return {target for target in targets if target in modules and target != name}


def graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = modules_of(root, package)
    return {name: imported(name, path, modules) for name, path in modules.items()}


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    return next(n for n, names in enumerate(LAYERS) if top in names)


def upward_imports(arrows: dict[str, set[str]]) -> list[str]:
    """One line for each import of a higher layer (the kernel imports only the kernel)."""
    found = []
    for module, targets in sorted(arrows.items()):
        for target in sorted(targets):
            if layer_of(target) > layer_of(module):
                found.append(f"{module} imports {target}, a layer above it")
    return found


def circles(arrows: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in arrows.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(arrows):
        if module not in index:
            visit(module)
    return groups


def test_every_module_imports_only_its_own_layer_or_those_below():
    assert upward_imports(graph(PROJECT / "assistant", "assistant")) == []


def test_no_modules_import_each_other_in_a_circle():
    assert circles(graph(PROJECT / "assistant", "assistant")) == []
    assert circles(graph(PROJECT / "deploy", "deploy")) == []


def test_every_top_level_name_of_the_package_has_a_layer():
    tops = {path.stem if path.is_file() else path.name for path in (PROJECT / "assistant").iterdir()
            if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists())}
    assert tops == {name for names in LAYERS for name in names}


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "assistant"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_check_finds_an_upward_import_even_inside_a_function(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "", "errors.py": "", "text/__init__.py": "", "web/__init__.py": "",
        "web/app.py": "from assistant.text.terms import words\n",
        "text/terms.py": "def words():\n    from assistant.web import app\n    return app\n",
    })
    assert upward_imports(graph(root, "assistant")) == ["assistant.text.terms imports assistant.web.app, a layer above it"]


def test_the_check_finds_a_circle_of_relative_imports_and_the_kernel_importing_up(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "", "settings.py": "from .model import embedder\n", "model/__init__.py": "",
        "model/embedder.py": "from . import batching\n", "model/batching.py": "from .embedder import Embedder\n",
    })
    arrows = graph(root, "assistant")
    assert circles(arrows) == [["assistant.model.batching", "assistant.model.embedder"]]
    assert upward_imports(arrows) == ["assistant.settings imports assistant.model.embedder, a layer above it"]
