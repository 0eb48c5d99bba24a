"""Stratification: strongly connected components of the predicate dependency graph, dependencies first.

A dependency is *strict* when it goes through ``not`` or ``count``: those must refer to a lower
stratum, so a strict edge inside one component makes the program unstratifiable.

>>> stratify({"a": {("b", False)}, "b": {("a", False), ("dose", True)}, "c": {("a", True)}})
[('a', 'b'), ('c',)]
"""

from __future__ import annotations

from ..errors import VaxError
from ..graphs import strongly_connected_components


def stratify(dependencies: dict[str, set[tuple[str, bool]]]) -> list[tuple[str, ...]]:
    """Strongly connected components of the derived predicates, dependencies first.

    ``dependencies`` maps each derived predicate to the (predicate, strict) pairs it uses; built-in
    relations may appear and are ignored. Raises :class:`VaxError` when a negation or a count
    refers to its own component.
    """
    components = strongly_connected_components(
        {name: [target for target, _strict in targets] for name, targets in dependencies.items()}
    )
    for component in components:
        for name in component:
            for target, strict in sorted(dependencies[name]):
                if strict and target in component:
                    cycle = name if target == name else f"{name} and {target}"
                    raise VaxError(f"predicates cannot be stratified: {cycle} depend on each other through "
                                   f"'not' or 'count' (negation and counting must refer to predicates "
                                   f"computed before)")
    return components
