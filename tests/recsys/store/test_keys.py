"""Golden tests: the exact key bytes are part of the storage format (docs/storage-format.md)."""

import pytest

from recsys.errors import ConfigError
from recsys.store import keys as K


def test_control_keys_golden():
    assert K.active_key("recsys") == b"recsys:active"
    assert K.versions_key("recsys") == b"recsys:versions"
    assert K.pending_key("recsys") == b"recsys:pending"
    assert K.lock_key("recsys") == b"recsys:lock"
    assert K.active_key("shop:eu-1") == b"shop:eu-1:active"


def test_version_keys_golden():
    v = "20250101T120000Z"
    assert K.version_prefix("recsys", v) == b"recsys:v:20250101T120000Z:"
    assert K.manifest_key("recsys", v) == b"recsys:v:20250101T120000Z:manifest"
    assert K.info_key("recsys", v) == b"recsys:v:20250101T120000Z:info"
    assert K.catalog_key("recsys", v) == b"recsys:v:20250101T120000Z:catalog"
    assert K.popular_key("recsys", v) == b"recsys:v:20250101T120000Z:popular"


def test_entity_keys_golden_and_ids_verbatim_utf8():
    assert K.customer_key("recsys", "v1", "12345") == b"recsys:v:v1:c:12345"
    assert K.item_key("recsys", "v1", "85123A") == b"recsys:v:v1:i:85123A"
    # Ids are used verbatim as UTF-8, separators and braces included.
    assert K.customer_key("recsys", "v1", "a:b{x}") == b"recsys:v:v1:c:a:b{x}"
    assert K.item_key("recsys", "v1", "café") == b"recsys:v:v1:i:caf\xc3\xa9"
    assert K.customer_prefix("ns", "v2") + b"42" == K.customer_key("ns", "v2", "42")
    assert K.item_prefix("ns", "v2") + b"X" == K.item_key("ns", "v2", "X")


def test_field_names_golden():
    assert (K.FIELD_RECOMMENDATIONS, K.FIELD_BUY_AGAIN, K.FIELD_SEGMENT, K.FIELD_SIMILAR) == (
        b"rec",
        b"again",
        b"seg",
        b"sim",
    )
    assert K.GLOBAL_SEGMENT == "_all"


def test_scan_patterns_escape_glob_characters():
    assert K.version_pattern("recsys", "v1") == b"recsys:v:v1:*"
    assert K.namespace_pattern("test:ab12") == b"test:ab12:*"
    assert K.glob_escape(b"a*b?c[d]e\\") == b"a\\*b\\?c\\[d\\]e\\\\"


@pytest.mark.parametrize("bad", ["", "has space", "a{b}", "star*", "x" * 65, "tab\t"])
def test_invalid_namespace_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="invalid Redis namespace"):
        K.active_key(bad)


@pytest.mark.parametrize("bad", ["", "v:1", "v 1", "v{1}", "v*", "x" * 65])
def test_invalid_version_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="invalid version id"):
        K.manifest_key("recsys", bad)


def test_no_key_contains_a_hash_tag():
    """Cluster: keys hash on their full name, so customers spread across slots."""
    produced = [
        K.active_key("recsys"),
        K.versions_key("recsys"),
        K.manifest_key("recsys", "v1"),
        K.catalog_key("recsys", "v1"),
        K.popular_key("recsys", "v1"),
        K.customer_prefix("recsys", "v1"),
        K.item_prefix("recsys", "v1"),
    ]
    assert not any(b"{" in k or b"}" in k for k in produced)
