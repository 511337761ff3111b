import gzip

import pandas as pd
import pytest

from recsys.data.io import CsvDialect, read_table, sniff_csv, table_format
from recsys.errors import DataError


def test_csv_columns_are_read_as_text_keeping_id_spelling(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("customer_id,item_id,quantity\n13085,007,12\n,0099,\n")
    frame = read_table(path)
    assert frame["item_id"].tolist() == ["007", "0099"]  # leading zeros survive
    assert frame["customer_id"].tolist()[0] == "13085"
    assert frame["quantity"].tolist()[0] == "12"
    assert frame["customer_id"].isna().tolist() == [False, True]
    assert list(frame.index) == [0, 1]


def test_gzipped_csv_and_parquet_give_the_same_rows(tmp_path):
    original = pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"]})
    gz = tmp_path / "t.csv.gz"
    with gzip.open(gz, "wt") as fh:
        original.to_csv(fh, index=False)
    pq = tmp_path / "t.parquet"
    original.to_parquet(pq)
    for path in (gz, pq):
        got = read_table(path)
        assert got["a"].tolist() == ["x", "y"] and got["b"].tolist() == ["1", "2"]


def test_parquet_keeps_stored_types_and_selects_columns(tmp_path):
    pq = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.5, 2.0], "b": [1, 2], "c": ["u", "v"]}).to_parquet(pq)
    got = read_table(pq, columns=["a", "b"])
    assert list(got.columns) == ["a", "b"]
    assert got["a"].dtype == "float64" and got["b"].dtype == "int64"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiter_is_detected_from_the_header(tmp_path, sep):
    path = tmp_path / "events.csv"
    path.write_text(sep.join(["customer_id", "item_id"]) + "\n" + sep.join(["c1", "i,1"]) + "\n")
    frame = read_table(path)
    assert list(frame.columns) == ["customer_id", "item_id"]
    assert frame.loc[0, "item_id"] == "i,1"


def test_latin1_text_is_read(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes("name,price\nCaf\xe9 mug,2\n".encode("latin-1"))
    assert read_table(path).loc[0, "name"] == "Caf\xe9 mug"


def test_missing_requested_column_lists_the_columns_found(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(
        DataError, match=r"missing column\(s\) \['c'\]; columns found: \['a', 'b'\]"
    ):
        read_table(path, columns=["a", "c"])
    pq = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(pq)
    with pytest.raises(DataError, match=r"missing column\(s\) \['z'\]; columns found: \['a'\]"):
        read_table(pq, columns=["z"])


def test_unreadable_inputs_say_which_file_and_why(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_table(tmp_path / "nope.csv")
    # A mistyped export folder is missing, not an "unsupported file type".
    with pytest.raises(DataError, match=r"exports: no such file or folder"):
        read_table(tmp_path / "exports")
    (tmp_path / "events.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(tmp_path / "events.xlsx")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataError, match="not a regular file"):
        read_table(tmp_path / "dir.csv")
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet at all")
    with pytest.raises(DataError, match=r"cannot read Parquet file .*fake\.parquet"):
        read_table(fake)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(DataError, match=r"broken\.csv\.gz"):
        read_table(broken)


def test_empty_and_malformed_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv is empty \(0 bytes\)"):
        read_table(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("\n\n")
    with pytest.raises(DataError, match="no header"):
        read_table(blank)
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    assert read_table(header_only).empty
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(DataError, match=r"cannot parse CSV .*ragged\.csv"):
        read_table(ragged)


def test_table_format():
    assert table_format("x/events.CSV.GZ") == "csv"
    assert table_format("events.pq") == "parquet"
    with pytest.raises(DataError):
        table_format("events.json")


@pytest.mark.parametrize(
    ("text", "sep", "decimal"),
    [
        ("a,b,price\n1,2,2.55\n", ",", "."),
        ("a;b;price\n1;2;2,55\n3;4;1.234,50\n", ";", ","),
        ("a;b;price\n1;2;2.55\n", ";", "."),
        ("a\tb\tprice\n1\t01.02.2024\t7,5\n", "\t", ","),
        ("a;b\n1;2\n", ";", "."),  # no decimals at all: the point
    ],
)
def test_sniff_csv_separator_and_decimal_mark(tmp_path, text, sep, decimal):
    path = tmp_path / "t.csv"
    path.write_text(text)
    assert sniff_csv(path) == CsvDialect(sep, decimal)


def test_an_explicit_separator_overrides_detection(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name;note,extra\nmug;red,big\n")
    assert read_table(path).columns.tolist() == ["name;note", "extra"]
    assert read_table(path, sep=";").columns.tolist() == ["name", "note,extra"]
    assert read_table(path, sep=";")["note,extra"].tolist() == ["red,big"]


def test_a_folder_of_parquet_partitions_is_read_as_one_table(tmp_path):
    import pandas as pd

    for day, ids in (("2024-01-02", ["b", "c"]), ("2024-01-01", ["a"])):
        (tmp_path / f"date={day}").mkdir()
        pd.DataFrame({"item_id": ids}).to_parquet(tmp_path / f"date={day}" / "part-1.parquet")
    (tmp_path / "date=2024-01-01" / ".part-2.parquet.tmp").write_bytes(b"half-written")
    assert read_table(tmp_path)["item_id"].tolist() == ["a", "b", "c"]
    assert read_table(tmp_path, columns=["item_id"]).index.tolist() == [0, 1, 2]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="a folder with no Parquet file"):
        read_table(empty)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_a_truncated_line_stops_the_read_instead_of_being_padded(tmp_path, suffix):
    # A row with fewer fields than the header used to come back with its last fields NaN,
    # i.e. an offer without its budget read as an unlimited offer.
    text = "offer_id,kind,value,budget\nO1,percent_off,10,500\nO2,percent_off,15\n\nO3,gift,0,9\n"
    path = tmp_path / f"short{suffix}"
    if suffix.endswith(".gz"):
        import gzip

        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    with pytest.raises(DataError, match=r"line 3 has 3 fields, the header 4"):
        read_table(path)
    # Quoted separators and an explicitly empty last field are not short lines.
    fine = tmp_path / "fine.csv"
    fine.write_text('a,b,c\n"x,y",2,\n1,"p\nq",3\n')
    assert read_table(fine).shape == (2, 3)
