"""Pasted identifiers become a clean list, or a message that says exactly what is wrong."""

from __future__ import annotations

import pytest

from sync_engine.domain import IdentifierType
from sync_engine.errors import IdentifierError
from sync_engine.identifiers import parse_identifiers

WID = "3ae1f4b6c2d41001a1b2c3d4e5f60718"
REF = IdentifierType.REFERENCE
SRC = IdentifierType.SOURCE_ID


def test_lines_commas_tabs_and_blanks_split_stripped_and_deduplicated_in_first_order() -> None:
    text = "C-2\n\n  C-1 ,C-3\tC-2\r\n;C-4\n   \n"
    assert parse_identifiers(text, REF) == ["C-2", "C-1", "C-3", "C-4"]


def test_references_keep_their_case_and_wids_are_lowercased_then_deduplicated() -> None:
    assert parse_identifiers("Acme-1\nacme-1", REF) == ["Acme-1", "acme-1"]
    assert parse_identifiers(f"{WID.upper()}\n{WID}", SRC) == [WID]


def test_zero_width_characters_from_copy_paste_are_dropped() -> None:
    assert parse_identifiers(f"\ufeff{WID}\u200b\n", SRC) == [WID]


def test_malformed_wids_are_named_by_line_with_a_hint_at_reference() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_identifiers(f"{WID}\nC-000123\n\n{WID[:-1]}", SRC)
    message = str(caught.value)
    assert "line 2 (C-000123)" in message
    assert f"line 4 ({WID[:-1]})" in message
    assert "Reference" in message
    assert "line 1" not in message


def test_more_than_100_is_refused_with_the_exact_message() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_identifiers("\n".join(f"C-{n}" for n in range(101)), REF)
    assert str(caught.value) == "Too many identifiers. Maximum 100."


def test_100_distinct_identifiers_pass_even_with_duplicates_beyond() -> None:
    text = "\n".join(f"C-{n}" for n in range(100)) + "\nC-0\nC-99"
    assert len(parse_identifiers(text, REF)) == 100


@pytest.mark.parametrize("text", ["", "   \n\n\t", ",,;"])
def test_nothing_to_sync_is_a_clear_error(text: str) -> None:
    with pytest.raises(IdentifierError, match="at least one identifier"):
        parse_identifiers(text, REF)


def test_a_long_list_of_bad_wids_is_cut_short_but_counted() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_identifiers("\n".join(f"bad{n}" for n in range(30)), SRC)
    assert "and 20 more" in str(caught.value)
