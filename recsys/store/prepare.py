"""Preparing a bundle for publishing: every declared family encoded, no Redis involved.

:func:`prepare_bundle` runs the encoder of every field of every per-version family
(:data:`recsys.store.families.FAMILIES`) and returns :class:`EncodedFamily` objects the writers
turn into commands without knowing what they hold. Any bad table raises DataError here, so a
bundle that cannot be published writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys.store.bundle import Bundle
from recsys.store.codec import Catalog, ScoreDtype
from recsys.store.encoders import EncodeContext, Encoded
from recsys.store.families import FAMILIES, KeyFamily, RedisType

#: One value per key (None: the key has no such field); a SET's value is a list of members.
Values = Sequence[Any]


@dataclass
class EncodedFamily:
    """The keys of one family in one version, ready to write.

    A key is ``prefix + id`` (entity families: ``family.prefix(ns, version)``; single-key
    families: the whole key and ``ids == [b""]``). ``columns`` holds ``(field, values)``
    pairs, ``values[i]`` belonging to ``ids[i]``: HASH fields, or one column named ``b""``
    with a STRING's value or a SET's members.
    """

    family: KeyFamily
    ids: list[bytes]
    columns: list[tuple[bytes, Values]]

    def prefix(self, namespace: str, version: str) -> bytes:
        fam = self.family
        return fam.prefix(namespace, version) if fam.prefix else fam.key(namespace, version)

    def payload_bytes(self, prefix: bytes) -> int:
        """Bytes of key names, field names and values written."""
        total = len(self.ids) * len(prefix) + sum(map(len, self.ids))
        for name, values in self.columns:
            present = [v for v in values if v is not None]
            total += len(present) * len(name)
            total += sum(sum(map(len, v)) if isinstance(v, list) else len(v) for v in present)
        return total


@dataclass
class PreparedBundle:
    """A bundle read, validated and encoded (see :func:`prepare_bundle`)."""

    bundle: Bundle
    catalog: Catalog
    families: list[EncodedFamily]

    def get(self, name: str) -> EncodedFamily | None:
        """The encoded family called ``name`` (None when the bundle has nothing for it)."""
        return next((f for f in self.families if f.family.name == name), None)

    def n_keys(self) -> int:
        return sum(len(f.ids) for f in self.families)


def _spread(universe: pd.Index, owners: np.ndarray, values: list[Any]) -> Values:
    """Align per-owner values to ``universe`` order; None where an entity has no value."""
    if len(owners) == len(universe) and np.array_equal(owners, universe.to_numpy()):
        return values
    slot = pd.Index(owners, dtype=object).get_indexer(universe).tolist()
    return [values[j] if j >= 0 else None for j in slot]


def _utf8(ids: Iterable[object]) -> list[bytes]:
    return [str(i).encode() for i in ids]


def encode_family(family: KeyFamily, ctx: EncodeContext) -> EncodedFamily | None:
    """Run the family's encoders; None when every (optional) table it reads is absent."""
    if family.type is RedisType.HASH and family.fields:
        # One key per owner in any field's table; each field is one column.
        found: dict[str, Encoded] = {}
        for name, declared in family.fields.items():
            encoded = declared.encoder.encode(ctx) if declared.encoder else None
            if encoded is not None:
                found[name] = encoded
        if not found:
            return None
        universe = pd.Index(
            np.concatenate([owners for owners, _ in found.values()]), dtype=object
        ).unique()
        return EncodedFamily(
            family,
            _utf8(universe.tolist()),
            [(name.encode(), _spread(universe, o, v)) for name, (o, v) in found.items()],
        )
    single = family.data_field or family.value
    if single is None or single.encoder is None:
        return None
    encoded = single.encoder.encode(ctx)
    if encoded is None:
        return None
    owners, values = encoded
    if family.data_field is not None:  # one HASH, one field per owner (e.g. per segment)
        return EncodedFamily(
            family, [b""], [(o, [v]) for o, v in zip(_utf8(owners), values, strict=True)]
        )
    return EncodedFamily(family, _utf8(owners.tolist()), [(b"", values)])


def prepare_bundle(
    bundle: Bundle,
    *,
    score_dtype: ScoreDtype = "auto",
    families: Sequence[KeyFamily] = FAMILIES,
) -> PreparedBundle:
    """Read, validate and encode every table of a bundle for the per-version ``families``.

    Raises DataError for any table that cannot be published as it is.
    """
    catalog = Catalog.from_frame(bundle.items())
    ctx = EncodeContext(bundle, catalog, score_dtype)
    encoded = [encode_family(f, ctx) for f in families if f.per_version and f.published]
    return PreparedBundle(bundle, catalog, [e for e in encoded if e is not None])
