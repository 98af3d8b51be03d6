"""The index of a site's live automatic offers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loyalty_gql.domain.checkout.checks import category_prefixes
from loyalty_gql.domain.checkout.types import BasketLine, Candidate, Origin
from loyalty_gql.domain.offers import OfferKind, OfferScope, OfferTerms


@dataclass(frozen=True, slots=True)
class LiveOffer:
    """A published offer the index knows: its id, terms and the counters it had."""

    offer_id: int
    terms: OfferTerms


class OfferIndex:
    """A site's live automatic offers (promotions, clubcards, punchcards), found by
    product id, by category path and order-wide, so pricing a basket looks only at
    the offers that can touch it. Built once per change of the site's offers."""

    def __init__(self, offers: Iterable[LiveOffer], version: int = 0) -> None:
        self.version = version
        self.offers: dict[int, LiveOffer] = {}
        self.order_wide: list[LiveOffer] = []
        self.by_product: dict[str, list[LiveOffer]] = {}
        self.by_category: dict[str, list[LiveOffer]] = {}
        # a promotion's candidate is the same for every basket: made once, here
        self.promotions: dict[int, Candidate] = {}
        for offer in offers:
            self.offers[offer.offer_id] = offer
            if offer.terms.kind is OfferKind.PROMOTION:
                self.promotions[offer.offer_id] = Candidate(
                    f"offer:{offer.offer_id}", Origin.PROMOTION, offer.terms, offer.offer_id
                )
            terms = offer.terms
            if terms.scope is OfferScope.ORDER:
                self.order_wide.append(offer)
            elif terms.scope is OfferScope.PRODUCT:
                for target in terms.targets:
                    self.by_product.setdefault(target, []).append(offer)
            else:
                for target in terms.targets:
                    self.by_category.setdefault(target.strip("/"), []).append(offer)

    def __len__(self) -> int:
        return len(self.offers)

    def touching(self, lines: Iterable[BasketLine]) -> list[LiveOffer]:
        """The offers whose scope covers at least one of ``lines``, each once."""
        found: dict[int, LiveOffer] = {o.offer_id: o for o in self.order_wide}
        seen_categories: set[str] = set()
        for line in lines:
            for offer in self.by_product.get(line.product_id, ()):
                found[offer.offer_id] = offer
            for prefix in category_prefixes(line.category):
                if prefix in seen_categories:
                    continue
                seen_categories.add(prefix)
                for offer in self.by_category.get(prefix, ()):
                    found[offer.offer_id] = offer
        return list(found.values())
