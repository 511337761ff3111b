"""One vocabulary for yes/no values read from text, everywhere text becomes a boolean.

``true/false``, ``yes/no``, ``on/off``, ``1/0`` and their one-letter forms ``t/f``, ``y/n``,
in any case. These are exactly the words pydantic (settings,
config files) and click/typer (flags given by environment variable) accept, so an events
file's ``in_stock`` column, an API query parameter, a ``RECSYS_*`` variable and a command-line
option all read the same words the same way (a CSV reader strips cells before parsing).
Column readers vectorise over :data:`TRUE_WORDS` / :data:`FALSE_WORDS`
(``recsys.data.parsing.parse_bools``).
"""

from __future__ import annotations

from typing import Final

TRUE_WORDS: Final = frozenset({"true", "t", "yes", "y", "on", "1"})
FALSE_WORDS: Final = frozenset({"false", "f", "no", "n", "off", "0"})
VOCABULARY: Final = "true/false, 1/0, yes/no, on/off"


def parse_bool(text: str) -> bool:
    """``text`` as a boolean; ``ValueError`` naming the vocabulary when it is none of it."""
    value = text.lower()  # no stripping: " true" in a URL is a typo worth reporting
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError(f"{text!r} is not a yes/no value (expected {VOCABULARY})")
