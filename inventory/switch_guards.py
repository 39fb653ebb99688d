"""What a tracking switch (SPEC §14) must ask the layers above: is the product on an open or submitted count?

Counts live in `workflows`, above `inventory`; `workflows` registers its query here in `AppConfig.ready()`
(`register_open_count_products`), as it registers its bucket sources with `inventory.verification`. With
nothing registered (an inventory without workflows) no product is on a count.
"""

from collections.abc import Callable, Iterable

_sources: list[Callable[[Iterable[int]], set[int]]] = []


def register_open_count_products(source: Callable[[Iterable[int]], set[int]]) -> None:
    """Register `source(product_ids) -> {product ids with a line on an open or submitted count}` (once)."""
    if source not in _sources:
        _sources.append(source)


def open_count_products(product_ids: Iterable[int]) -> set[int]:
    """The products of `product_ids` that an open or submitted count has a line for (one query per source)."""
    product_ids = sorted(set(product_ids))
    found: set[int] = set()
    for source in _sources:
        found |= set(source(product_ids))
    return found
