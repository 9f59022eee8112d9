"""The layering, read from the source with ``ast``: nothing is imported to check it.

The domain stays free of the web, the CLI, SNMP, raw sockets and the servers, also through
another provisioner module; the DHCP side, the gateway and the firmware catalogue stand on their
own next to the provisioner. A failure prints the import chain that breaks the rule.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.support.paths import ROOT

PROVISIONER = ROOT / "provisioner"
DOMAIN = "provisioner.domain"
# Outside libraries and provisioner packages that would tie the domain to a delivery mechanism.
FORBIDDEN_IN_DOMAIN_LIBRARIES = {"flask", "click", "pysnmp", "scapy", "socket", "granian", "tftpy"}
FORBIDDEN_IN_DOMAIN_PACKAGES = tuple(
    f"provisioner.{name}" for name in ("web", "tftp", "sip", "snmp", "cli", "app")
)
STANDALONE = ("dhcp_opt66", "gateway32", "firmware")
# Model facts shared with the provisioner: plain data, so importing it drags in nothing else.
SHARED_WITH_STANDALONE = "provisioner.vendors.facts"
MAX_TOP_LEVEL_MODULES = 6


def module_path(name: str) -> Path | None:
    """The source file of a module in this repository, or None for anything outside it."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:``, which never run."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in (child, *_runtime_nodes(child)))
            continue
        yield node
        yield from _runtime_nodes(node)


@cache
def imports_of(name: str) -> frozenset[str]:
    """What a module imports when it runs (function-level imports too), as absolute names.

    ``from package import name`` counts as importing ``package.name`` when that is a module here.
    """
    path = module_path(name)
    if path is None:
        return frozenset()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            found.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if module_path(f"{base}.{alias.name}") is not None
            )
    return frozenset(found)


def with_parent_packages(name: str) -> list[str]:
    """Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def forbidden_for_domain(name: str) -> bool:
    if name.split(".")[0] in FORBIDDEN_IN_DOMAIN_LIBRARIES:
        return True
    return any(name == p or name.startswith(f"{p}.") for p in FORBIDDEN_IN_DOMAIN_PACKAGES)


def first_forbidden_chain(start: str) -> list[str] | None:
    """Breadth first through provisioner-internal imports: the shortest chain to a forbidden one."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        for imported in sorted(imports_of(current)):
            for step in with_parent_packages(imported):
                if step in came_from:
                    continue
                came_from[step] = current
                if forbidden_for_domain(step):
                    chain = [step]
                    while (previous := came_from[chain[-1]]) is not None:
                        chain.append(previous)
                    return chain[::-1]
                if step.split(".")[0] == "provisioner" and module_path(step) is not None:
                    queue.append(step)
    return None


def modules_under(package: str) -> list[str]:
    return sorted(module_name(p) for p in ROOT.joinpath(*package.split(".")).rglob("*.py"))


def test_the_domain_imports_no_framework_socket_or_server_even_indirectly() -> None:
    domain = modules_under(DOMAIN)
    assert len(domain) > 20  # the walk found the package
    chains = [chain for name in domain if (chain := first_forbidden_chain(name)) is not None]
    assert not chains, "the domain reaches a framework or server:\n" + "\n".join(
        " -> ".join(chain) for chain in chains
    )


def test_dhcp_gateway_and_firmware_take_only_the_shared_facts_from_the_provisioner() -> None:
    found = [
        f"{name} -> {imported}"
        for package in STANDALONE
        for name in modules_under(package)
        for imported in sorted(imports_of(name))
        if imported.split(".")[0] == "provisioner"
        and imported not in ("provisioner.vendors", SHARED_WITH_STANDALONE)
    ]
    # ``from provisioner.vendors import facts`` names the package too: only with facts.
    found += [
        f"{name} -> provisioner.vendors"
        for package in STANDALONE
        for name in modules_under(package)
        if "provisioner.vendors" in imports_of(name)
        and SHARED_WITH_STANDALONE not in imports_of(name)
    ]
    assert not found, "import only provisioner.vendors.facts from the provisioner:\n" + "\n".join(
        found
    )


def test_the_provisioner_top_level_holds_packages_and_few_modules() -> None:
    modules = sorted(path.name for path in PROVISIONER.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, f"move some into a package: {modules}"


def test_a_chain_is_found_through_another_module() -> None:
    """The walk itself: ``provisioner.web`` imports flask, so reaching it is reported whole."""
    chain = first_forbidden_chain("provisioner.web")
    assert chain is not None
    assert chain[0] == "provisioner.web"
    assert forbidden_for_domain(chain[-1])
