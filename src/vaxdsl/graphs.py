"""Dependency graphs of derived predicates: components and reachability.

The checker, the interpreter and the SQL compiler all order predicates the same way, so they share
this one implementation (iterative, so a long chain of predicates cannot hit the recursion limit).

>>> strongly_connected_components({"a": ["b"], "b": ["a", "dose"], "c": ["a"]})
[('a', 'b'), ('c',)]
>>> sorted(reachable({"a": ["b"], "b": [], "c": ["a"]}, ["a"]))
['a', 'b']
>>> sorted(depending_on({"a": ["b"], "b": ["valid"], "c": ["a"], "d": []}, {"valid"}))
['a', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[tuple[str, ...]]:
    """Tarjan's components of ``graph`` (node -> the nodes it uses), dependencies first.

    Targets that are not keys of ``graph`` (built-in relations) are leaves and left out. Each
    component's members are sorted, and nodes are visited in sorted order, so the result is stable.
    """
    edges = {node: sorted(target for target in set(targets) if target in graph) for node, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[tuple[str, ...]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(tuple(sorted(component)))
    return components


def component_of(graph: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Each node's component number (components numbered dependencies first)."""
    return {
        member: number
        for number, component in enumerate(strongly_connected_components(graph))
        for member in component
    }


def reachable(graph: Mapping[str, Iterable[str]], roots: Iterable[str]) -> set[str]:
    """Every node reachable from ``roots`` (the roots included), built-in leaves included."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        pending.extend(graph.get(node, ()))
    return seen


def depending_on(graph: Mapping[str, Iterable[str]], targets) -> set[str]:
    """The nodes of ``graph`` that reach one of ``targets`` (the targets themselves excluded)."""
    users: dict[str, set[str]] = {}
    for node, used in graph.items():
        for target in used:
            users.setdefault(target, set()).add(node)
    found: set[str] = set()
    pending = list(targets)
    while pending:
        for user in users.get(pending.pop(), ()):
            if user not in found:
                found.add(user)
                pending.append(user)
    return found
