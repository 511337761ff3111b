"""Ids, text, numbers, flags: parsed over distinct values."""

import numpy as np
import pandas as pd

from recsys.data.parsing import clean_ids


def test_clean_ids_handles_floats_ints_and_text():
    assert clean_ids(pd.Series([13085.0, np.nan, 1.5])).tolist()[::2] == ["13085", "1.5"]
    assert clean_ids(pd.Series([13085.0, np.nan])).isna().tolist() == [False, True]
    assert clean_ids(pd.array([7, None], dtype="Int64")).tolist()[0] == "7"
    got = clean_ids(pd.Series([" a ", "", "None", "12.00", "0012"], dtype=object))
    assert got.tolist()[0] == "a" and got.tolist()[3:] == ["12", "0012"]
    assert got.isna().tolist() == [False, True, True, False, False]
