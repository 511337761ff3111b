"""The offers job: allocate a catalog's offers over one bundle and add the offer tables to it.

:func:`offer_bundle_tables` is what ``recsys train`` calls with the tables it has written so
far (``recommendations``, ``items``, ``segments``...), its config and an offer catalog path; it
returns the extra bundle tables (:mod:`recsys.offers.artifacts`) and the manifest's ``offers``
entry. :func:`run_offers` (``recsys offers``) does the same for an existing bundle directory,
before it is published. Rejected catalog rows go to ``offer_rejects.csv`` with their reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import pandas as pd

from recsys.data.catalogs import load_customers
from recsys.data.io import read_table
from recsys.errors import DataError
from recsys.offers.artifacts import OfferArtifacts, OffersConfig, offer_tables
from recsys.offers.catalog import load_catalog
from recsys.store.bundle import Bundle, write_bundle_tables

REJECTS_FILE: Final = "offer_rejects.csv"


def offers_config(config: Any) -> OffersConfig:
    """``config`` itself when it is an :class:`OffersConfig`, else its ``offers`` section
    (a ``recsys.config.Config`` with one), else the defaults."""
    if isinstance(config, OffersConfig):
        return config
    section = getattr(config, "offers", None)
    return section if isinstance(section, OffersConfig) else OffersConfig()


def offer_bundle_tables(
    tables: Mapping[str, pd.DataFrame],
    config: Any,
    catalog_path: str | Path | None,
    *,
    customers: pd.DataFrame | None = None,
    redemptions: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    rejects_dir: str | Path | None = None,
    as_of: pd.Timestamp | None = None,
) -> OfferArtifacts:
    """The extra bundle tables for ``tables`` (see :func:`recsys.offers.artifacts.offer_tables`).

    ``catalog_path`` None: only the item audiences. Catalog rows that fail validation are
    written to ``rejects_dir/offer_rejects.csv`` and counted in the manifest entry.
    """
    catalog = load_catalog(catalog_path) if catalog_path is not None else None
    if catalog is not None and len(catalog.rejects) and rejects_dir is not None:
        catalog.rejects.to_csv(Path(rejects_dir) / REJECTS_FILE, index=False)
    cfg = offers_config(config)
    if as_of is not None and cfg.as_of is None:
        cfg = cfg.model_copy(update={"as_of": as_of.isoformat()})
    return offer_tables(
        tables,
        catalog,
        customers=customers,
        config=cfg,
        redemptions=redemptions,
        contacts=contacts,
    )


def bundle_as_of(manifest: Mapping[str, Any]) -> pd.Timestamp | None:
    """The date a bundle's data ends ("now" for it): its customer summary's ``as_of``
    (midnight after the last event, set by training and never rewritten), else the ``as_of``
    its offers were allocated at; None when it has neither. Not the last ``recsys offers
    --as-of``: an explicit date applies to its own run only."""
    offers = manifest.get("offers") or {}
    params = (manifest.get("segments") or {}).get("params") or {}
    for value in (params.get("as_of"), offers.get("as_of")):
        if value:
            try:
                return pd.Timestamp(value)
            except (TypeError, ValueError):
                continue
    return None


def run_offers(
    bundle_dir: str | Path,
    catalog_path: str | Path,
    *,
    customers_path: str | Path | None = None,
    redemptions_path: str | Path | None = None,
    contacts_path: str | Path | None = None,
    config: Any = None,
) -> OfferArtifacts:
    """Allocate offers over an existing bundle and write the offer tables into it.

    The allocation date is ``config``'s ``as_of`` when set, else the bundle's own "now" (the
    date its training allocated offers for, else its customer summary's date), as ``recsys
    train`` allocates at the end of the data, not at the wall clock. The bundle's files are
    replaced one by one atomically, so a failure leaves the old ones readable.
    """
    bundle = Bundle.open(bundle_dir)
    tables = {"recommendations": bundle.recommendations(), "items": bundle.items()}
    segments = bundle.segments()
    if segments is not None:
        tables["segments"] = segments
    customers = load_customers(customers_path) if customers_path is not None else None
    try:
        redemptions = read_table(redemptions_path) if redemptions_path else None
        contacts = read_table(contacts_path) if contacts_path else None
    except OSError as exc:
        raise DataError(f"cannot read {exc.filename}: {exc.strerror}") from None
    artifacts = offer_bundle_tables(
        tables,
        config,
        catalog_path,
        customers=customers,
        redemptions=redemptions,
        contacts=contacts,
        rejects_dir=bundle.path,
        as_of=bundle_as_of(bundle.manifest),
    )
    manifest = {**bundle.manifest, "offers": artifacts.manifest}
    write_bundle_tables(bundle.path, manifest, **artifacts.tables)
    return artifacts
