"""Customer features for uplift models, encoded without pickle.

Numeric columns with many distinct values become cubic B-splines on quantile knots
(:class:`sklearn.preprocessing.SplineTransformer`, so a logistic model can bend); numeric
columns with few values and text columns become one-hot indicators
(:class:`sklearn.preprocessing.OneHotEncoder`, unknown values -> all zeros). Everything the
encoders learned (knots, medians for missing numbers, category lists) is plain data in
:meth:`FeatureSpec.to_dict`, so a saved model is JSON and a reload never runs code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.preprocessing import OneHotEncoder, SplineTransformer

from recsys.errors import DataError

MISSING = "<missing>"


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """The column as floats when every non-empty value parses as a number, else ``None``."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float)
    text = values.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    if bool((parsed.isna() & text.notna() & (text != "")).any()):
        return None
    return parsed.astype(float)


def _category_text(values: pd.Series) -> np.ndarray:
    """Values as category labels: ``1``, ``1.0`` and ``"1"`` are the same label."""
    numbers = _as_numbers(values)
    if numbers is not None:
        out = np.full(len(values), MISSING, dtype=object)
        ok = numbers.notna().to_numpy()
        v = numbers.to_numpy()[ok]
        out[ok] = [str(int(x)) if float(x).is_integer() else repr(float(x)) for x in v]
        return out
    text = values.astype("string").str.strip().fillna(MISSING)
    return np.asarray(text.replace("", MISSING), dtype=object)


@dataclass(frozen=True)
class FeatureSpec:
    """Learned encoding of customer feature columns.

    ``numeric`` maps a column to its spline knots (sorted, strictly increasing) and the median
    used for missing values; ``categorical`` maps a column to its category labels.
    """

    numeric: dict[str, dict[str, Any]] = field(default_factory=dict)
    categorical: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @classmethod
    def learn(
        cls,
        frame: pd.DataFrame,
        columns: list[str],
        *,
        n_knots: int = 5,
        max_levels: int = 10,
        max_categories: int = 50,
    ) -> FeatureSpec:
        """Choose an encoding per column from the data.

        A numeric column with more than ``max_levels`` distinct values gets ``n_knots``
        quantile knots; other columns are categorical (the ``max_categories`` most frequent
        labels; rarer ones encode as all zeros). Raises :class:`DataError` for a missing or
        empty column.
        """
        if not columns:
            raise DataError("no feature columns: pass at least one")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"feature column {missing[0]!r} not found; columns: {', '.join(map(str, frame))}"
            )
        numeric: dict[str, dict[str, Any]] = {}
        categorical: dict[str, list[str]] = {}
        for col in columns:
            numbers = _as_numbers(frame[col])
            if numbers is not None and numbers.notna().sum() == 0:
                raise DataError(f"feature column {col!r} has no values")
            if numbers is not None and numbers.nunique() > max_levels:
                qs = np.quantile(numbers.dropna(), np.linspace(0, 1, n_knots))
                knots = np.unique(qs)
                if len(knots) < 2:
                    knots = np.array([qs[0], qs[0] + 1.0])
                numeric[col] = {
                    "knots": knots.tolist(),
                    "median": float(numbers.median()),
                }
            else:
                labels = pd.Series(_category_text(frame[col])).value_counts(sort=True)
                categorical[col] = sorted(labels.index[:max_categories].astype(str).tolist())
        return cls(numeric=numeric, categorical=categorical)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode ``frame`` -> float array (n_rows, n_encoded); DataError on a missing column."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"feature column(s) {missing} the model was fitted on not found in the "
                f"customers file; columns: {', '.join(map(str, frame.columns))}; "
                f"the model needs: {', '.join(self.columns)}"
            )
        blocks: list[np.ndarray] = []
        for col, spec in self.numeric.items():
            knots = np.asarray(spec["knots"], dtype=float).reshape(-1, 1)
            numbers = _as_numbers(frame[col])
            if numbers is None:
                raise DataError(f"feature column {col!r} must be numeric")
            x = numbers.fillna(spec["median"]).to_numpy().reshape(-1, 1)
            # explicit knots: fit() only records the shape, nothing is learned from ``knots``
            spline = SplineTransformer(knots=knots, degree=3, extrapolation="constant")
            blocks.append(spline.fit(knots).transform(x))
        for col, cats in self.categorical.items():
            enc = OneHotEncoder(
                categories=[np.asarray(cats, dtype=object)],
                handle_unknown="ignore",
                sparse_output=False,
            )
            enc.fit(np.asarray(cats, dtype=object).reshape(-1, 1))
            blocks.append(enc.transform(_category_text(frame[col]).reshape(-1, 1)))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def to_dict(self) -> dict[str, Any]:
        return {"numeric": self.numeric, "categorical": self.categorical}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(numeric=dict(data["numeric"]), categorical=dict(data["categorical"]))
