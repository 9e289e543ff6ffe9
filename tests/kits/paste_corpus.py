"""The hostile-input corpus: what admins (or attackers) paste, and what the product must answer.

Each case is driven through both real front doors (tests/test_bot/http/test_paste_corpus.py): the Slack modal,
submitted through the emulator over HTTP, and `workday-resync sync --file`. A case is either refused
with `error` (the exact message; nothing stored) or accepted as exactly `accepted` (a draft run in Slack,
the count before the warning in the CLI, which is then declined). `raw` cases are files only (Slack's modal
has no file input). Big cases are generated.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from sync_engine.identifiers import MAX_IDENTIFIER_LENGTH, TOO_MANY_MESSAGE

REF = "reference"
SRC = "source_id"

WID = "3ae1f4b6c2d41001a1b2c3d4e5f60718"
WID2 = "0123456789abcdef0123456789abcdef"
NONE = "Enter at least one identifier, one per line."
#: The CLI names the file (the corpus's is `file`) and says how many identifiers are too many.
CLI_NONE = "file holds no identifiers: put them one per line."


def _cli_too_many(count: int) -> str:
    return (
        f"Too many identifiers: {count} (blanks and duplicates dropped). Maximum 100 per run: split the list."
    )


NOT_WID = "Not a Workday ID (32 hexadecimal characters): "
HINT = ". If these are customer numbers, choose Reference instead."
CONTROL = "Identifiers cannot contain control characters: "
TOO_LONG = f"Identifiers are at most {MAX_IDENTIFIER_LENGTH} characters long: "


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    kind: str
    text: str = ""
    #: The modal's second box (the CLI reads both as one file: `text`, a newline, `more`).
    more: str = ""
    accepted: list[str] | None = None
    error: str | None = None
    #: The Slack box an error shows under (the first unless the second box holds the problem).
    error_block: str = "identifiers"
    #: File bytes for the CLI only (non-UTF-8 and friends); `text`/`more` are then unused.
    raw: bytes | None = None
    #: Where the CLI's own message differs from the modal's (line numbers over both boxes, bytes).
    cli_error: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        assert (self.accepted is None) != (self.error is None and self.cli_error is None), self.name

    @property
    def file_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return (self.text + ("\n" + self.more if self.more else "")).encode("utf-8", "surrogatepass")

    @property
    def in_slack(self) -> bool:
        return self.raw is None

    @property
    def expected_cli_error(self) -> str | None:
        return self.cli_error or self.error


def _refs(count: int, prefix: str = "C-") -> list[str]:
    return [f"{prefix}{n:06d}" for n in range(count)]


def _wids(count: int) -> list[str]:
    return [f"{n:032x}" for n in range(1, count + 1)]


_HUNDRED_WIDS = _wids(100)
_MEGABYTE_LINES = "\n".join(f"C-{n:07d}" for n in range(100_000))  # 1.0 MB of pasted lines

CASES: list[Case] = [
    # --- size ------------------------------------------------------------------------------------------
    Case(
        "101-lines", "size", REF, "\n".join(_refs(101)), error=TOO_MANY_MESSAGE, cli_error=_cli_too_many(101)
    ),
    Case(
        "10000-lines",
        "size",
        REF,
        "\n".join(_refs(10_000)),
        error=TOO_MANY_MESSAGE,
        cli_error=_cli_too_many(10_000),
    ),
    Case(
        "1MB-of-lines",
        "size",
        REF,
        _MEGABYTE_LINES,
        error=TOO_MANY_MESSAGE,
        cli_error=_cli_too_many(100_000),
        tags=frozenset({"413"}),
    ),
    Case(
        "1MB-single-token",
        "size",
        REF,
        "A" * 1_000_000,
        error=TOO_LONG + "line 1 (" + "A" * 39 + "…).",
        tags=frozenset({"413"}),
    ),
    Case(
        "100-then-duplicates",
        "size",
        REF,
        "\n".join(_refs(100) + _refs(100)),
        accepted=_refs(100),
    ),
    Case(
        "100-wids-over-both-boxes",
        "size",
        SRC,
        "\n".join(_HUNDRED_WIDS[:60]),
        "\n".join(_HUNDRED_WIDS[60:]),
        accepted=_HUNDRED_WIDS,
    ),
    Case("91-wids-in-one-box", "size", SRC, "\n".join(_wids(91)), accepted=_wids(91)),
    Case(
        "101-over-both-boxes",
        "size",
        REF,
        "\n".join(_refs(60)),
        "\n".join(_refs(41, "D-")),
        error=TOO_MANY_MESSAGE,
        cli_error=_cli_too_many(101),
    ),
    # --- blank ------------------------------------------------------------------------------------------
    Case("empty", "blank", REF, "", error=NONE, cli_error=CLI_NONE),
    Case("spaces-and-newlines", "blank", SRC, "  \n\n \r\n   ", error=NONE, cli_error=CLI_NONE),
    Case("separators-only", "blank", REF, ",,;\t;,", error=NONE, cli_error=CLI_NONE),
    Case("zero-width-only", "blank", SRC, "\u200b\u200b\n\ufeff\u2060", error=NONE, cli_error=CLI_NONE),
    Case("unicode-spaces-only", "blank", REF, "\u00a0\u3000\u2003\n\u2028", error=NONE, cli_error=CLI_NONE),
    Case("blank-first-box-second-box-used", "blank", REF, " ", "C-000001", accepted=["C-000001"]),
    # --- mixed types ------------------------------------------------------------------------------------
    Case(
        "reference-among-wids",
        "mixed",
        SRC,
        f"{WID}\nC-000123\n{WID2}",
        error=NOT_WID + "line 2 (C-000123)" + HINT,
    ),
    Case("wids-as-references", "mixed", REF, f"{WID}\n{WID2}", accepted=[WID, WID2]),
    Case("wids-and-references-as-references", "mixed", REF, f"C-1\n{WID}\nc-1", accepted=["C-1", WID, "c-1"]),
    Case(
        "rest-style-reference-as-wid",
        "mixed",
        SRC,
        "Customer_ID=C-1",
        error=NOT_WID + "line 1 (Customer_ID=C-1)" + HINT,
    ),
    Case(
        "wid-one-too-long-and-short",
        "mixed",
        SRC,
        f"{WID}0\n{WID[:-1]}",
        error=NOT_WID + f"line 1 ({WID}0), line 2 ({WID[:-1]})" + HINT,
    ),
    Case("non-hex-wid", "mixed", SRC, WID[:-1] + "g", error=NOT_WID + f"line 1 ({WID[:-1]}g)" + HINT),
    Case(
        "bad-wid-in-second-box",
        "mixed",
        SRC,
        WID,
        "C-9",
        error=NOT_WID + "line 1 (C-9)" + HINT,
        error_block="more_identifiers",
        cli_error=NOT_WID + "line 2 (C-9)" + HINT,
    ),
    # --- Workday ID forms ---------------------------------------------------------------------------------
    Case("uppercase-wid", "wid-forms", SRC, WID.upper(), accepted=[WID]),
    Case("case-variant-duplicates", "wid-forms", SRC, f"{WID}\n{WID.upper()}\n{WID.title()}", accepted=[WID]),
    Case("padded-crlf-tabs", "wid-forms", SRC, f"  {WID}\t\r\n\t{WID2}  \r\n", accepted=[WID, WID2]),
    Case(
        "zero-width-inside-wid", "wid-forms", SRC, WID[:10] + "\u200b" + WID[10:] + "\u200d", accepted=[WID]
    ),
    Case(
        "bom-soft-hyphen-word-joiner",
        "wid-forms",
        SRC,
        "\ufeff" + WID[:5] + "\u00ad" + WID[5:] + "\u2060",
        accepted=[WID],
    ),
    Case("bidi-override-in-wid", "wid-forms", SRC, "\u202e" + WID + "\u202c", accepted=[WID]),
    Case(
        "nbsp-inside-wid",
        "wid-forms",
        SRC,
        WID[:16] + "\u00a0" + WID[16:],
        error=NOT_WID + f"line 1 ({WID[:16]}), line 1 ({WID[16:]})" + HINT,
    ),
    Case(
        "fullwidth-digits-wid",
        "wid-forms",
        SRC,
        "０" * 32,
        error=NOT_WID + "line 1 (" + "０" * 32 + ")" + HINT,
    ),
    Case("quoted-wid", "wid-forms", SRC, f'"{WID}"', error=NOT_WID + f'line 1 ("{WID}")' + HINT),
    Case("quoted-reference-kept", "wid-forms", REF, '"C-1"', accepted=['"C-1"']),
    # --- control and unusual characters ----------------------------------------------------------------
    Case("nul-in-reference", "control", REF, "C-1\x00", error=CONTROL + "line 1 (C-1U+0000)."),
    Case(
        "terminal-escape",
        "control",
        REF,
        "C-2\n\x1b[31mC-1\x1b[0m",
        error=CONTROL + "line 2 (U+001B[31mC-1U+001B[0m).",
    ),
    Case("del-char", "control", REF, "C-\x7f1", error=CONTROL + "line 1 (C-U+007F1)."),
    Case("c1-csi", "control", SRC, WID + "\x9b", error=CONTROL + f"line 1 ({WID}U+009B)."),
    Case(
        "lone-surrogate",
        "control",
        REF,
        "C-\ud800",
        error=CONTROL + "line 1 (C-U+D800).",
        cli_error="file is not UTF-8 text (byte 0xED at offset 2): save it as UTF-8 and try again.",
    ),
    Case("noncharacter", "control", REF, "C-\uffff", error=CONTROL + "line 1 (C-U+FFFF)."),
    Case("emoji-reference", "control", REF, "C-1🎉\nÅngström-7", accepted=["C-1🎉", "Ångström-7"]),
    Case("rtl-reference", "control", REF, "עמית-12\nعميل-3", accepted=["עמית-12", "عميل-3"]),
    Case("255-characters", "control", REF, "R" * 255, accepted=["R" * 255]),
    Case("256-characters", "control", REF, "R" * 256, error=TOO_LONG + "line 1 (" + "R" * 39 + "…)."),
    # --- XML metacharacters and injection (accepted literally; tests/test_bot/http checks the SOAP wire) ---
    Case(
        "xml-close-and-reopen",
        "xml",
        REF,
        "C-1</wd:ID></wd:Customer_Reference><wd:Customer_Reference><wd:ID>C-2",
        accepted=["C-1</wd:ID></wd:Customer_Reference><wd:Customer_Reference><wd:ID>C-2"],
        tags=frozenset({"wire"}),
    ),
    Case("cdata", "xml", REF, "<![CDATA[C-1]]>", accepted=["<![CDATA[C-1]]>"], tags=frozenset({"wire"})),
    Case("cdata-end", "xml", REF, "C-1]]>", accepted=["C-1]]>"], tags=frozenset({"wire"})),
    # `;` separates identifiers, so an entity arrives cut in two: still literal text on the wire.
    Case(
        "entities",
        "xml",
        REF,
        "&amp;&lt;&#x41;&xxe;",
        accepted=["&amp", "&lt", "&#x41", "&xxe"],
        tags=frozenset({"wire"}),
    ),
    Case(
        "doctype",
        "xml",
        REF,
        "<!DOCTYPE\n<!ENTITY",
        accepted=["<!DOCTYPE", "<!ENTITY"],
        tags=frozenset({"wire"}),
    ),
    Case("metachar-soup", "xml", REF, "\"'<>&", accepted=["\"'<>&"], tags=frozenset({"wire"})),
    Case(
        "processing-instruction",
        "xml",
        REF,
        "<?xml-stylesheet?>",
        accepted=["<?xml-stylesheet?>"],
        tags=frozenset({"wire"}),
    ),
    Case(
        "attribute-break",
        "xml",
        REF,
        'C-1"wd:type="WID',
        accepted=['C-1"wd:type="WID'],
        tags=frozenset({"wire"}),
    ),
    Case(
        "sql-quote",
        "xml",
        REF,
        "C-1'OR'1'='1\nC-1;DROP",
        accepted=["C-1'OR'1'='1", "C-1", "DROP"],
        tags=frozenset({"wire"}),
    ),
    Case(
        "path-and-url", "xml", REF, "../../etc/passwd\nC-1?x=1#f", accepted=["../../etc/passwd", "C-1?x=1#f"]
    ),
    # --- Slack mrkdwn and mentions (accepted literally; shown escaped wherever echoed) -----------------
    Case("channel-mention", "mrkdwn", REF, "<!channel>", accepted=["<!channel>"], tags=frozenset({"echo"})),
    Case(
        "here-everyone",
        "mrkdwn",
        REF,
        "<!here>\n<!everyone>",
        accepted=["<!here>", "<!everyone>"],
        tags=frozenset({"echo"}),
    ),
    Case("user-mention", "mrkdwn", REF, "<@U_OWNER>", accepted=["<@U_OWNER>"], tags=frozenset({"echo"})),
    Case("channel-link", "mrkdwn", REF, "<#C_FIN>", accepted=["<#C_FIN>"], tags=frozenset({"echo"})),
    Case(
        "disguised-link",
        "mrkdwn",
        REF,
        "<https://evil.example/login|bank>",
        accepted=["<https://evil.example/login|bank>"],
        tags=frozenset({"echo"}),
    ),
    Case(
        "formatting",
        "mrkdwn",
        REF,
        "*bold*\n_italic_\n~strike~\n`code`",
        accepted=["*bold*", "_italic_", "~strike~", "`code`"],
        tags=frozenset({"echo"}),
    ),
    Case(
        "subteam",
        "mrkdwn",
        REF,
        "<!subteam^S0123|@finance>",
        accepted=["<!subteam^S0123|@finance>"],
        tags=frozenset({"echo"}),
    ),
    Case(
        "pre-escaped",
        "mrkdwn",
        REF,
        "&lt;!channel&gt;",
        accepted=["&lt", "!channel&gt"],
        tags=frozenset({"echo"}),
    ),
    Case(
        "date-token",
        "mrkdwn",
        REF,
        "<!date^0^{date}|x>",
        accepted=["<!date^0^{date}|x>"],
        tags=frozenset({"echo"}),
    ),
    Case(
        "mention-as-wid",
        "mrkdwn",
        SRC,
        "<!channel>\n<@U_OWNER>",
        error=NOT_WID + "line 1 (<!channel>), line 2 (<@U_OWNER>)" + HINT,
    ),
    # --- files: encodings (CLI `--file` only) -------------------------------------------------------------
    Case(
        "latin-1-file",
        "encoding",
        REF,
        raw="C-1\ncaf\u00e9-7\n".encode("latin-1"),
        error="file is not UTF-8 text (byte 0xE9 at offset 7): save it as UTF-8 and try again.",
    ),
    Case(
        "binary-file",
        "encoding",
        REF,
        raw=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        error="file is not UTF-8 text (byte 0x89 at offset 0): save it as UTF-8 and try again.",
    ),
    Case("utf-16-with-bom", "encoding", REF, raw="C-1\r\nC-2\r\n".encode("utf-16"), accepted=["C-1", "C-2"]),
    Case("utf-8-with-bom", "encoding", SRC, raw=("\ufeff" + WID + "\n").encode(), accepted=[WID]),
    Case(
        "utf-16-without-bom",
        "encoding",
        REF,
        raw="C-1\n".encode("utf-16-le"),
        error=CONTROL + "line 1 (CU+0000-U+00001U+0000), line 2 (U+0000).",
    ),
    Case(
        "encoded-surrogate",
        "encoding",
        REF,
        raw=b"C-\xed\xa0\x80",
        error="file is not UTF-8 text (byte 0xED at offset 2): save it as UTF-8 and try again.",
    ),
    Case(
        "utf-8-bom-then-a-bad-byte",
        "encoding",
        REF,
        raw=codecs.BOM_UTF8 + b"ab\xff",
        error="file is not UTF-8 text (byte 0xFF at offset 5): save it as UTF-8 and try again.",
    ),
    Case(
        "truncated-utf8",
        "encoding",
        REF,
        raw="C-1\nÅ".encode()[:-1],
        error="file is not UTF-8 text (byte 0xC3 at offset 4): save it as UTF-8 and try again.",
    ),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
