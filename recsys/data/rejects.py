"""Reject reasons, the reject counts of one validation, and the rejects file.

A row that fails validation gets the FIRST failing reason in :data:`REASON_ORDER`:

1. ``missing_item_id``      no item id (empty, NaN)
2. ``bad_item_id``          an item id the API cannot carry (:func:`recsys.data.ids.id_problem`:
                            control characters, over ``MAX_ID_LENGTH`` characters, surrounding
                            white space when ``id_strip`` is off); ``reject_detail`` says which
3. ``non_product_item``     the item is postage, a fee, an adjustment... (``non_product_items``
                            case-insensitively, or a full match of ``non_product_pattern``)
4. ``missing_customer_id``  no customer id
5. ``bad_customer_id``      a customer id the API cannot carry (as ``bad_item_id``)
6. ``bad_timestamp``        empty or unparseable timestamp (or outside 1677-2262)
7. ``unknown_event_type``   event type (after ``event_type_map`` and the return rules) not in
                            the vocabulary (the keys of ``MatrixConfig.event_weights``)
8. ``bad_quantity``         non-numeric, zero, infinite, or negative outside the return rules
9. ``bad_price``            a price that is not a number
10. ``negative_price``      price < 0
11. ``zero_price``          price == 0 (only with ``IngestConfig.zero_price == "reject"``)
12. ``duplicate``           exact copy (all source columns) of an earlier row (only with
                            ``IngestConfig.duplicates == "reject"``)

Every other id is accepted as it is after the configured normalisation (``/``, spaces, ``+``,
``@``, non-ASCII letters are all fine): ingest and the API share one id alphabet.

Item checks come first because a non-product line (postage, bad-debt adjustment) is reported as
such whatever else is wrong with it; ``duplicate`` comes last so its count is the number of
otherwise-valid rows that would have been double counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from recsys.errors import DataError

MISSING_ITEM_ID: Final = "missing_item_id"
BAD_ITEM_ID: Final = "bad_item_id"
NON_PRODUCT_ITEM: Final = "non_product_item"
MISSING_CUSTOMER_ID: Final = "missing_customer_id"
BAD_CUSTOMER_ID: Final = "bad_customer_id"
BAD_TIMESTAMP: Final = "bad_timestamp"
UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
BAD_QUANTITY: Final = "bad_quantity"
BAD_PRICE: Final = "bad_price"
NEGATIVE_PRICE: Final = "negative_price"
ZERO_PRICE: Final = "zero_price"
DUPLICATE: Final = "duplicate"

#: Column of the rejects file with the detail of a reason (the id problem), empty otherwise.
REJECT_DETAIL: Final = "reject_detail"

# The documented order: a row gets the first reason it fails.
REASON_ORDER: Final = (
    MISSING_ITEM_ID,
    BAD_ITEM_ID,
    NON_PRODUCT_ITEM,
    MISSING_CUSTOMER_ID,
    BAD_CUSTOMER_ID,
    BAD_TIMESTAMP,
    UNKNOWN_EVENT_TYPE,
    BAD_QUANTITY,
    BAD_PRICE,
    NEGATIVE_PRICE,
    ZERO_PRICE,
    DUPLICATE,
)


@dataclass(frozen=True)
class RejectReport:
    """Row counts of one validation: how many rows came in, were kept, and why others were not.

    ``counts`` maps each reason that occurred to its number of rows, in :data:`REASON_ORDER`.
    """

    n_rows: int
    n_accepted: int
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if sum(self.counts.values()) != self.n_rows - self.n_accepted:
            raise ValueError(
                f"reject counts {self.counts} do not add up to "
                f"{self.n_rows} rows - {self.n_accepted} accepted"
            )

    @property
    def n_rejected(self) -> int:
        return self.n_rows - self.n_accepted

    @property
    def reject_rate(self) -> float:
        """Share of input rows rejected (0 for an empty input)."""
        return self.n_rejected / self.n_rows if self.n_rows else 0.0

    def top_reasons(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` most frequent reasons, most frequent first."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], REASON_ORDER.index(kv[0])))[:n]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for job output and the manifest)."""
        return {
            "n_rows": self.n_rows,
            "n_accepted": self.n_accepted,
            "n_rejected": self.n_rejected,
            "reject_rate": round(self.reject_rate, 6),
            "counts": dict(self.counts),
        }

    def summary_lines(self) -> list[str]:
        """Human-readable lines: the totals, then one line per reason, most frequent first."""
        lines = [
            f"{self.n_rows:,} rows read, {self.n_accepted:,} accepted, "
            f"{self.n_rejected:,} rejected ({self.reject_rate:.1%})"
        ]
        lines += [f"  {reason}: {n:,}" for reason, n in self.top_reasons(len(self.counts))]
        return lines


def write_rejects(rejects: pd.DataFrame, path: str | Path) -> Path:
    """Write the rejects table as CSV (gzipped when the name ends in ``.gz``)."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        rejects.to_csv(p, index=False)
    except OSError as exc:
        raise DataError(f"cannot write rejects file {p}: {exc.strerror or exc}") from None
    return p
