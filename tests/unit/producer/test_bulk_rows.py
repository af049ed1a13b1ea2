"""Reading bulk files: CSV and JSONL rows, and the file-level refusals (encoding, header, size)."""

from __future__ import annotations

import io

import pytest

from producer.bulk_rows import BulkFileError, BulkFormat, Row, detect_format, read_rows

HEADER = "kind,provider,account,order_id,reason,amount,changes,line_items,idempotency_key\n"


def rows(text: str | bytes, fmt: BulkFormat = BulkFormat.CSV, max_bytes: int = 10**6) -> list[Row]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_rows(io.BytesIO(data), fmt, max_bytes=max_bytes))


def test_csv_cells_become_command_fields():
    text = HEADER + (
        'update,shoplazza,store,633-1,,,"{""note"": ""hi, there""}",,evt-1\n'
        "refund,shoplazza,store,633-2,broken,12.50,,L1:2; L2:1,\n"
    )
    assert rows(text) == [
        Row(
            1,
            2,
            {
                "kind": "update",
                "provider": "shoplazza",
                "account": "store",
                "order_id": "633-1",
                "changes": {"note": "hi, there"},
            },
            "evt-1",
        ),
        Row(
            2,
            3,
            {
                "kind": "refund",
                "provider": "shoplazza",
                "account": "store",
                "order_id": "633-2",
                "reason": "broken",
                "amount": "12.50",
                "line_items": [{"id": "L1", "quantity": 2}, {"id": "L2", "quantity": 1}],
            },
        ),
    ]


def test_a_bom_blank_lines_and_crlf_are_accepted_and_only_needed_columns_required():
    text = "\ufeffKind, Provider ,account,order_id\r\n\r\ncancel,backd,acme,BO-1\r\n"
    assert rows(text) == [
        Row(1, 3, {"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "BO-1"})
    ]


def test_a_quoted_cell_over_several_lines_is_one_row_numbered_by_its_first_line():
    text = 'kind,provider,account,order_id,reason\ncancel,backd,acme,BO-1,"two\nlines"\n'
    text += "cancel,backd,acme,BO-2,\n"
    assert [(r.number, r.line, r.data.get("reason")) for r in rows(text)] == [
        (1, 2, "two\nlines"),
        (2, 4, None),
    ]


@pytest.mark.parametrize(
    ("cells", "field", "reason"),
    [
        ('"{not json"', "changes", "not valid JSON (Expecting property name"),
        ("", "line_items", "'L1' is not ID:QUANTITY"),
    ],
)
def test_bad_json_and_bad_line_items_are_row_problems(cells, field, reason):
    line_items = "L1" if field == "line_items" else ""
    changes = cells if field == "changes" else ""
    text = HEADER + f"refund,shoplazza,store,633-1,,1.00,{changes},{line_items},\n"
    [row] = rows(text)
    assert row.problems[0][0] == field
    assert row.problems[0][1].startswith(reason)


def test_a_row_with_more_cells_than_columns_is_refused_alone():
    [row] = rows("kind,provider,account,order_id\ncancel,backd,acme,BO-1,extra\n")
    assert row.problems == [("row", "has 5 cells, the header names 4 columns")]


def test_not_utf8_names_the_line_and_byte():
    text = (HEADER + "cancel,backd,acme,BO-1,caf\xe9,,,,\n").encode("latin-1")
    with pytest.raises(BulkFileError, match=r"line 2: not UTF-8 \(byte 0xe9 at column 27\)"):
        rows(text)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("kind,provider,account\n", "missing columns: order_id"),
        ("kind,provider,account,order_id,ammount\n", "unknown columns: ammount"),
        ("kind,provider,account,order_id,kind\n", "repeated columns: kind"),
    ],
)
def test_a_wrong_header_refuses_the_file(header, message):
    with pytest.raises(BulkFileError, match=message):
        rows(header + "cancel,backd,acme,BO-1\n")


def test_an_empty_csv_file_is_refused():
    with pytest.raises(BulkFileError, match="the file is empty"):
        rows("")


def test_a_file_over_the_limit_is_refused_while_streaming():
    text = HEADER + "cancel,backd,acme,BO-1,,,,,\n" * 100
    assert len(rows(text, max_bytes=len(text))) == 100
    with pytest.raises(BulkFileError, match=f"larger than the limit of {len(text) - 1} bytes"):
        rows(text, max_bytes=len(text) - 1)


def test_jsonl_lines_are_objects_with_the_same_fields():
    text = (
        '{"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "BO-1",'
        ' "idempotency_key": "k1"}\n\n'
        '{"kind": "refund", "provider": "shoplazza", "account": "store", "order_id": "6",'
        ' "amount": "2.00", "line_items": "L1:1"}\n'
    )
    assert rows(text, BulkFormat.JSONL) == [
        Row(
            1,
            1,
            {"kind": "cancel", "provider": "backd", "account": "acme", "order_id": "BO-1"},
            "k1",
        ),
        Row(
            2,
            3,
            {
                "kind": "refund",
                "provider": "shoplazza",
                "account": "store",
                "order_id": "6",
                "amount": "2.00",
                "line_items": [{"id": "L1", "quantity": 1}],
            },
        ),
    ]


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("[1, 2]", "row", "not a JSON object: Input should be an object"),
        ('{"kind": ', "row", "not a JSON object: Invalid JSON: EOF while parsing"),
        ('{"kind": "cancel", "idempotency_key": 7}', "idempotency_key", "must be a string"),
    ],
)
def test_bad_jsonl_lines_are_row_problems(line, field, reason):
    [row] = rows(line + "\n", BulkFormat.JSONL)
    assert row.problems[0][0] == field
    assert row.problems[0][1].startswith(reason)


def test_the_format_comes_from_the_option_or_the_extension():
    assert detect_format("a.CSV") is BulkFormat.CSV
    assert detect_format("a.ndjson") is BulkFormat.JSONL
    assert detect_format("a.txt", "jsonl") is BulkFormat.JSONL
    with pytest.raises(BulkFileError, match="cannot tell the format"):
        detect_format("a.txt")
