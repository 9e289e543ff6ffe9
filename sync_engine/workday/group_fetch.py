"""Fetching a group of customers in as few requests as their documents need, split back by customer.

The group's invoices and credit notes come from one REST list (`billToCustomer` once per customer) and its
payments from one `Get_Customer_Payments` query (`Remit-from_Customer_Reference` once per customer and per
payer), each read at the largest page size, page 1 first (it tells the total), then every other page at
once; all through the request gate, a failed page retried alone (`transport`). The documents are split by
customer: an invoice or credit note by its `billToCustomer`, a payment by `payers.assign`; Workday promises
no order, so a customer's documents may be on any page. A customer is handed over (`on_snapshot`) only when
everything it can have is in: the list holding its invoices read to the end and added up, and the payments
too; never in part. A customer of the group with no documents gets an empty snapshot.

A customer with thousands of documents must not hold back the small ones of its group: when the first
page of a list says it fills more than `SPLIT_PAGES` pages and it is of several customers, the list is left
for two lists of half the customers each, read at once (a half still above is split again). A split costs
that one page; its halves are handed over as each is read. Payments stay one query per group.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Any

from sync_engine.domain import CreditNote, Customer, CustomerSnapshot, Invoice, Payment
from sync_engine.errors import WorkdayPageTooLargeError, WorkdayPermanentError
from sync_engine.settings import WorkdaySettings
from sync_engine.workday.calls import WorkdayCalls
from sync_engine.workday.paging import InvoiceListRead, PageSizes, PaymentPagesRead, Request, subject
from sync_engine.workday.payers import assign, remitters
from sync_engine.workday.rest import InvoicesPage
from sync_engine.workday.transport import deadline

__all__ = ["SPLIT_PAGES", "GroupFetch", "SnapshotSink", "as_of"]

#: A list of several customers whose first page counts more documents than this many pages hold is split
#: in two: 80 pages (8,000 documents at 100) are 16 s of a 5 requests/s tenant, so the page a split costs
#: is at most 1.25 % of the pages it concerns (a run's requests stay within a few percent of the minimum)
#: while a customer with thousands of documents stops holding back the rest of its group.
SPLIT_PAGES = 80

#: Receives each customer's complete snapshot as soon as it is complete (in the fetching thread).
SnapshotSink = Callable[[CustomerSnapshot], None]

_Reader = InvoiceListRead | PaymentPagesRead


def as_of(now: datetime, lag: float) -> str:
    """The As_Of_Entry_DateTime of every payments page of one fetch: `lag` seconds before `now`, in UTC.
    Our own moment, never Workday's echo (real responses may echo no Response_Filter); microseconds, so a
    record entered just before it is not cut off by rounding."""
    return (now - timedelta(seconds=lag)).astimezone(UTC).isoformat(timespec="microseconds")


class GroupFetch:
    """One fetch of a group of customers (run it once). Every request of the group, retries included, ends
    within the settings' `customer_deadline` (one limit for the whole group's fetch)."""

    def __init__(
        self,
        calls: WorkdayCalls,
        sizes: PageSizes,
        settings: WorkdaySettings,
        customers: Sequence[Customer],
        on_snapshot: SnapshotSink,
        *,
        split_pages: int = SPLIT_PAGES,
    ) -> None:
        self._calls = calls
        self._sizes = sizes
        self._settings = settings
        self._customers = {customer.wid: customer for customer in customers}
        self._on_snapshot = on_snapshot
        self._split_pages = split_pages
        self._pending: dict[Future[Any], tuple[_Reader, Request]] = {}
        self._queued: list[tuple[int, int, _Reader, Request]] = []
        self._order = itertools.count()
        self._abort = threading.Event()

    def run(self) -> None:
        fetched_at = datetime.now(UTC)
        moment = as_of(fetched_at, self._settings.as_of_lag)
        customers = list(self._customers.values())
        payments = PaymentPagesRead(remitters(customers), self._sizes)
        whole = InvoiceListRead(list(self._customers), self._sizes)
        read: list[InvoiceListRead] = []  # read to the end, waiting for the payments
        owned: dict[str, list[Payment]] | None = None
        workers = max(2, self._settings.max_in_flight)
        with (
            deadline(self._settings.customer_deadline),
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workday-fetch") as pool,
        ):
            self._ask(payments, payments.start())
            self._ask(whole, whole.start())
            try:
                while self._send(pool, workers, moment):
                    done, _ = wait(self._pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        reader, request = self._pending.pop(future)
                        try:
                            page = future.result()
                        except WorkdayPageTooLargeError:
                            self._ask(reader, reader.too_large(request))
                            continue
                        if isinstance(reader, PaymentPagesRead):
                            self._ask(reader, reader.page(request, page))
                        elif self._too_big(reader, request, page):
                            for half in self._halves(reader):
                                self._ask(half, half.start())
                        else:
                            self._ask(reader, reader.page(request, page))
                            if reader.done:
                                read.append(reader)
                    if read and payments.done:
                        owned = owned if owned is not None else assign(payments.result(), customers)
                        for finished in read:
                            self._hand_over(finished, owned, fetched_at)
                        read.clear()
            except BaseException:
                self._abort.set()
                for future in self._pending:
                    future.cancel()
                raise

    def _ask(self, reader: _Reader, requests: list[Request]) -> None:
        """Queue requests. Payments first (every customer waits for them), then the first page of each list
        (it tells the list's size), then the pages of the smallest lists: the customers they hold are done
        soonest, and a big list's pages never hold back a small list asked for after it."""
        for request in requests:
            if isinstance(reader, PaymentPagesRead):
                rank = -1
            else:
                rank = 0 if request[0] == 0 or reader.total is None else reader.total
            heapq.heappush(self._queued, (rank, next(self._order), reader, request))

    def _send(self, pool: ThreadPoolExecutor, workers: int, moment: str) -> bool:
        """Send queued requests while fewer than `workers` are pending; whether any is pending."""
        while self._queued and len(self._pending) < workers:
            _, _, reader, request = heapq.heappop(self._queued)
            if isinstance(reader, PaymentPagesRead):
                task: Callable[..., Any] = self._calls.payments_page
                args: tuple[Any, ...] = (reader.remitter_wids, *request, moment, self._abort)
            else:
                task, args = self._calls.invoices_page, (reader.customer_wids, *request, self._abort)
            # Each request runs in the caller's context: its logs carry the job's run id, and the deadline
            # holds.
            future = pool.submit(contextvars.copy_context().run, task, *args)
            self._pending[future] = (reader, request)
        return bool(self._pending)

    def _too_big(self, reader: InvoiceListRead, request: Request, page: InvoicesPage) -> bool:
        if request[0] != 0 or len(reader.customer_wids) < 2:
            return False
        return page.total > self._split_pages * self._sizes[InvoiceListRead.operation]

    @staticmethod
    def _halves(reader: InvoiceListRead) -> list[InvoiceListRead]:
        wids = reader.customer_wids
        middle = len(wids) // 2
        return [InvoiceListRead(part, reader.sizes) for part in (wids[:middle], wids[middle:])]

    def _hand_over(
        self, reader: InvoiceListRead, owned: dict[str, list[Payment]], fetched_at: datetime
    ) -> None:
        """The snapshot of each customer of a list read to the end, in the group's order."""
        invoices, credit_notes, bill_to = reader.result()
        wids = reader.customer_wids
        held: dict[str, tuple[list[Invoice], list[CreditNote]]] = {wid: ([], []) for wid in wids}
        for invoice in invoices:
            held[_bill_to(invoice.wid, "invoice", bill_to, wids)][0].append(invoice)
        for note in credit_notes:
            held[_bill_to(note.wid, "credit note", bill_to, wids)][1].append(note)
        for wid in wids:
            self._on_snapshot(
                CustomerSnapshot(
                    customer=self._customers[wid],
                    invoices=held[wid][0],
                    credit_notes=held[wid][1],
                    payments=owned[wid],
                    fetched_at=fetched_at,
                )
            )


def _bill_to(document: str, kind: str, bill_to: dict[str, str | None], wids: list[str]) -> str:
    """Whose document it is: its `billToCustomer`, which must be one of those asked for; a list of one
    customer holds only its documents (the filter says so), whatever the document names."""
    owner = bill_to.get(document)
    if owner is not None and owner in wids:
        return owner
    if len(wids) == 1:
        return wids[0]
    named = f"customer {owner}, which was not asked for" if owner else "no billToCustomer"
    raise WorkdayPermanentError(
        f"Workday sent {kind} {document} among the invoices of {subject(wids)} naming {named}, so it "
        "cannot be told whose it is; the customers were not synced."
    )
