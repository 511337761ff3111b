"""External <-> internal id mapping.

An :class:`IdMap` owns the translation between the ids a shop uses (strings) and the dense
integer indices of the training matrix. It is frozen, keeps first-seen order, grows only by
appending (so indices never move), and is saved with every model so that training and serving
agree on indices. Internal indices never leak out of the public API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from recsys.errors import UnknownIdError

MissingPolicy = Literal["error", "skip", "ignore"]

#: The one id alphabet, from ingest to the API: 1 to ``MAX_ID_LENGTH`` characters, any Unicode
#: except control characters (C0, DEL, C1), no leading or trailing white space, not ``.`` or
#: ``..``. Ingest rejects
#: other ids with a reason (:func:`id_problem`); the API accepts every id matching this, so
#: any published id is reachable (percent-encoded in paths).
MAX_ID_LENGTH: Final = 128
_EDGE = r"[^\s\x00-\x1f\x7f-\x9f]"  # first and last character: no space, no control
_EDGE_NOT_DOT = r"[^\s\x00-\x1f\x7f-\x9f.]"
_INNER = r"[^\x00-\x1f\x7f-\x9f]"
# "." and ".." are left out: URL clients remove them as dot segments, even percent-encoded.
# No look-around, so JSON Schema, pydantic-core's Rust regex and Python's re all read it.
ID_PATTERN: Final = (
    f"^(?:{_EDGE_NOT_DOT}|{_EDGE_NOT_DOT}{_EDGE}|\\.{_EDGE_NOT_DOT}"
    f"|{_EDGE}{_INNER}{{1,126}}{_EDGE})$"
)
ID_DESCRIPTION: Final = (
    "1-128 characters, no control characters, no leading or trailing white space, "
    "not '.' or '..' (percent-encode it in a path)"
)
_ID_RE: Final = re.compile(ID_PATTERN)
#: The characters no id may contain (C0, DEL, C1), as a regular expression character class.
CONTROL_CHARACTERS: Final = r"[\x00-\x1f\x7f-\x9f]"
_CONTROL_RE: Final = re.compile(CONTROL_CHARACTERS)


def readable_error(err: Mapping[str, Any]) -> str:
    """A pydantic error's message, with an id pattern mismatch said in words
    (:data:`ID_DESCRIPTION`): the id pattern is 200 characters of regular expression that
    tell a caller nothing. ``err`` is one entry of ``ValidationError.errors()``."""
    if err.get("type") == "string_pattern_mismatch":
        if (err.get("ctx") or {}).get("pattern") == ID_PATTERN:
            return f"not a valid id: {ID_DESCRIPTION}"
    return str(err.get("msg", "invalid value"))


def is_valid_id(value: object) -> bool:
    """Whether ``value`` is a string in the id alphabet (see ``ID_PATTERN``)."""
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid external id (a short reason), or None when it is.

    Reasons: ``empty``, ``too_long`` (over ``MAX_ID_LENGTH`` characters),
    ``control_character``, ``surrounding_space``, ``dot_segment`` (``.`` or ``..``, which
    URL clients drop from paths).
    """
    if not value:
        return "empty"
    if len(value) > MAX_ID_LENGTH:
        return "too_long"
    if _CONTROL_RE.search(value):
        return "control_character"
    if value != value.strip():
        return "surrounding_space"
    if value in (".", ".."):
        return "dot_segment"
    return None


def _as_str_array(values: Iterable[object]) -> np.ndarray:
    arr = np.asarray(
        list(values) if not isinstance(values, np.ndarray | pd.Series | pd.Index) else values,
        dtype=object,
    )
    return arr.astype(str).astype(object) if arr.size else np.empty(0, dtype=object)


@dataclass(frozen=True, eq=False)
class IdMap:
    """A frozen, append-only mapping of external string ids to indices ``0..n-1``.

    Build one with :meth:`from_values`; translate with :meth:`to_internal` and
    :meth:`to_external`.
    """

    external_ids: np.ndarray
    _index: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = _as_str_array(self.external_ids)
        index = pd.Index(ids, dtype=object)
        if not index.is_unique:
            dupes = index[index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"IdMap ids must be unique; duplicated: {dupes}")
        ids.setflags(write=False)
        object.__setattr__(self, "external_ids", ids)
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_values(cls, values: Iterable[object]) -> IdMap:
        """Map the distinct values in first-seen order."""
        return cls(pd.unique(_as_str_array(values)))

    def __len__(self) -> int:
        return len(self.external_ids)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self.external_ids, other.external_ids)

    __hash__ = None  # type: ignore[assignment]

    def to_internal(
        self, external_ids: Iterable[object], *, missing: MissingPolicy = "error"
    ) -> np.ndarray:
        """Translate external ids to indices.

        ``missing`` says what happens to unknown ids: ``"error"`` raises
        :class:`~recsys.errors.UnknownIdError`, ``"skip"`` drops them from the result and
        ``"ignore"`` keeps their position with index ``-1``.
        """
        ids = _as_str_array(external_ids)
        idx = self._index.get_indexer(pd.Index(ids, dtype=object)).astype(np.int64)
        unknown = idx < 0
        if unknown.any():
            if missing == "error":
                sample = ids[unknown][:5].tolist()
                raise UnknownIdError(f"{int(unknown.sum())} unknown id(s), e.g. {sample}")
            if missing == "skip":
                idx = idx[~unknown]
            elif missing != "ignore":
                raise ValueError(f"missing={missing!r}, must be 'error', 'skip' or 'ignore'")
        return idx

    def to_external(self, internal_ids: np.ndarray | Iterable[int]) -> np.ndarray:
        """Translate indices back to external ids (raises ``IndexError`` when out of range)."""
        idx = np.asarray(internal_ids, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"internal id out of range [0, {len(self)})")
        return self.external_ids[idx]

    def add(self, external_ids: Iterable[object]) -> IdMap:
        """Return a new map with the unseen ids appended (existing indices never change)."""
        ids = pd.unique(_as_str_array(external_ids))
        new = ids[self._index.get_indexer(pd.Index(ids, dtype=object)) < 0]
        if not len(new):
            return self
        return IdMap(np.concatenate([self.external_ids, new]))

    def to_array(self) -> np.ndarray:
        """The ids as a fixed-width unicode array, safe for ``np.savez`` without pickle."""
        return self.external_ids.astype(str)
