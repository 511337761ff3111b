"""Settings of the customer side: summary, RFM, clusters, BG/NBD, CLV and churn.

Every field has a working default; the whole section is recorded in ``segments.json`` so a
published version says how it was computed. The RFM segment table is data (see
:data:`RFM_SEGMENTS`), evaluated in order: the first matching row names the customer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class RfmSegmentRule(BaseModel):
    """One named RFM segment: inclusive score ranges (1-5) on recency, frequency, monetary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]

    @field_validator("r", "f", "m")
    @classmethod
    def _range(cls, v: tuple[int, int]) -> tuple[int, int]:
        lo, hi = v
        if not 1 <= lo <= hi <= 5:
            raise ValueError(f"score range {list(v)} must satisfy 1 <= low <= high <= 5")
        return v


# The 11 segments of the R ``rfm`` package's segment table (vignette "RFM Analysis", Aravind
# Hebbali), with its score ranges. The published ranges overlap, so the order below is the
# evaluation order (first match wins), chosen so that every segment is reachable:
#   * narrower ranges before the wider ones containing them (Can't Lose Them before At Risk,
#     New Customers and Promising before Potential Loyalist);
#   * At Risk before Loyal Customers: R = 2 with high F and M is "used to buy, not lately";
#   * About To Sleep before Potential Loyalist, which would otherwise absorb it.
# The table gives Lost and Hibernating the same ranges (R, F, M all <= 2); here Lost is the
# bottom corner R = F = M = 1 and Hibernating the rest of that block. Customers no row
# matches (e.g. R = 1, F = 3, M = 1) are "Others".
RFM_SEGMENTS: tuple[RfmSegmentRule, ...] = tuple(
    RfmSegmentRule(name=n, r=r, f=f, m=m)
    for n, r, f, m in [
        ("Champions", (4, 5), (4, 5), (4, 5)),
        ("Can't Lose Them", (1, 1), (4, 5), (4, 5)),
        ("At Risk", (1, 2), (2, 5), (2, 5)),
        ("Loyal Customers", (2, 5), (3, 5), (3, 5)),
        ("New Customers", (4, 5), (1, 1), (1, 1)),
        ("Promising", (3, 4), (1, 1), (1, 1)),
        ("Need Attention", (2, 3), (2, 3), (2, 3)),
        ("About To Sleep", (2, 3), (1, 2), (1, 2)),
        ("Potential Loyalist", (3, 5), (1, 3), (1, 3)),
        ("Lost", (1, 1), (1, 1), (1, 1)),
        ("Hibernating", (1, 2), (1, 2), (1, 2)),
    ]
)
OTHERS = "Others"


class CustomersConfig(BaseModel):
    """How customers are summarised, segmented and valued.

    Time: the BG/NBD time unit is ``time_unit_days`` days (7: weeks). ``holdout_days`` is the
    length of the calibration/holdout check of the fitted model; ``horizon_days`` the CLV and
    expected-orders horizon; ``churn_window_days`` the N of "no order in the next N days".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # An order is a distinct order id, or a distinct (customer, day) where there is none.
    order_key: Literal["auto", "order_id", "day"] = "auto"
    time_unit_days: float = Field(default=7.0, gt=0)
    horizon_days: int = Field(default=365, ge=1)
    churn_window_days: int = Field(default=90, ge=1)
    holdout_days: int = Field(default=90, ge=1)
    discount_rate: float = Field(default=0.10, ge=0, lt=10)  # a year
    clv_step_days: int = Field(default=30, ge=1)
    l2_penalty: float = Field(default=0.0, ge=0)
    # Churn risk bands on churn_risk in [0, 1]: < low_cut low, < high_cut medium, else high.
    churn_band_cuts: tuple[float, float] = (0.3, 0.7)
    # Which score feeds churn_risk: "auto" picks the best holdout AUC (see churn.compare).
    churn_model: Literal["auto", "bgnbd", "bgnbd_window", "supervised"] = "auto"
    # |corr(frequency, monetary)| above this: the Gamma-Gamma independence check fails.
    independence_max_corr: float = Field(default=0.3, ge=0, le=1)
    rfm_segments: tuple[RfmSegmentRule, ...] = RFM_SEGMENTS
    cluster_k_min: int = Field(default=3, ge=2)
    cluster_k_max: int = Field(default=8, ge=2)
    cluster_sample: int = Field(default=5000, ge=100)  # rows scored by silhouette
    seed: int = 0

    @field_validator("churn_band_cuts")
    @classmethod
    def _cuts(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] < v[1] < 1:
            raise ValueError(f"churn_band_cuts {list(v)} must satisfy 0 < low < high < 1")
        return v

    @model_validator(mode="after")
    def _k_range(self) -> CustomersConfig:
        if self.cluster_k_max < self.cluster_k_min:
            raise ValueError(
                f"cluster_k_max {self.cluster_k_max} < cluster_k_min {self.cluster_k_min}"
            )
        return self
