"""Pricing a basket: gather what the calculator needs, call it, describe the answer.

`price` is shared by the checkout query (read-only) and order recording (inside
its transaction, with the rows it will change locked first), so both give the
same answer for the same state. The site's live automatic offers come from a
per-process `OfferIndex`, rebuilt when the site's `offers_version` moves.
"""

from __future__ import annotations

from loyalty_gql.services.checkout.document import quote_document
from loyalty_gql.services.checkout.offer_cache import SiteOffers, forget_site_offers, site_offers
from loyalty_gql.services.checkout.pricing import Basket, Priced, checkout, price

__all__ = [
    "Basket",
    "Priced",
    "SiteOffers",
    "checkout",
    "forget_site_offers",
    "price",
    "quote_document",
    "site_offers",
]
