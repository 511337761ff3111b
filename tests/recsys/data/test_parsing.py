"""Ids, text, numbers, flags: parsed over distinct values."""

import numpy as np
import pandas as pd

from recsys.data.parsing import clean_ids, id_problems, parse_numbers


def test_clean_ids_handles_floats_ints_and_text():
    assert clean_ids(pd.Series([13085.0, np.nan, 1.5])).tolist()[::2] == ["13085", "1.5"]
    assert clean_ids(pd.Series([13085.0, np.nan])).isna().tolist() == [False, True]
    assert clean_ids(pd.array([7, None], dtype="Int64")).tolist()[0] == "7"
    got = clean_ids(pd.Series([" a ", "", "None", "12.00", "0012"], dtype=object))
    assert got.tolist()[0] == "a" and got.tolist()[3:] == ["12", "0012"]
    assert got.isna().tolist() == [False, True, True, False, False]


def test_id_rules_fold_case_strip_and_drop_the_float_suffix_as_configured():
    raw = pd.Series(["85123a", " 85123A ", "13085.0", "SKU/1", "kundeÄ9"], dtype=object)
    assert clean_ids(raw).tolist() == ["85123a", "85123A", "13085", "SKU/1", "kundeÄ9"]
    assert clean_ids(raw, case="upper").tolist() == [
        "85123A",
        "85123A",
        "13085",
        "SKU/1",
        "KUNDEÄ9",
    ]
    assert clean_ids(raw, case="lower").tolist()[:2] == ["85123a", "85123a"]
    kept = clean_ids(raw, strip=False, float_suffix=False).tolist()
    assert kept[1:3] == [" 85123A ", "13085.0"]
    floats = pd.Series([13085.0, 7.0])
    assert clean_ids(floats, float_suffix=False).tolist() == ["13085.0", "7.0"]
    # white space only is a missing id whatever the rules
    assert clean_ids(pd.Series(["  "], dtype=object), strip=False).isna().tolist() == [True]


def test_id_problems_name_only_what_the_api_cannot_carry():
    ids = pd.Series(
        ["acct/1042", "team 7", "member+88", "a@b.com", "kundeÄ9", "a\tb", "x" * 129, " c", None],
        dtype=object,
    )
    got = id_problems(ids).tolist()
    assert all(pd.isna(v) for v in got[:5])
    assert got[5:8] == ["control_character", "too_long", "surrounding_space"]
    assert pd.isna(got[8])
    assert id_problems(pd.Series(["x" * 128])).isna().all()  # the documented maximum
    # dot segments, Unicode white space at an edge (no-break space), a C1 control inside
    odd = pd.Series([".", "..", "a.b", "a\u00a0", "\u00a0a", "a\x85b", "ÄÖÜ"], dtype=object)
    assert id_problems(odd).fillna("ok").tolist() == [
        "dot_segment",
        "dot_segment",
        "ok",
        "surrounding_space",
        "surrounding_space",
        "control_character",
        "ok",
    ]


def test_decimal_comma_numbers():
    values, bad = parse_numbers(
        pd.Series(["2,55", "1.234,50", "-3", "", "2,5x", "0,10"], dtype=object), decimal=","
    )
    np.testing.assert_allclose(values[[0, 1, 2, 5]], [2.55, 1234.5, -3.0, 0.1])
    assert np.isnan(values[3]) and np.isnan(values[4])
    assert bad.tolist() == [False, False, False, False, True, False]
    # with a decimal point (the default) "2,55" is not a number
    assert parse_numbers(pd.Series(["2,55"], dtype=object))[1].tolist() == [True]
