"""Pass 1: dose rows -> declared products -> vaccine groups (docs/semantics.md, "Facts").

The ruleset's products become small temporary tables, and each dose row gets one **resolution key**
computed from its own columns, looked up in ``vx_resolve`` (key -> product) or ``vx_map`` (key ->
one row per group the product counts toward). The key is chosen so that the lookup answers exactly
:func:`vaxdsl.records.resolve_product`:

* a row with a product name: ``'n:' || casefold(name)``; the map holds, for every casefolded id and
  display name, the first product (declaration order) that has it. An unknown name finds nothing
  (the name wins even when the CVX code would match);
* else a row with an MVX code that some product with the row's CVX declares: ``'m:cvx:casefold(mvx)'``;
* else the CVX code itself (an integer), mapped to the first product with that code and no MVX.

casefold is ``lower()`` for ASCII text, and the Python function ``vx_casefold`` (registered by the
engine) for anything else, so the rare non-ASCII name costs a call and the common case none.

Product ids in SQL are integers ``pid`` (1-based declaration order). Within a vaccine group a product
also has a small **group code** (its place among the products counting toward the group, from 1):
a dose chunk carries that code in :attr:`ProductCatalog.width` digits, and a set of products is a bit
mask of codes, so "is this dose's product allowed" is ``(mask >> code) & 1``.
"""

from __future__ import annotations

import attrs

from .. import ast
from .sql import lit


def fold_sql(expr: str) -> str:
    """casefold of a text expression: ``lower`` for ASCII, ``vx_casefold`` otherwise."""
    return f"(CASE WHEN {expr} GLOB '*[^ -~]*' THEN vx_casefold({expr}) ELSE lower({expr}) END)"


@attrs.frozen
class ProductCatalog:
    products: tuple[ast.Product, ...]
    groups: tuple[str, ...]  # vaccine group ids in ruleset order; g = index + 1
    pid: dict  # product id -> pid (first declaration wins)
    names: dict  # casefolded id or display name -> pid
    mvx_keys: dict  # "m:cvx:mvx" -> pid
    generic: dict  # cvx int -> pid
    members: dict  # group index -> the pids counting toward it, in declaration order (code = place + 1)
    _codes: dict = attrs.field(factory=dict, eq=False, repr=False)  # memo of codes_of

    @property
    def width(self) -> int:
        """Digits of a group code in a chunk."""
        largest = max((len(pids) for pids in self.members.values()), default=1)
        return max(2, len(str(largest)))

    def code(self, g: int, pid: int) -> int:
        return self.members[g].index(pid) + 1

    def codes_of(self, g: int, product_ids) -> list[int]:
        """Group codes of those of ``product_ids`` that count toward group g."""
        key = (g, tuple(product_ids))
        if key not in self._codes:  # asked for again and again by the series trees
            members = self.members[g]
            self._codes[key] = sorted({members.index(self.pid[p]) + 1 for p in product_ids
                                       if self.pid.get(p) in members})
        return list(self._codes[key])

    def group_index(self, vaccine: str) -> int:
        return self.groups.index(vaccine) + 1

    def pids_of(self, product_ids) -> list[int]:
        return sorted({self.pid[p] for p in product_ids if p in self.pid})

    def group_pids(self, vaccine: str) -> list[int]:
        return [index for index, product in enumerate(self.products, start=1) if vaccine in product.vaccines]


def catalog(ruleset: ast.Ruleset) -> ProductCatalog:
    products = tuple(ruleset.products)
    pid, names, mvx_keys, generic = {}, {}, {}, {}
    for index, product in enumerate(products, start=1):
        pid.setdefault(product.id, index)
        for text in (product.id, product.name):
            if text:
                names.setdefault(text.casefold(), index)
        cvx = ast.cvx_key(product.cvx)
        if product.mvx:
            mvx_keys.setdefault(f"m:{cvx}:{product.mvx.casefold()}", index)
        else:
            generic.setdefault(cvx, index)
    groups = tuple(vaccine.id for vaccine in ruleset.vaccines)
    members: dict[int, list[int]] = {g: [] for g in range(1, len(groups) + 1)}
    for index, product in enumerate(products, start=1):
        for vaccine in dict.fromkeys(product.vaccines):
            if vaccine in groups:
                members[groups.index(vaccine) + 1].append(index)
    return ProductCatalog(products, groups, pid, names, mvx_keys, generic,
                          {g: tuple(found) for g, found in members.items()})


def resolution_key(cat: ProductCatalog, alias: str = "d") -> str:
    """The SQL resolution key of dose row ``alias`` (see the module docstring)."""
    name = f"{alias}.product_name"
    mvx = f"{alias}.mvx"
    branches = [f"WHEN {name} IS NOT NULL AND {name} <> '' THEN 'n:' || {fold_sql(name)}"]
    if cat.mvx_keys:
        key = f"'m:' || {alias}.cvx || ':' || {fold_sql(mvx)}"
        known = ", ".join(lit(k) for k in sorted(cat.mvx_keys))
        branches.append(f"WHEN {mvx} IS NOT NULL AND {mvx} <> '' AND {key} IN ({known}) THEN {key}")
    return f"(CASE {' '.join(branches)} ELSE {alias}.cvx END)"


def may_resolve_sql(cvx_codes: str, alias: str = "d") -> str:
    """SQL 0/1, true for every dose row that may resolve to a product whose CVX code is in ``cvx_codes``
    (a list or a subquery): a cheap test of the row's own columns to run before its resolution key.
    Without a product name a row resolves by its CVX code (an MVX key carries its product's CVX), so
    the other rows cannot."""
    name = f"{alias}.product_name"
    return f"({alias}.cvx IN ({cvx_codes}) OR ({name} IS NOT NULL AND {name} <> ''))"


def may_count_toward_sql(cat: ProductCatalog, groups, alias: str = "d") -> str:
    """:func:`may_resolve_sql` for the products counting toward one of ``groups``."""
    codes = sorted({ast.cvx_key(cat.products[pid - 1].cvx) for g in groups for pid in cat.members[g]})
    return may_resolve_sql(", ".join(map(str, codes)), alias)


def setup_statements(cat: ProductCatalog) -> list[str]:
    """DDL and rows of the product tables (temporary, per connection)."""
    out = [
        "CREATE TEMP TABLE vx_product(pid INTEGER PRIMARY KEY, id, cvx, mvx, name, live)",
        "CREATE TEMP TABLE vx_group(g INTEGER PRIMARY KEY, id)",
        "CREATE TEMP TABLE vx_counts(pid, g, vaccine)",
        "CREATE TEMP TABLE vx_resolve(rkey PRIMARY KEY, pid) WITHOUT ROWID",
        "CREATE TEMP TABLE vx_map(rkey, g, pid, pcode, PRIMARY KEY (rkey, g)) WITHOUT ROWID",
    ]
    rows = []
    for index, product in enumerate(cat.products, start=1):
        rows.append(f"({index}, {lit(product.id)}, {ast.cvx_key(product.cvx)}, {lit(product.mvx)}, "
                    f"{lit(product.name)}, {int(product.live)})")
    if rows:
        out.append(f"INSERT INTO vx_product VALUES {', '.join(rows)}")
    if cat.groups:
        out.append("INSERT INTO vx_group VALUES " + ", ".join(f"({i}, {lit(g)})" for i, g in enumerate(cat.groups, 1)))
    counts = []
    for index, product in enumerate(cat.products, start=1):
        for vaccine in dict.fromkeys(product.vaccines):
            g = cat.group_index(vaccine) if vaccine in cat.groups else "NULL"
            counts.append(f"({index}, {g}, {lit(vaccine)})")
    if counts:
        out.append(f"INSERT INTO vx_counts VALUES {', '.join(counts)}")
    keys: dict = {}
    for text, index in cat.names.items():
        keys[f"n:{text}"] = index
    keys.update(cat.mvx_keys)
    keys.update(cat.generic)
    if keys:
        out.append("INSERT INTO vx_resolve VALUES " + ", ".join(f"({lit(k)}, {v})" for k, v in keys.items()))
    mapped = []
    for key, index in keys.items():
        for vaccine in dict.fromkeys(cat.products[index - 1].vaccines):
            if vaccine in cat.groups:
                g = cat.group_index(vaccine)
                mapped.append(f"({lit(key)}, {g}, {index}, {lit(str(cat.code(g, index)).zfill(cat.width))})")
    if mapped:
        out.append(f"INSERT INTO vx_map VALUES {', '.join(mapped)}")
    return out
