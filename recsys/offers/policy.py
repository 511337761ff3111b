"""The contact policy: how often a customer may be offered something, per channel.

At most ``max_per_channel[channel]`` offers per customer per channel per ``period_days``
(contacts already made in the period count), at most ``max_offers`` offers per customer in one
allocation, and no new offer for ``suppress_days`` after a redemption. The output plugs into
:func:`recsys.offers.allocation.allocate` (``max_offers``, ``channel_caps``).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from recsys.errors import DataError


class ContactPolicy(BaseModel):
    """Contact rules (immutable; defaults are a cautious starting point, not a benchmark)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_per_channel: dict[str, int] = Field(
        default_factory=lambda: {"web": 3, "email": 1, "app": 2}
    )
    max_offers: int = Field(default=3, ge=1)
    period_days: int = Field(default=7, ge=1)
    suppress_days: int = Field(default=14, ge=0)

    def channel_caps(
        self,
        customer_ids: list[str] | np.ndarray | pd.Series,
        *,
        when: datetime | pd.Timestamp,
        contacts: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Offers each customer may still receive per channel in the current period.

        ``contacts``: past offer contacts ``customer_id, channel, timestamp``. Returns a frame
        indexed by ``customer_id`` with one column per channel (>= 0).
        """
        ids = pd.Index(pd.Series(customer_ids).astype(str), name="customer_id")
        caps = pd.DataFrame(
            {ch: np.full(len(ids), n, dtype=np.int64) for ch, n in self.max_per_channel.items()},
            index=ids,
        )
        if contacts is None or contacts.empty:
            return caps
        _check(contacts, {"customer_id", "channel", "timestamp"}, "contacts")
        now = pd.Timestamp(when)
        ts = pd.to_datetime(contacts["timestamp"], errors="coerce")
        recent = contacts[(ts > now - pd.Timedelta(days=self.period_days)) & (ts <= now)]
        counts = recent.groupby(
            [recent["customer_id"].astype(str), recent["channel"].astype(str)]
        ).size()
        used = counts.unstack(fill_value=0).reindex(index=ids, columns=caps.columns, fill_value=0)
        return (caps - used.fillna(0).astype(np.int64)).clip(lower=0)

    def suppressed(
        self,
        customer_ids: list[str] | np.ndarray | pd.Series,
        *,
        when: datetime | pd.Timestamp,
        redemptions: pd.DataFrame | None = None,
    ) -> np.ndarray:
        """Boolean per customer: redeemed any offer in the last ``suppress_days``."""
        ids = pd.Series(customer_ids).astype(str)
        if redemptions is None or redemptions.empty or self.suppress_days == 0:
            return np.zeros(len(ids), dtype=bool)
        _check(redemptions, {"customer_id", "timestamp"}, "redemptions")
        now = pd.Timestamp(when)
        ts = pd.to_datetime(redemptions["timestamp"], errors="coerce")
        recent = (ts > now - pd.Timedelta(days=self.suppress_days)) & (ts <= now)
        return ids.isin(redemptions.loc[recent, "customer_id"].astype(str)).to_numpy(bool)


def _check(frame: pd.DataFrame, columns: set[str], what: str) -> None:
    missing = columns - set(frame.columns)
    if missing:
        raise DataError(f"{what} need columns {sorted(columns)}; missing {sorted(missing)}")
