"""The layers above the core keep one way out and one direction of imports (issue 12).

* Only the runtime's exit (``Runtime._exit`` in ``dihya/runtime.py``) touches an adapter's
  ``perform``: everything said to a chat is redacted and keyed there, once.
* ``dihya/`` imports ``adapters/`` only in the composition root (``dihya/serve.py``, ``dihya/cli.py``);
  ``bot/`` and ``commands/`` never do, and ``commands/`` does not import ``dihya/`` either.
* Adapters see the runtime through the ports of ``dihya/chat.py``, never ``dihya.runtime`` itself.
"""

from __future__ import annotations

import ast

from tests.bot.source_tree import parsed

PACKAGES = ("bot", "commands", "adapters", "dihya", "bench", "examples")
EXIT = ("dihya/runtime.py", "Runtime._exit")
COMPOSITION_ROOT = frozenset({"dihya/serve.py", "dihya/cli.py"})


def sources() -> list[tuple[str, ast.Module]]:
    return [source for package in PACKAGES for source in parsed(package)]


def perform_uses(tree: ast.Module) -> list[str]:
    """Where ``perform`` is read off an object (a call, or a bound method handed on), or fetched by
    ``getattr(x, "perform")``: the qualified name of the enclosing function, one entry per use."""
    found: list[str] = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope = (*scope, node.name)
        read = isinstance(node, ast.Attribute) and node.attr == "perform" and isinstance(node.ctx, ast.Load)
        fetched = (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                   and any(isinstance(a, ast.Constant) and a.value == "perform" for a in node.args))
        if read or fetched:
            found.append(".".join(scope))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, ())
    return found


def imports(tree: ast.Module) -> set[str]:
    """Every module a file imports, at the top or inside a function, and every module named to
    ``importlib.import_module``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


def _within(names: set[str], package: str) -> set[str]:
    return {n for n in names if n == package or n.startswith(f"{package}.")}


def test_only_the_runtimes_exit_calls_perform() -> None:
    uses = [(path, where) for path, tree in sources() for where in perform_uses(tree)]
    assert uses == [EXIT]  # exactly one use, in the exit


def test_dihya_imports_adapters_only_in_the_composition_root() -> None:
    offenders = {path: sorted(_within(imports(tree), "adapters")) for path, tree in sources()
                 if path.split("/")[0] in {"dihya", "bot", "commands"} and path not in COMPOSITION_ROOT}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_commands_import_neither_the_application_nor_adapters() -> None:
    offenders = {path: sorted(_within(imports(tree), "dihya") | _within(imports(tree), "adapters"))
                 for path, tree in sources() if path.startswith("commands/")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_adapters_see_the_runtime_only_through_its_ports() -> None:
    offenders = {path: sorted(_within(imports(tree), "dihya.runtime")) for path, tree in sources()
                 if path.startswith("adapters/")}
    assert {path: names for path, names in offenders.items() if names} == {}


# -- the scans see what they look for (else the rules above would pass vacuously) ------------------
def test_the_scan_sees_every_way_of_reaching_perform() -> None:
    tree = ast.parse("""
class Sneaky:
    async def post(self, adapter, action):
        await adapter.perform(action, None)
    def hand_on(self, adapter):
        return adapter.perform
    async def fetched(self, adapter, action):
        await getattr(adapter, "perform")(action, None)
    async def perform(self, action, target):  # defining perform is what adapters do
        return None
""")
    assert perform_uses(tree) == ["Sneaky.post", "Sneaky.hand_on", "Sneaky.fetched"]


def test_the_scan_sees_imports_anywhere_in_a_file() -> None:
    tree = ast.parse("""
import adapters.slack
def late():
    from adapters.console import ConsoleChat
    importlib.import_module("adapters.matrix")
""")
    assert _within(imports(tree), "adapters") == {"adapters.slack", "adapters.console",
                                                   "adapters.console.ConsoleChat", "adapters.matrix"}
    serve = dict(sources())["dihya/serve.py"]
    assert "adapters.slack" in imports(serve)  # the root's own, function-local, imports are seen
