"""The key tables of ``docs/storage-format.md``, rendered from the family declarations.

The doc holds the rendered block between two marker lines; a test checks it is current.
``python -m recsys.store.format_doc`` prints the block, ``--write PATH`` replaces it in place.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from recsys.store.bundle import TABLES
from recsys.store.families import FAMILIES, KINDS, Field, KeyFamily

BEGIN: Final = (
    "<!-- BEGIN key families: generated from recsys/store/families.py by "
    "`python -m recsys.store.format_doc --write docs/storage-format.md`; do not edit -->"
)
END: Final = "<!-- END key families -->"


def _source(declared: Field) -> str:
    if declared.encoder is None:
        return "written by the store"
    table = declared.encoder.table
    name = f"`{TABLES.get(table, table)}`"
    return name + (" (optional)" if declared.optional else "")


def _ttl(family: KeyFamily) -> str:
    return "none" if family.ttl is None else f"{family.ttl:g} s"


def _key_row(family: KeyFamily) -> str:
    content = family.doc
    if family.value is not None:
        what = "member" if family.type in ("set", "zset") else "value"
        content += f" {what.capitalize()}: `{family.value.kind}`, {family.value.doc}"
        if family.score is not None:
            content += f"; score: `{family.score.kind}`, {family.score.doc}"
        content += "."
        if family.value.encoder is not None:
            content += f" Source: {_source(family.value)}."
    else:
        content += " Fields below."
    scope = "version" if family.per_version else "namespace"
    return (
        f"| `{family.layout}` | `{family.name}` | {family.type.upper()} | {scope} | "
        f"{_ttl(family)} | {content} |"
    )


def _field_table(family: KeyFamily) -> list[str]:
    lines = [
        f"### Fields of `{family.name}` (`{family.layout}`)",
        "",
        "| Field | Kind | Content | Source table |",
        "|---|---|---|---|",
    ]
    for declared in [*family.fields.values(), *filter(None, [family.data_field])]:
        lines.append(
            f"| `{declared.name}` | `{declared.kind}` | {declared.doc} | {_source(declared)} |"
        )
    return [*lines, ""]


def render(families: Sequence[KeyFamily] = FAMILIES) -> str:
    """The generated block, markers included."""
    lines = [
        BEGIN,
        "",
        "| Key | Family | Type | Scope | TTL | Content |",
        "|---|---|---|---|---|---|",
        *(_key_row(f) for f in families),
        "",
    ]
    for family in families:
        if family.fields or family.data_field:
            lines += _field_table(family)
    lines += ["### Value kinds", "", "| Kind | Stored as |", "|---|---|"]
    lines += [f"| `{kind}` | {doc} |" for kind, (_, doc) in KINDS.items()]
    return "\n".join([*lines, "", END])


def current_block(text: str) -> str | None:
    """The generated block found in a doc's text (markers included), or None."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="replace the block in this Markdown file")
    args = parser.parse_args(argv)
    block = render()
    if args.write is None:
        print(block)
        return
    text = args.write.read_text()
    old = current_block(text)
    if old is None:
        raise SystemExit(f"{args.write}: no generated block (add the two marker lines)")
    args.write.write_text(text.replace(old, block))


if __name__ == "__main__":
    main()
