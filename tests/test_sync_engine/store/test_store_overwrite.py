"""`overwrite_customer`: the store ends up holding exactly the newest snapshot of each customer."""

from __future__ import annotations

import threading
import time
from dataclasses import fields, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from sync_engine.domain import (
    CreditNote,
    Customer,
    CustomerSnapshot,
    IdentifierType,
    Invoice,
    Payment,
    RunStatus,
)
from sync_engine.store.customers import (
    KeepPrevious,
    OverwriteOutcome,
    load_customer,
    overwrite_customer,
)
from sync_engine.store.database import Database
from sync_engine.store.models import CreditNoteRow, CustomerRow, InvoiceRow, PaymentRow
from sync_engine.store.previous_copies import load_copy
from sync_engine.store.runs import create_run

T0 = datetime(2025, 11, 27, 9, 0, tzinfo=UTC)
ACME = "a" * 32
GLOBEX = "b" * 32


def count_documents(session: Session, customer_wid: str) -> tuple[int, ...]:
    """How many (invoices, payments, credit notes) the store holds for the customer; zeros if none."""
    customer_pk = session.scalar(select(CustomerRow.id).where(CustomerRow.wid == customer_wid))
    return tuple(
        session.scalar(select(func.count()).select_from(row).where(row.customer_pk == customer_pk)) or 0
        for row in (InvoiceRow, PaymentRow, CreditNoteRow)
    )


# --- Snapshot factory -----------------------------------------------------------------------------------


def wid(kind: str, number: int) -> str:
    """A 32-hex-character Workday id, distinct per kind and number."""
    prefix = {"invoice": "1", "credit_note": "2", "payment": "3"}[kind]
    return f"{prefix}{number:031x}"


def invoice(number: int, **changes: Any) -> Invoice:
    default = Invoice(
        wid=wid("invoice", number),
        invoice_number=f"INV-{number:05d}",
        invoice_date=date(2025, 1, 1) + timedelta(days=number % 300),
        due_date=date(2025, 2, 1) + timedelta(days=number % 300),
        total_amount=Decimal("1200.50") + number,
        tax_amount=Decimal("200.08"),
        due_amount=Decimal("1200.50"),
        currency="USD",
        invoice_status="Approved",
        payment_status="Unpaid",
    )
    return replace(default, **changes)


def credit_note(number: int, **changes: Any) -> CreditNote:
    default = CreditNote(
        wid=wid("credit_note", number),
        credit_note_number=f"CN-{number:05d}",
        credit_note_date=date(2025, 3, 1),
        total_amount=Decimal("-75.25"),
        due_amount=Decimal("0"),
        currency="USD",
        invoice_status="Approved",
        payment_status="Paid",
        related_invoice_wid=wid("invoice", number),
    )
    return replace(default, **changes)


def payment(number: int, **changes: Any) -> Payment:
    default = Payment(
        wid=wid("payment", number),
        payment_reference_id=f"PAY-{number:05d}",
        payment_number=f"{number}",
        payment_date=date(2025, 4, 1),
        amount=Decimal("500.00"),
        currency="USD",
        payment_status="Complete",
        check_number=None,
        memo=f"payment {number}",
    )
    return replace(default, **changes)


def snapshot(
    customer_wid: str = ACME,
    *,
    at: datetime = T0,
    invoices: list[Invoice] | None = None,
    credit_notes: list[CreditNote] | None = None,
    payments: list[Payment] | None = None,
    **customer_changes: Any,
) -> CustomerSnapshot:
    """A customer as Workday gave it at `at`; documents numbered 1-3 of each kind unless given."""
    customer = Customer(
        wid=customer_wid,
        customer_id=f"C-{customer_wid[:4]}",
        customer_reference_id=f"REF-{customer_wid[:4]}",
        name=f"Customer {customer_wid[:4]}",
        currency="USD",
        status="Active",
        total_balance=Decimal("3100.75"),
    )
    return CustomerSnapshot(
        customer=replace(customer, **customer_changes),
        invoices=[invoice(n) for n in (1, 2, 3)] if invoices is None else invoices,
        credit_notes=[credit_note(n) for n in (1, 2, 3)] if credit_notes is None else credit_notes,
        payments=[payment(n) for n in (1, 2, 3)] if payments is None else payments,
        fetched_at=at,
    )


def sorted_by_wid(given: CustomerSnapshot) -> CustomerSnapshot:
    """`given` as `load_customer` returns it: documents in wid order."""

    def by_wid(documents: list[Any]) -> list[Any]:
        return sorted(documents, key=lambda document: document.wid)

    return replace(
        given,
        invoices=by_wid(given.invoices),
        credit_notes=by_wid(given.credit_notes),
        payments=by_wid(given.payments),
    )


# --- Helpers --------------------------------------------------------------------------------------------


def write(database: Database, given: CustomerSnapshot, run_id: int | None = 1) -> OverwriteOutcome:
    with database.session() as session:
        return overwrite_customer(session, given, run_id=run_id)


def stored(database: Database, customer_wid: str = ACME) -> CustomerSnapshot | None:
    with database.session() as session:
        return load_customer(session, customer_wid)


def row_ids(database: Database) -> dict[str, int]:
    """Primary key of every stored customer and document, by wid."""
    ids: dict[str, int] = {}
    with database.session() as session:
        for model in (CustomerRow, InvoiceRow, CreditNoteRow, PaymentRow):
            ids |= {row.wid: row.id for row in session.execute(select(model.wid, model.id))}
    return ids


def synced_by(database: Database, customer_wid: str = ACME) -> int | None:
    with database.session() as session:
        return session.scalar(select(CustomerRow.synced_by_run_id).where(CustomerRow.wid == customer_wid))


# --- Overwrite semantics --------------------------------------------------------------------------------


def test_first_overwrite_stores_the_snapshot(database: Database) -> None:
    given = snapshot(invoices=[invoice(3), invoice(1), invoice(2)])

    outcome = write(database, given, run_id=7)

    assert outcome == OverwriteOutcome(written=True, invoices=3, payments=3, credit_notes=3)
    assert stored(database) == sorted_by_wid(given)
    assert synced_by(database) == 7
    with database.session() as session:
        assert count_documents(session, ACME) == (3, 3, 3)


def test_overwrite_changes_deletes_and_adds_documents_of_each_kind(database: Database) -> None:
    write(database, snapshot())
    newer = snapshot(
        at=T0 + timedelta(hours=1),
        name="Acme Renamed",
        total_balance=Decimal("0.00"),
        # 1 changed, 2 deleted, 3 kept as is, 4 added
        invoices=[invoice(1, due_amount=Decimal("0"), payment_status="Paid"), invoice(3), invoice(4)],
        credit_notes=[credit_note(1, total_amount=Decimal("-80.00")), credit_note(3), credit_note(4)],
        payments=[payment(1, memo=None, check_number="1001"), payment(3), payment(4)],
    )

    outcome = write(database, newer, run_id=2)

    assert outcome == OverwriteOutcome(written=True, invoices=3, payments=3, credit_notes=3)
    assert stored(database) == sorted_by_wid(newer)
    assert synced_by(database) == 2


def test_documents_all_gone_from_workday_are_all_deleted(database: Database) -> None:
    write(database, snapshot())

    write(database, snapshot(at=T0 + timedelta(hours=1), invoices=[], credit_notes=[], payments=[]))

    with database.session() as session:
        assert count_documents(session, ACME) == (0, 0, 0)


def test_unchanged_snapshot_twice_keeps_the_same_rows_and_ids(database: Database) -> None:
    given = snapshot()
    write(database, given)
    ids_before = row_ids(database)

    write(database, given)
    write(database, replace(given, fetched_at=T0 + timedelta(minutes=5)))

    assert row_ids(database) == ids_before
    assert stored(database) == sorted_by_wid(replace(given, fetched_at=T0 + timedelta(minutes=5)))


def test_older_snapshot_is_refused_and_changes_nothing(database: Database) -> None:
    newer = snapshot(at=T0 + timedelta(hours=1), invoices=[invoice(9)])
    write(database, newer, run_id=2)
    ids_before = row_ids(database)

    outcome = write(database, snapshot(at=T0, name="Stale"), run_id=1)

    assert outcome == OverwriteOutcome(written=False, invoices=3, payments=3, credit_notes=3)
    assert stored(database) == sorted_by_wid(newer)
    assert synced_by(database) == 2
    assert row_ids(database) == ids_before


def test_guard_compares_instants_not_wall_clock(database: Database) -> None:
    write(database, snapshot(at=T0))  # 09:00 UTC
    plus_two = timezone(timedelta(hours=2))

    earlier = write(database, snapshot(at=datetime(2025, 11, 27, 10, 30, tzinfo=plus_two)))  # 08:30 UTC
    later = write(database, snapshot(at=datetime(2025, 11, 27, 11, 30, tzinfo=plus_two)))  # 09:30 UTC

    assert (earlier.written, later.written) == (False, True)
    loaded = stored(database)
    assert loaded is not None
    assert loaded.fetched_at == T0 + timedelta(minutes=30)


def test_a_failure_after_the_overwrite_rolls_back_to_exactly_the_old_data(database: Database) -> None:
    old = snapshot()
    write(database, old, run_id=1)
    ids_before = row_ids(database)

    with pytest.raises(RuntimeError, match="after the overwrite"), database.session() as session:
        outcome = overwrite_customer(
            session, snapshot(at=T0 + timedelta(hours=1), invoices=[invoice(7)], payments=[]), run_id=2
        )
        assert outcome.written
        raise RuntimeError("failed after the overwrite, e.g. marking the run item")

    assert stored(database) == sorted_by_wid(old)
    assert synced_by(database) == 1
    assert row_ids(database) == ids_before


def test_duplicate_documents_in_a_snapshot_count_once_and_the_last_wins(database: Database) -> None:
    given = snapshot(invoices=[invoice(1), invoice(1, invoice_status="Canceled"), invoice(2)])

    outcome = write(database, given)

    assert outcome.invoices == 2
    loaded = stored(database)
    assert loaded is not None
    assert [document.invoice_status for document in loaded.invoices] == ["Canceled", "Approved"]


def test_unknown_customer_reads_as_nothing(database: Database) -> None:
    with database.session() as session:
        assert load_customer(session, "0" * 32) is None
        assert count_documents(session, "0" * 32) == (0, 0, 0)


def test_each_customer_keeps_its_own_documents(database: Database) -> None:
    acme = snapshot(ACME)
    globex = snapshot(
        GLOBEX,
        invoices=[invoice(11), invoice(12)],
        credit_notes=[],
        payments=[payment(11)],
    )
    write(database, acme)
    write(database, globex)

    write(database, snapshot(ACME, at=T0 + timedelta(hours=1), invoices=[], credit_notes=[], payments=[]))

    assert stored(database, GLOBEX) == sorted_by_wid(globex)
    with database.session() as session:
        assert count_documents(session, GLOBEX) == (2, 1, 0)


# --- Documents moving between customers -----------------------------------------------------------------


def test_a_document_moved_to_another_customer_is_reassigned(database: Database) -> None:
    write(database, snapshot(ACME, at=T0))
    ids_before = row_ids(database)
    moved = [invoice(2, payment_status="Transferred")], [credit_note(3)], [payment(1)]

    # Workday moved invoice 2, credit note 3 and payment 1 to Globex; Globex is synced first.
    write(
        database,
        snapshot(
            GLOBEX, at=T0 + timedelta(hours=1), invoices=moved[0], credit_notes=moved[1], payments=moved[2]
        ),
    )

    with database.session() as session:
        assert count_documents(session, GLOBEX) == (1, 1, 1)
        assert count_documents(session, ACME) == (2, 2, 2)
    globex = stored(database, GLOBEX)
    assert globex is not None
    assert (globex.invoices, globex.credit_notes, globex.payments) == (moved[0], moved[1], moved[2])
    assert row_ids(database)[wid("invoice", 2)] == ids_before[wid("invoice", 2)]

    # Acme's own newer snapshot no longer lists them: deleting Acme's leftovers leaves Globex's alone.
    write(
        database,
        snapshot(
            ACME,
            at=T0 + timedelta(hours=2),
            invoices=[invoice(1), invoice(3)],
            credit_notes=[credit_note(1), credit_note(2)],
            payments=[payment(2), payment(3)],
        ),
    )
    assert stored(database, GLOBEX) == globex


def test_an_older_snapshot_of_the_previous_owner_does_not_take_a_moved_document_back(
    database: Database,
) -> None:
    write(database, snapshot(ACME, at=T0 - timedelta(days=1), invoices=[invoice(1)]))
    globex = snapshot(GLOBEX, at=T0 + timedelta(hours=1), invoices=[invoice(1)], credit_notes=[], payments=[])
    write(database, globex)

    # Acme fetched before the move, but its write lands after Globex's.
    write(database, snapshot(ACME, at=T0, invoices=[invoice(1), invoice(2)]))

    assert stored(database, GLOBEX) == globex
    with database.session() as session:
        assert count_documents(session, ACME) == (1, 3, 3)


# --- Money --------------------------------------------------------------------------------------------


def test_amounts_are_exact_on_every_backend(database: Database) -> None:
    given = snapshot(
        currency="KWD",
        total_balance=Decimal("-0.001"),
        invoices=[
            invoice(1, total_amount=Decimal("123456789012.34"), tax_amount=Decimal("0.01")),
            invoice(2, currency="KWD", total_amount=Decimal("1.234"), due_amount=Decimal("0.001")),
            invoice(3, currency="JPY", total_amount=Decimal("1500"), tax_amount=None, due_amount=None),
            invoice(4, total_amount=Decimal("9999999999999999999999.999999")),  # NUMERIC(28, 6) at full
        ],
        credit_notes=[
            credit_note(1, total_amount=Decimal("-123456789012.34")),
            credit_note(2, currency="KWD", total_amount=Decimal("-1.235")),
        ],
        payments=[payment(1, amount=Decimal("0.10")), payment(2, currency="JPY", amount=Decimal("-1500"))],
    )

    write(database, given)

    loaded = stored(database)
    assert loaded == sorted_by_wid(given)
    assert loaded is not None
    amounts = [loaded.customer.total_balance]
    amounts += [document.total_amount for document in loaded.invoices + loaded.credit_notes]
    amounts += [document.amount for document in loaded.payments]
    assert all(isinstance(amount, Decimal) for amount in amounts)


def test_records_and_columns_share_their_names() -> None:
    # overwrite_customer and load_customer map fields to columns by name.
    pairs: list[tuple[type[Any], Table]] = [
        (Customer, CustomerRow.__table__),  # type: ignore[list-item]
        (Invoice, InvoiceRow.__table__),  # type: ignore[list-item]
        (CreditNote, CreditNoteRow.__table__),  # type: ignore[list-item]
        (Payment, PaymentRow.__table__),  # type: ignore[list-item]
    ]
    for record_type, table in pairs:
        assert {field.name for field in fields(record_type)} <= set(table.c.keys())


# --- Concurrency --------------------------------------------------------------------------------------


class HeldOverwrite:
    """An overwrite in a thread whose transaction stays open until released."""

    def __init__(self, database: Database, given: CustomerSnapshot) -> None:
        self.written = threading.Event()
        self.release = threading.Event()
        self.outcome: OverwriteOutcome | None = None
        self.thread = threading.Thread(target=self._run, args=(database, given))
        self.thread.start()
        assert self.written.wait(10), "the held overwrite never wrote"

    def _run(self, database: Database, given: CustomerSnapshot) -> None:
        with database.session() as session:
            self.outcome = overwrite_customer(session, given, run_id=1)
            self.written.set()
            self.release.wait(10)


class BackgroundOverwrite:
    """An overwrite in a thread, to see whether it waits."""

    def __init__(self, database: Database, given: CustomerSnapshot) -> None:
        self.outcome: OverwriteOutcome | None = None
        self.thread = threading.Thread(target=self._run, args=(database, given))
        self.thread.start()

    def _run(self, database: Database, given: CustomerSnapshot) -> None:
        self.outcome = write(database, given, run_id=2)


OLDER = snapshot(at=T0, invoices=[invoice(1), invoice(2)], payments=[payment(1)], name="Older")
NEWER = snapshot(
    at=T0 + timedelta(seconds=1),
    invoices=[invoice(2, due_amount=Decimal("0")), invoice(3)],
    credit_notes=[],
    name="Newer",
)


@pytest.mark.parametrize("already_stored", [False, True], ids=["new-customer", "stored-customer"])
@pytest.mark.parametrize(
    "first, second", [(OLDER, NEWER), (NEWER, OLDER)], ids=["older-first", "newer-first"]
)
def test_concurrent_overwrites_of_one_customer_serialise_and_the_newer_wins(
    database: Database, already_stored: bool, first: CustomerSnapshot, second: CustomerSnapshot
) -> None:
    if already_stored:
        write(database, snapshot(at=T0 - timedelta(days=1)))

    held = HeldOverwrite(database, first)
    waiting = BackgroundOverwrite(database, second)
    time.sleep(0.3)
    assert waiting.thread.is_alive(), "the second overwrite did not wait for the first to commit"
    held.release.set()
    held.thread.join(10)
    waiting.thread.join(10)

    assert held.outcome is not None and held.outcome.written
    assert waiting.outcome is not None
    assert waiting.outcome.written is (second is NEWER)
    assert stored(database) == sorted_by_wid(NEWER)


def race(database: Database, contenders: list[CustomerSnapshot]) -> list[BaseException]:
    """Overwrite with each of `contenders` at once, one thread each; the errors raised."""
    start = threading.Barrier(len(contenders))
    errors: list[BaseException] = []

    def overwrite(given: CustomerSnapshot) -> None:
        start.wait()
        try:
            write(database, given)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=overwrite, args=(given,)) for given in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_racing_overwrites_never_leave_a_mix(database: Database) -> None:
    # Many pairs of snapshots with disjoint documents, started together: after each race the store
    # holds exactly the newer snapshot, whichever thread got there first.
    for round_number in range(6):
        base = 100 * round_number
        older = snapshot(
            at=T0 + timedelta(minutes=round_number),
            invoices=[invoice(base + n) for n in range(1, 40)],
            credit_notes=[credit_note(base + 1)],
            payments=[payment(base + n) for n in range(1, 20)],
            name=f"older {round_number}",
        )
        newer = snapshot(
            at=T0 + timedelta(minutes=round_number, seconds=30),
            invoices=[invoice(base + n, payment_status="Paid") for n in range(30, 70)],
            credit_notes=[],
            payments=[payment(base + 50)],
            name=f"newer {round_number}",
        )
        contenders = [older, newer] if round_number % 2 else [newer, older]

        errors = race(database, contenders)

        assert errors == []
        assert stored(database) == sorted_by_wid(newer), f"round {round_number}"


# --- Volume -------------------------------------------------------------------------------------------


def large_snapshot(at: datetime) -> CustomerSnapshot:
    """A customer with 10,000 documents."""
    return snapshot(
        at=at,
        invoices=[invoice(n) for n in range(6_000)],
        credit_notes=[credit_note(n) for n in range(1_000)],
        payments=[payment(n) for n in range(3_000)],
    )


def test_overwriting_a_customer_with_10000_documents(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    timings: list[float] = []
    for attempt in range(3):  # first import, then two re-imports, each keeping the previous copy
        with database.session() as session:
            run_id = create_run(
                session,
                identifier_type=IdentifierType.SOURCE_ID,
                identifiers=[ACME],
                requested_by="U_TEST",
                status=RunStatus.RECEIVED,
                now=T0,
            )
        given = large_snapshot(T0 + timedelta(minutes=attempt))
        keep = KeepPrevious(run_id=run_id, until=T0 + timedelta(days=30))
        started = time.perf_counter()
        with database.session() as session:
            outcome = overwrite_customer(session, given, run_id=run_id, keep_previous=keep)
        timings.append(time.perf_counter() - started)
        assert outcome == OverwriteOutcome(written=True, invoices=6_000, payments=3_000, credit_notes=1_000)

    with database.session() as session:
        assert count_documents(session, ACME) == (6_000, 3_000, 1_000)
        copy = load_copy(session, run_id, ACME)
    assert copy is not None and copy.snapshot is not None
    assert (
        len(copy.snapshot.invoices) + len(copy.snapshot.credit_notes) + len(copy.snapshot.payments) == 10_000
    )
    with capsys.disabled():
        figures = ", ".join(f"{seconds * 1000:.0f} ms" for seconds in timings)
        print(
            f"\n[{database.dialect}] overwrite of 10,000 documents keeping the previous copy "
            f"(import, re-import x2): {figures}"
        )
