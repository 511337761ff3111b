"""docs/storage-format.md lists every declared key family and field, as rendered from them."""

from __future__ import annotations

from pathlib import Path

from recsys.store.families import FAMILIES, KINDS
from recsys.store.format_doc import current_block, main, render

DOC = Path(__file__).resolve().parents[3] / "docs" / "storage-format.md"


def test_doc_block_is_rendered_from_the_current_declarations():
    block = current_block(DOC.read_text())
    assert block is not None, "docs/storage-format.md has lost its generated block"
    assert block == render(), (
        "docs/storage-format.md is stale: run "
        "`python -m recsys.store.format_doc --write docs/storage-format.md`"
    )


def test_doc_lists_every_family_field_and_kind():
    text = DOC.read_text()
    for fam in FAMILIES:
        assert f"| `{fam.layout}` | `{fam.name}` | {fam.type.upper()} |" in text, fam.name
        for declared in [*fam.fields.values(), *filter(None, [fam.data_field])]:
            assert f"| `{declared.name}` | `{declared.kind}` |" in text, (fam.name, declared)
        if fam.ttl is not None:
            assert f"| {fam.ttl:g} s |" in text
    for kind in KINDS:
        assert f"| `{kind}` |" in text


def test_write_replaces_only_the_block(tmp_path):
    doc = tmp_path / "format.md"
    old = render().replace("| `rec` |", "| `stale` |")
    doc.write_text(f"# Title\n\nbefore\n\n{old}\n\nafter\n")
    main(["--write", str(doc)])
    assert doc.read_text() == f"# Title\n\nbefore\n\n{render()}\n\nafter\n"
