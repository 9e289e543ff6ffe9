"""Resolving identifiers to customers with as few `Get_Customers` calls as Workday allows.

A fault naming invalid references drops them and re-asks for the rest; a fault we cannot map to
references splits the batch in two. No set of references is sent twice (Workday penalises clients that
repeat invalid requests). Results are matched to what was asked by the IDs Workday returns, ignoring
case, never by position.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from sync_engine.domain import Customer, IdentifierType, Resolution
from sync_engine.errors import WorkdayPermanentError
from sync_engine.workday.calls import WorkdayCalls, names_references
from sync_engine.workday.soap import SoapFault, parse_customers, reference_index
from sync_engine.workday.soap_requests import build_get_customers

__all__ = ["CUSTOMERS_PER_REQUEST", "resolve_customers"]

logger = logging.getLogger(__name__)

#: References sent in one `Get_Customers` call (and its Count).
CUSTOMERS_PER_REQUEST = 100

# "Invalid ID value. 'CUST-999' is not a valid ID value for type = 'Customer_ID'" → CUST-999
_INVALID_VALUE = re.compile(r"Invalid ID value\.\s+'(.*)' is not a valid ID value", re.DOTALL)


def resolve_customers(
    calls: WorkdayCalls,
    version: str,
    reference_id_type: str,
    identifiers: Sequence[str],
    identifier_type: IdentifierType,
) -> Resolution:
    """Find the customers the identifiers name; the ones Workday does not know are `unresolved`.

    `found` is keyed by the identifier as given, in the identifiers' order. WIDs are sent as `WID`,
    references as `reference_id_type`.
    """
    id_type = "WID" if identifier_type is IdentifierType.SOURCE_ID else reference_id_type
    sent_as = {identifier: _normalise(identifier, id_type) for identifier in identifiers}
    values = list(dict.fromkeys(sent_as.values()))
    matched: dict[str, Customer] = {}
    for start in range(0, len(values), CUSTOMERS_PER_REQUEST):
        batch = values[start : start + CUSTOMERS_PER_REQUEST]
        matched.update(_resolve_batch(calls, version, batch, id_type))
    found: dict[str, Customer] = {}
    unresolved: list[str] = []
    for identifier, value in sent_as.items():
        if value in matched:
            found[identifier] = matched[value]
        else:
            unresolved.append(identifier)
    return Resolution(found=found, unresolved=unresolved)


def _resolve_batch(calls: WorkdayCalls, version: str, values: list[str], id_type: str) -> dict[str, Customer]:
    matched: dict[str, Customer] = {}
    pending = [values]
    sent: set[frozenset[str]] = set()
    while pending:
        batch = pending.pop(0)
        if not batch or frozenset(batch) in sent:
            continue
        sent.add(frozenset(batch))
        result = calls.soap(
            "Get_Customers", build_get_customers([(id_type, value) for value in batch], version)
        )
        if not isinstance(result, SoapFault):
            matched.update(_match(batch, parse_customers(result), id_type))
            continue
        if not names_references(result):
            raise WorkdayPermanentError(f"Workday refused Get_Customers: {result.describe()}")
        invalid = _invalid_positions(result, batch)
        if invalid:
            logger.info("Workday does not know %d of %d customer references.", len(invalid), len(batch))
            pending.append([value for position, value in enumerate(batch, 1) if position not in invalid])
        elif len(batch) > 1:
            logger.info(
                "Cannot tell which of %d customer references Workday rejected; splitting.", len(batch)
            )
            middle = len(batch) // 2
            pending.extend([batch[:middle], batch[middle:]])
        # else: the one reference of the batch is the invalid one.
    return matched


def _normalise(identifier: str, id_type: str) -> str:
    """The value sent for an identifier: WIDs are lowercase hex."""
    return identifier.lower() if id_type == "WID" else identifier


def _key(customer: Customer, id_type: str) -> str | None:
    if id_type == "WID":
        return customer.wid.lower()
    if id_type == "Customer_Reference_ID":
        return customer.customer_reference_id
    return customer.customer_id


def _match(batch: list[str], customers: list[Customer], id_type: str) -> dict[str, Customer]:
    """Customers by the value that asked for them, matched by the ID of that type Workday returned for each
    (ignoring case, as Workday looks references up); Workday promises no order, so a value no returned
    customer carries stays unmatched (unresolved), never guessed."""
    by_key: dict[str, Customer] = {}
    for customer in customers:
        key = _key(customer, id_type)
        if key:
            by_key.setdefault(key.casefold(), customer)
    return {value: by_key[value.casefold()] for value in batch if value.casefold() in by_key}


def _invalid_positions(fault: SoapFault, batch: list[str]) -> set[int]:
    """1-based positions of the references the fault names, or an empty set unless every error maps to a
    reference whose value the error message (if it quotes one) agrees with."""
    positions: set[int] = set()
    for error in fault.validation_errors:
        position = reference_index(error.xpath, "Customer_Reference")
        if position is None or not 1 <= position <= len(batch):
            return set()
        quoted = _INVALID_VALUE.search(error.message or error.detail_message or "")
        if quoted is not None and quoted.group(1).strip() != batch[position - 1]:
            return set()
        positions.add(position)
    return positions
