"""Property tests of the input layer: random bytes, encodings, columns and cells never crash it.

Every file either reads with the right counts or raises :class:`InputError` naming the place;
``on_bad_row="skip"`` keeps exactly the good rows and counts the rest.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import unicodedata
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textmetric.data.formats import load_pairs, parse_number
from textmetric.data.readers import read_table
from textmetric.data.stream import iter_text_batches
from textmetric.errors import InputError
from textmetric.text.normalize import normalize_text

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ENCODINGS = ["utf-8", "utf-8-sig", "cp932", "utf-16", "latin-1"]
JA = "あいうえおかきくけこ日本語文書検索東京大阪アイウエオｶﾀｶﾅＡＢＣ１２３４５ 　"
# A cell: Japanese / ASCII text, empty, blanks only (full-width space too), or a number-like string.
CELL = st.one_of(
    st.text(alphabet=JA + "abcXYZ,\"'", min_size=1, max_size=12),
    st.sampled_from(["", " ", "\u3000", "NaN", "４．５", " 3 ", "x"]),
)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])


def _valid(value: object) -> bool:
    return isinstance(value, str) and bool(normalize_text(value))


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _fit(text: str, encoding: str) -> str:
    """``text`` with what ``encoding`` cannot write replaced by ``?``."""
    return text.encode(encoding, "replace").decode(encoding)


def _csv_bytes(header: list[str], rows: list[list[str]], endings: list[str], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    lines = [buffer.getvalue()]
    for row, ending in zip(rows, endings, strict=False):
        one = io.StringIO()
        csv.writer(one, lineterminator=ending).writerow(row)
        lines.append(one.getvalue())
    return "".join(lines).encode(encoding)


def _unquoted_tsv_cell(cell: str) -> str:
    cell = cell.replace("\t", " ")
    return cell[:-1] + "'" if cell.endswith('"') else cell


@st.composite
def pair_files(draw):
    """(bytes, suffix, encoding, rows as dicts, line of each row) for an anchor/positive file."""
    n = draw(st.integers(1, 12))
    fmt = draw(st.sampled_from(["csv", "tsv", "jsonl"]))
    encoding = draw(st.sampled_from(ENCODINGS))
    extra = draw(st.sampled_from([[], ["id"], ["note", "id"]]))
    header = draw(st.permutations(["anchor", "positive", *extra]))
    rows = []
    for _ in range(n):
        row = {name: _fit(draw(CELL), encoding) for name in header}
        if fmt == "jsonl" and draw(st.booleans()):
            row[draw(st.sampled_from(header))] = draw(st.sampled_from([None, 3, math.nan, 4.5]))
        rows.append(row)
    endings = [draw(ENDINGS) for _ in range(n)]
    if fmt == "jsonl":
        text = "".join(
            json.dumps(row, ensure_ascii=False) + ending for row, ending in zip(rows, endings, strict=True)
        )
        data = text.encode(encoding)
    else:
        table = [["" if row[h] is None else str(row[h]) for h in header] for row in rows]
        if fmt == "tsv":
            # Unquoted TSV (as databases dump it): no tabs; quotes are text, a lone '"' at the start
            # of a cell included. A cell both starting and ending with '"' (such as '"a""b"') is a
            # well-formed CSV-quoted field, which no reader can tell from quoting: none ends with one.
            table = [[_unquoted_tsv_cell(cell) for cell in row] for row in table]
            rows = [dict(zip(header, row, strict=True)) for row in table]
            text = (
                "\t".join(header)
                + "\n"
                + "".join("\t".join(r) + e for r, e in zip(table, endings, strict=True))
            )
            data = text.encode(encoding)
        else:
            rows = [dict(zip(header, row, strict=True)) for row in table]
            data = _csv_bytes(list(header), table, endings, encoding)
    first = 1 if fmt == "jsonl" else 2
    lines = list(range(first, first + n))
    if fmt != "jsonl":  # a CSV / TSV row of blank cells only is a blank line (Excel's ",,"), not a row
        keep = [any(str(v).strip() for v in row.values()) for row in rows]
        rows = [r for r, k in zip(rows, keep, strict=True) if k]
        lines = [line for line, k in zip(lines, keep, strict=True) if k]
    return data, fmt, encoding, rows, lines


@SETTINGS
@given(case=pair_files(), skip=st.booleans())
def test_pair_files_read_with_exact_counts_or_a_located_error(tmp_path, case, skip):
    data_bytes, fmt, encoding, rows, lines = case
    path = tmp_path / f"pairs.{fmt}"
    path.write_bytes(data_bytes)
    good = [_valid(r.get("anchor")) and _valid(r.get("positive")) for r in rows]
    # latin-1 is not detected (it is not a Japanese export encoding): it must be named.
    forced = "latin-1" if encoding == "latin-1" else None
    try:
        data = load_pairs(path, encoding=forced, on_bad_row="skip" if skip else "error")
    except InputError as err:
        assert err.path == path
        if not skip and not all(good):
            first_bad = lines[good.index(False)]
            assert err.line == first_bad, str(err)
            assert err.column in ("anchor", "positive")
            assert "expected" in str(err)
        else:  # only a file with no usable row may fail
            assert not any(good), str(err)
            assert err.line is None or not rows
        return
    assert data.format == "pairs"
    assert len(data) == sum(good)
    assert data.rows_read == len(rows)
    assert sum(data.skipped.values()) == len(rows) - sum(good)
    kept = [r for r, ok in zip(rows, good, strict=True) if ok]
    assert data.records["anchor"] == [normalize_text(r["anchor"]) for r in kept]
    assert data.records["positive"] == [normalize_text(r["positive"]) for r in kept]


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".parquet"]))
def test_random_bytes_read_or_raise_input_error(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    for on_bad_row in ("error", "skip"):
        try:
            table = read_table(path, on_bad_row=on_bad_row)
        except InputError as err:
            assert str(err).startswith(str(path))
        else:
            assert len(table.rows) == len(table.lines) >= 1
        with contextlib.suppress(InputError):
            load_pairs(path, on_bad_row=on_bad_row)
        try:
            for _batch in iter_text_batches(path, on_bad_row=on_bad_row):
                pass
        except InputError:
            pass


@SETTINGS
@given(
    texts=st.lists(st.text(alphabet=JA + "abc", min_size=1, max_size=10), min_size=1, max_size=15),
    encoding=st.sampled_from(ENCODINGS),
    ending=ENDINGS,
)
def test_any_encoding_round_trips_when_given_and_known_ones_are_detected(tmp_path, texts, encoding, ending):
    texts = [t for t in texts if _encodable(t, encoding)] or ["テスト"]
    if not _encodable(texts[0], encoding):
        texts = ["test"]
    body = "text" + ending + "".join(f'"{t}"' + ending for t in texts)
    path = tmp_path / "docs.csv"
    path.write_bytes(body.encode(encoding))
    wanted = [t for t in texts if t.strip()]
    table = read_table(path, encoding=encoding) if wanted else None
    if table is not None:
        assert [r["text"] for r in table.rows] == wanted
    if encoding != "latin-1" and wanted:  # detected: UTF-8 (BOM or not), UTF-16 by its BOM, CP932
        assert [r["text"] for r in read_table(path).rows] == wanted
        streamed = [t for b in iter_text_batches(path, batch_size=4, on_bad_row="skip") for t in b.texts]
        assert streamed == [t for t in wanted if t.strip()]


@SETTINGS
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_parse_number_reads_full_width_digits_and_spaces(value):
    text = repr(round(value, 4))
    full = text.translate(str.maketrans("0123456789.-e+", "０１２３４５６７８９．－ｅ＋"))
    spaced = " " + full[:1] + "\u3000" + full[1:] + " "
    assert math.isclose(parse_number(full), float(text))
    assert math.isclose(parse_number(unicodedata.normalize("NFKC", spaced).replace(" ", "")), float(text))
    assert math.isclose(parse_number(spaced), float(text))


def test_scored_file_with_full_width_scores_empty_cells_and_a_broken_json_line(tmp_path):
    path = tmp_path / "sts.jsonl"
    lines = [
        json.dumps({"sentence1": "猫が寝る", "sentence2": "猫が眠る", "score": "４．５"}, ensure_ascii=False),
        json.dumps({"sentence1": "犬", "sentence2": "", "score": "3"}, ensure_ascii=False),
        '{"sentence1": "壊れた行", "sentence2": "x", "score": ',
        json.dumps({"sentence1": "空", "sentence2": "海", "score": " １ "}, ensure_ascii=False),
        json.dumps({"sentence1": "a", "sentence2": "b", "score": "高い"}, ensure_ascii=False),
        json.dumps({"sentence1": "c", "sentence2": "d", "score": None}),
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(lines[:3]) + "\n" + "\r".join(lines[3:]) + "\n").encode())
    try:
        load_pairs(path)
    except InputError as err:
        assert err.line == 3 and "not valid JSON" in str(err)  # unreadable lines are found first
    else:
        raise AssertionError("expected an InputError")
    data = load_pairs(path, on_bad_row="skip")
    assert len(data) == 2 and data.rows_read == 6
    assert data.skipped == Counter({"empty text": 1, "json": 1, "bad score": 2})
    assert data.score_range == (1.0, 4.5) and data.records["score"] == [1.0, 0.0]


def test_csv_row_with_the_wrong_field_count_is_located_or_skipped(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("anchor,positive\na,b\nc,d,e\n\nf,g\n", encoding="cp932")
    try:
        read_table(path)
    except InputError as err:
        assert err.line == 3 and "3 fields" in str(err)
    table = read_table(path, on_bad_row="skip")
    assert [r["anchor"] for r in table.rows] == ["a", "f"] and table.lines == [2, 5]
    assert table.skipped == Counter({"field-count": 1})
