"""Stratification: strongly connected components of the predicate dependency graph, dependencies first.

A dependency is *strict* when it goes through ``not`` or ``count``: those must refer to a lower
stratum, so a strict edge inside one component makes the program unstratifiable.

>>> stratify({"a": {("b", False)}, "b": {("a", False), ("dose", True)}, "c": {("a", True)}})
[('a', 'b'), ('c',)]
"""

from __future__ import annotations

from ..errors import VaxError


def stratify(dependencies: dict[str, set[tuple[str, bool]]]) -> list[tuple[str, ...]]:
    """Strongly connected components of the derived predicates, dependencies first (Tarjan).

    ``dependencies`` maps each derived predicate to the (predicate, strict) pairs it uses; built-in
    relations may appear and are ignored. Raises :class:`VaxError` when a negation or a count
    refers to its own component.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[tuple[str, ...]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target, _strict in sorted(dependencies[node]):
            if target not in dependencies:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(tuple(sorted(component)))

    for node in sorted(dependencies):
        if node not in index:
            connect(node)
    for component in components:
        for name in component:
            for target, strict in sorted(dependencies[name]):
                if strict and target in component:
                    cycle = name if target == name else f"{name} and {target}"
                    raise VaxError(f"predicates cannot be stratified: {cycle} depend on each other through "
                                   f"'not' or 'count' (negation and counting must refer to predicates "
                                   f"computed before)")
    return components


def depending_on(targets, dependencies) -> set[str]:
    """The derived predicates that reach one of ``targets``."""
    reached: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, deps in dependencies.items():
            if name not in reached and any(d in targets or d in reached for d, _ in deps):
                reached.add(name)
                changed = True
    return reached
