"""The ``recsys export email`` job: the email payload, equal to the API's email answers.

For every customer of the customers file who opted in (``email_opt_in``), the top-k products
and the best email offer of one published version, composed by the same functions the API
uses (:func:`recsys.answers.compose.customer_answer` for the products,
:func:`recsys.realtime.offers.live_offer_answer` with ``channel="email"`` for the offer) from
records read through :class:`recsys.store.reader.StoreReader`, so the payload is exactly what
``GET /v1/customers/{id}/recommendations?channel=email`` and ``.../offers?channel=email``
answer from that version (no experiments, no live events of the product answer).

The offer carries the live effects of ``offer_redeemed`` events as the API applies them
(:mod:`recsys.realtime.offers`): a customer who redeemed within the version's contact policy
``suppress_days`` is held (``suppressed``), and an offer whose budget redemptions used up is
given to nobody (the next allocated one, else the fallback, instead). They are read per batch
of customers in one pipeline (:meth:`recsys.store.live_reader.LiveReader.offer_state`: the
batch's suppression keys and the redemption counters), as of the time the batch is read.

Outputs:

- ``PATH`` (``.jsonl``: one object per customer; ``.csv``: one row, item ids joined by ``|``):
  ``customer_id, model_version, group, source, items, offer``; ``group`` is ``mail`` or
  ``control``: a deterministic share held out from mailing (SHA-256 of ``salt:customer_id``
  below ``control_share``), kept in the file with its payload for measuring lift later;
- ``PATH.suppressed.csv``: ``customer_id, reason``: ``not_opted_in``, or the contact policy's
  hold on email in that version (``suppressed``: redeemed recently; ``contact_cap``).
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import pandas as pd

from recsys import columns as C
from recsys.answers.compose import customer_answer
from recsys.data.catalogs import load_customers
from recsys.errors import ConfigError, DataError, StoreRequestError
from recsys.offers.answer import OfferCatalog
from recsys.realtime.offers import exhausted, is_suppressed, live_offer_answer
from recsys.store import StoreReader, connect_async
from recsys.store.catalog_view import CatalogView
from recsys.store.live_reader import LiveReader
from recsys.store.reader import VersionData, offers_of

CHANNEL: Final = "email"
NOT_OPTED_IN: Final = "not_opted_in"
MAIL, CONTROL = "mail", "control"
_BATCH = 256
#: Reads in flight at once (below redis-py's pool of 100 connections).
_CONCURRENCY = 32


@dataclass(frozen=True)
class ExportResult:
    """What the export wrote."""

    version: str
    payloads: int
    control: int
    suppressed: int
    paths: dict[str, Path]


def in_control(customer_id: str, share: float, salt: str) -> bool:
    """Whether a customer is held out: SHA-256 of ``salt:customer_id`` as a number in [0, 1)
    below ``share`` (deterministic: the same customers for the same salt and share)."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def _short(score: float) -> float:
    """A float32 score as its shortest decimal, as the API presents it."""
    return float(f"{score:.7g}")


def _items(answer: Sequence[tuple[str, float, str]], view: CatalogView) -> list[dict[str, Any]]:
    """Answered items with the catalog facts the API adds (only those known)."""
    out = []
    for item_id, score, source in answer:
        entry: dict[str, Any] = {"item_id": item_id, "score": _short(score), "source": source}
        i = view.index.get(item_id)
        if i is not None:
            facts = {"name": view.name[i], "category": view.category[i], "price": view.price[i]}
            entry.update({k: v for k, v in facts.items() if v is not None})
        out.append(entry)
    return out


@dataclass(frozen=True)
class _Live:
    """A customer's live offer state: suppressed now, and the offers used up."""

    suppressed: bool
    used_up: frozenset[str]


async def _payload(
    reader: StoreReader,
    version: str,
    data: VersionData,
    catalog: OfferCatalog,
    cid: str,
    k: int,
    live: _Live,
) -> tuple[dict[str, Any] | None, str | None]:
    """(payload, None) or (None, the email hold's reason) for one customer."""
    record = await reader.customer(version, data.normal_id(cid))
    offers = live_offer_answer(
        offers_of(record), catalog, CHANNEL, suppressed=live.suppressed, used_up=live.used_up
    )
    if offers.source == "held":
        return None, offers.held
    source, items = customer_answer(record, data, k)
    payload = {
        "customer_id": cid,
        "model_version": version,
        "source": source,
        "items": _items(items, data.view),
        "offer": offers.offers[0] if offers.offers else None,
    }
    return payload, None


async def _collect(
    reader: StoreReader, version: str, ids: list[str], k: int
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    if await reader.manifest(version) is None:
        raise StoreRequestError(
            f"version {version!r} is not published in namespace {reader.namespace!r}"
        )
    data = await reader.version_data(version)
    catalog = OfferCatalog.from_json(await reader.offer_catalog(version))
    live = LiveReader(reader)
    payloads: list[dict[str, Any]] = []
    held: list[tuple[str, str]] = []
    slots = asyncio.Semaphore(_CONCURRENCY)

    async def one(cid: str, state: _Live) -> tuple[dict[str, Any] | None, str | None]:
        async with slots:
            return await _payload(reader, version, data, catalog, cid, k, state)

    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        redeemed, counters = await live.offer_state([data.normal_id(cid) for cid in batch])
        used_up = exhausted(catalog, counters)
        now = time.time()
        states = [_Live(is_suppressed(at, data.manifest, now), used_up) for at in redeemed]
        results = await asyncio.gather(
            *(one(cid, state) for cid, state in zip(batch, states, strict=True))
        )
        for cid, (payload, reason) in zip(batch, results, strict=True):
            if payload is None:
                held.append((cid, str(reason)))
            else:
                payloads.append(payload)
    return payloads, held


async def _read(
    redis_url: str | None, namespace: str, version: str, ids: list[str], k: int
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    client = connect_async(redis_url)
    try:
        return await _collect(StoreReader(client, namespace), version, ids, k)
    finally:
        await client.aclose()


def _write_payloads(payloads: list[dict[str, Any]], out: Path) -> None:
    if out.suffix.lower() == ".csv":
        rows = [
            {
                "customer_id": p["customer_id"],
                "model_version": p["model_version"],
                "group": p["group"],
                "source": p["source"],
                "item_ids": "|".join(i["item_id"] for i in p["items"]),
                "offer_id": p["offer"]["offer_id"] if p["offer"] else "",
                "offer_name": (p["offer"].get("name") or "") if p["offer"] else "",
                "offer_expected_value": p["offer"]["expected_value"] if p["offer"] else "",
            }
            for p in payloads
        ]
        columns = ["customer_id", "model_version", "group", "source", "item_ids", "offer_id"]
        columns += ["offer_name", "offer_expected_value"]
        pd.DataFrame(rows, columns=columns).to_csv(out, index=False)
    else:
        out.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in payloads))


def export_email(
    version: str,
    out: str | Path,
    customers_path: str | Path,
    *,
    redis_url: str | None = None,
    namespace: str = "recsys",
    k: int = 10,
    control_share: float = 0.1,
    salt: str = "email-control",
) -> ExportResult:
    """Write the email payload of ``version`` (see the module docs).

    Raises ConfigError for a bad ``out`` suffix, ``k`` or share; DataError for a customers file
    without ``email_opt_in``; StoreError when Redis cannot be read or the version is not
    published.
    """
    path = Path(out)
    if path.suffix.lower() not in (".jsonl", ".csv"):
        raise ConfigError(f"--out {path}: expected a .jsonl or .csv file")
    if k < 1:
        raise ConfigError(f"k == {k}, must be >= 1")
    if not 0 <= control_share < 1:
        raise ConfigError(f"control share {control_share} must be in [0, 1)")
    customers = load_customers(customers_path)
    if C.EMAIL_OPT_IN not in customers.columns:
        raise DataError(f"customers {customers_path} have no {C.EMAIL_OPT_IN!r} column")
    opted = customers[C.EMAIL_OPT_IN].fillna(False).astype(bool)
    ids = [str(i) for i in customers.index[opted.to_numpy()]]
    payloads, held = asyncio.run(_read(redis_url, namespace, version, ids, k))
    for p in payloads:
        p["group"] = CONTROL if in_control(p["customer_id"], control_share, salt) else MAIL
    suppressed = [(str(i), NOT_OPTED_IN) for i in customers.index[~opted.to_numpy()]] + held
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_payloads(payloads, path)
        sup_path = path.with_name(path.name + ".suppressed.csv")
        with sup_path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["customer_id", "reason"])
            writer.writerows(suppressed)
    except OSError as exc:
        raise DataError(f"cannot write the email payload to {path}: {exc}") from None
    n_control = sum(p["group"] == CONTROL for p in payloads)
    return ExportResult(
        version,
        len(payloads),
        n_control,
        len(suppressed),
        {"payload": path, "suppressed": sup_path},
    )
