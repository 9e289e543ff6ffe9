"""Which pages to ask Workday for, and whether what came back adds up (pure: no I/O).

- `PageSizes`: the page size of each paged operation for the life of a client. Workday aborts requests
  that would return too much data, so when a page of some size is broken off or times out, the operation's
  size halves for every later page (of every customer) and never grows back.
- `InvoiceListRead`: the REST invoices and adjustments of one group of customers (`billToCustomer` once
  for each). That list has no snapshot and no sort
  parameter, and its `total` may count documents the integration user cannot see, so its pages are read
  up to `total` at once, on past it while the last page is full, de-duplicated by WID, and the whole list is
  read again (at most `MAX_INVOICE_READS` times) until one read adds up.
- `PaymentPagesRead`: the `Get_Customer_Payments` pages of a group of remitting customers, every page
  pinned to the client's own as-of moment, so the items at each position never move: a broken-off page is
  covered again by smaller ones, overlaps de-duplicated.

Each reader is fed the outcome of every request it asked for and answers with the next requests to send;
a request is `(start, size)`: REST `offset` and `limit`, or SOAP `Page` and `Count`.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field

from sync_engine.domain import CreditNote, Invoice
from sync_engine.errors import WorkdayPermanentError, WorkdayTransientError
from sync_engine.workday.payers import RemittedPayment
from sync_engine.workday.rest import InvoicesPage
from sync_engine.workday.soap import PaymentsPage

__all__ = [
    "MAX_INVOICE_READS",
    "InvoiceListRead",
    "PageSizes",
    "PaymentPagesRead",
    "Request",
    "subject",
]

logger = logging.getLogger(__name__)

#: Reads of one customer's invoice list before we give up on it adding up.
MAX_INVOICE_READS = 3


class PageSizes:
    """The current page size of each operation; thread-safe (every fetch of a client shares it)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self._sizes = dict(sizes)
        self._lock = threading.Lock()

    def __getitem__(self, operation: str) -> int:
        with self._lock:
            return self._sizes[operation]

    def shrink(self, operation: str, failed: int) -> int:
        """The size to use after a page of `failed` items was broken off: half of it, or what another
        page's failure already brought the size down to."""
        with self._lock:
            current = self._sizes[operation]
            if current < failed:
                return current
            smaller = max(1, failed // 2)
            self._sizes[operation] = smaller
        logger.warning(
            "Workday broke off a page of %d for %s; asking for %d at a time from now on.",
            failed,
            operation,
            smaller,
            extra={"operation": operation, "page_size": smaller},
        )
        return smaller


Request = tuple[int, int]


def subject(wids: list[str]) -> str:
    """The customers of a read, for messages: "customer W", or "3 customers (W1, …, W3)"."""
    if len(wids) == 1:
        return f"customer {wids[0]}"
    shown = ", ".join(wids) if len(wids) <= 3 else f"{wids[0]}, …, {wids[-1]}"
    return f"{len(wids)} customers ({shown})"


@dataclass(slots=True)
class _InvoicesPass:
    """One read of the list, page by page."""

    pages: dict[Request, InvoicesPage] = field(default_factory=dict)
    outstanding: set[Request] = field(default_factory=set)
    #: `total` of the page at offset 0 (None until it came).
    total: int | None = None

    def wids(self, excluding: Request | None = None) -> set[str]:
        pages = [page for request, page in self.pages.items() if request != excluding]
        return {invoice.wid for page in pages for invoice in page.invoices} | {
            note.wid for page in pages for note in page.credit_notes
        }

    def documents_returned(self) -> int:
        return sum(len(page.invoices) + len(page.credit_notes) for page in self.pages.values())

    def totals(self) -> set[int]:
        return {page.total for page in self.pages.values()}

    def adds_up(self) -> bool:
        distinct = len(self.wids())
        return self.totals() == {self.total} and distinct == self.documents_returned() == self.total


class InvoiceListRead:
    """The reads of one group's invoice list (see the module's doc)."""

    operation = "invoices"

    def __init__(
        self, customer_wids: list[str], sizes: PageSizes, *, max_reads: int = MAX_INVOICE_READS
    ) -> None:
        self.customer_wids = customer_wids
        self.sizes = sizes
        self._subject = subject(customer_wids)
        self._sizes = sizes
        self._max_reads = max_reads
        self._passes: list[_InvoicesPass] = []
        self._done = False

    def start(self) -> list[Request]:
        """The first request of a read of the whole list."""
        self._passes.append(_InvoicesPass())
        return self._ask([(0, self._sizes[self.operation])])

    @property
    def done(self) -> bool:
        return self._done

    @property
    def total(self) -> int | None:
        """`total` of the current read's first page, once it came."""
        return self._passes[-1].total if self._passes else None

    def page(self, request: Request, page: InvoicesPage) -> list[Request]:
        read = self._passes[-1]
        read.outstanding.discard(request)
        read.pages[request] = page
        offset, limit = request
        more: list[Request] = []
        if offset == 0:
            read.total = page.total
            size = self._sizes[self.operation]
            more = [(start, size) for start in range(limit, page.total, size)]
        if more or read.outstanding:
            return self._ask(more)
        return self._after_last_page()

    def too_large(self, request: Request) -> list[Request]:
        """The request was broken off: cover its range again in smaller pages."""
        read = self._passes[-1]
        read.outstanding.discard(request)
        offset, limit = request
        size = self._sizes.shrink(self.operation, limit)
        if offset == 0:
            # Its page tells the total; the rest of the list is asked for when it comes.
            return self._ask([(0, size)])
        end = offset + limit
        if read.total is not None and read.total > offset:
            end = min(end, read.total)
        return self._ask([(start, size) for start in range(offset, end, size)])

    def result(self) -> tuple[list[Invoice], list[CreditNote], dict[str, str | None]]:
        """The documents of the read that added up, in list order, and each one's bill-to customer."""
        if not self._done:
            raise RuntimeError("the invoice list has not been read to the end")
        read = self._passes[-1]
        invoices: dict[str, Invoice] = {}
        credit_notes: dict[str, CreditNote] = {}
        bill_to: dict[str, str | None] = {}
        for request in sorted(read.pages):
            page = read.pages[request]
            invoices.update((invoice.wid, invoice) for invoice in page.invoices)
            credit_notes.update((note.wid, note) for note in page.credit_notes)
            bill_to.update(page.bill_to)
        return list(invoices.values()), list(credit_notes.values()), bill_to

    def _ask(self, requests: list[Request]) -> list[Request]:
        self._passes[-1].outstanding.update(requests)
        return requests

    def _after_last_page(self) -> list[Request]:
        """Every page asked for has come: read on, read again, or decide."""
        read = self._passes[-1]
        last = max(read.pages)
        last_page = read.pages[last]
        full = len(last_page.invoices) + len(last_page.credit_notes) >= last[1]
        # The list ends on a short page. A full last page ends it only if the read adds up; otherwise
        # there may be more past `total`, as long as the pages keep bringing documents not seen yet.
        if full and not read.adds_up() and read.wids(excluding=last) < read.wids():
            return self._ask([(last[0] + last[1], self._sizes[self.operation])])
        if read.adds_up():
            self._done = True
            return []
        if len(self._passes) < self._max_reads:
            logger.info(
                "The invoice list of %s did not add up (%s); reading it again.",
                self._subject,
                self._discrepancy(read),
            )
            return self.start()
        raise WorkdayPermanentError(
            f"The invoices and credit notes of {self._subject} did not add up in {len(self._passes)} "
            f"reads (the last: {self._discrepancy(read)}), so the customer was not synced. If the "
            "integration user cannot see all of the customer's documents, grant it access to them in "
            "Workday; if documents were being entered or changed, sync the customer again."
        )

    @staticmethod
    def _discrepancy(read: _InvoicesPass) -> str:
        distinct = len(read.wids())
        returned = read.documents_returned()
        problems = [f"Workday counted {read.total} but its pages held {distinct} distinct documents"]
        if returned > distinct:
            problems.append(f"{returned - distinct} came twice, so the order moved between pages")
        if len(read.totals()) > 1:
            totals = ", ".join(str(total) for total in sorted(read.totals()))
            problems.append(f"the pages disagreed on the total ({totals})")
        return "; ".join(problems)


class PaymentPagesRead:
    """The pages of the payments a group of customers remitted (`Get_Customer_Payments`), all pinned to one
    as-of moment by the client."""

    operation = "Get_Customer_Payments"

    def __init__(self, remitter_wids: list[str], sizes: PageSizes) -> None:
        self.remitter_wids = remitter_wids
        self._subject = subject(remitter_wids)
        self._sizes = sizes
        self._pages: dict[Request, PaymentsPage] = {}
        self._outstanding: set[Request] = set()
        self._total: int | None = None

    def start(self) -> list[Request]:
        return self._ask([(1, self._sizes[self.operation])])

    @property
    def done(self) -> bool:
        return self._total is not None and not self._outstanding

    def page(self, request: Request, page: PaymentsPage) -> list[Request]:
        self._outstanding.discard(request)
        self._pages[request] = page
        number, count = request
        if number != 1:
            return []
        self._total = page.results.total_results
        return self._ask(self._covering(count, self._total, self._sizes[self.operation]))

    def too_large(self, request: Request) -> list[Request]:
        self._outstanding.discard(request)
        number, count = request
        size = self._sizes.shrink(self.operation, count)
        if number == 1:
            return self._ask([(1, size)])
        start = (number - 1) * count
        end = number * count if self._total is None else min(number * count, self._total)
        return self._ask(self._covering(start, end, size))

    def result(self) -> list[RemittedPayment]:
        """Every payment the customers remitted, with the customer it belongs to (`payers`) and its
        remitter. With one remitter asked for, a payment that names neither is its (we asked for its
        payments)."""
        only = self.remitter_wids[0] if len(self.remitter_wids) == 1 else None
        payments: dict[str, RemittedPayment] = {}
        # Pages of different sizes may overlap: the snapshot is pinned, so an overlap holds the same items.
        for number, count in sorted(self._pages, key=lambda request: (request[0] - 1) * request[1]):
            page = self._pages[(number, count)]
            for payment in page.payments:
                remitter = page.remitters.get(payment.wid) or only
                owner = page.owners.get(payment.wid) or remitter
                payments.setdefault(payment.wid, RemittedPayment(payment, owner, remitter))
        returned = sum(len(page.payments) for page in self._pages.values())
        covered = len(payments)
        if covered != self._total or (returned > covered and len({c for _, c in self._pages}) == 1):
            raise WorkdayTransientError(
                f"Workday sent {returned} payments of {self._subject} ({covered} distinct) where it "
                f"announced {self._total}; fetch the customer again."
            )
        return list(payments.values())

    def _ask(self, requests: list[Request]) -> list[Request]:
        self._outstanding.update(requests)
        return requests

    @staticmethod
    def _covering(start: int, end: int, size: int) -> list[Request]:
        """The pages of `size` that hold the items at positions start..end-1 (0-based)."""
        return [(number, size) for number in range(start // size + 1, math.ceil(end / size) + 1)]
