"""`syncer api <operation>`: each of the nine operations ad hoc, printing JSON.

Talks to the API configured for the syncer (SYNCER_API_* or the config file), or with `--sim`
to a simulator started in this process with its demo accounts and credentials. The plumbing
(target, client, output, exit codes) is in `syncer.cli.call`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from syncer.cli import exit_codes
from syncer.cli.call import Target, UsageError, call, fail, print_json, print_pages, read_json
from syncer.cli.exit_codes import ExitCode
from syncer.errors import SyncerError

if TYPE_CHECKING:  # the client stack (aiohttp) is imported when a command runs, not for --help
    from syncer.api.client import ListFilters, ScanSourceClient, SerialFilters, SummaryFilters
    from syncer.api.operation_models import ShipQuoteLine

WAIT_POLL_SECONDS = 1.0

api_app = typer.Typer(
    help="Call one Sales Order API operation and print its answer as JSON.",
    no_args_is_help=True,
)


@api_app.callback()
def api_options(
    ctx: typer.Context,
    sim: Annotated[
        bool,
        typer.Option(
            "--sim",
            help="Use a simulator started in this process (demo accounts and credentials) "
            "instead of the configured API.",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Simulator seed (with --sim).")] = 42,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config file (else SYNCER_CONFIG_FILE)."),
    ] = None,
) -> None:
    """Ad-hoc calls. The API and credentials are the syncer's (SYNCER_API_*); see README."""
    ctx.obj = Target(sim=sim, seed=seed, config=config)


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _filters(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, [], ())}


Customer = Annotated[
    str | None,
    typer.Option("--customer", "-C", help="Customer number (default: the first account)."),
]
Order = Annotated[str, typer.Option("--order", "-o", help="Sales order number.")]
OptOrder = Annotated[str | None, typer.Option("--order", "-o", help="Sales order number.")]
PoNumber = Annotated[str | None, typer.Option(help="PO number.")]
Day = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD.")]
Page = Annotated[int, typer.Option(min=1, help="Page number (1-based).")]
PageSize = Annotated[int, typer.Option(min=1, max=1000, help="Rows per page (max 1000).")]
AllPages = Annotated[bool, typer.Option("--all", help="Every page, until a short one.")]
JsonFile = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Request body as JSON (API field names); - for stdin."),
]


# -- reads -------------------------------------------------------------------------------------


def search(
    ctx: typer.Context,
    customer: str | None,
    operation: str,
    filters: Mapping[str, Any],
    *,
    page: int,
    page_size: int,
    all_pages: bool,
) -> None:
    """One page of a search (the client's method `operation`), or with `all_pages` every page
    (its `iter_` method), streamed."""

    async def run(c: ScanSourceClient, n: str) -> Any:
        if all_pages:
            await print_pages(getattr(c, f"iter_{operation}")(n, page_size=page_size, **filters))
            return None
        return await getattr(c, operation)(n, page=page, page_size=page_size, **filters)

    call(ctx, customer, run)


@api_app.command(epilog=exit_codes.API)
def detail(
    ctx: typer.Context,
    order: Order,
    customer: Customer = None,
    exclude_serial_tracking: Annotated[
        bool, typer.Option(help="Leave out serial and tracking numbers.")
    ] = False,
) -> None:
    """One sales order in full: lines, schedules, deliveries, parcels, serials."""
    call(
        ctx,
        customer,
        lambda c, n: c.detail(n, order, exclude_serial_tracking=exclude_serial_tracking),
    )


@api_app.command("list", epilog=exit_codes.API)
def list_(
    ctx: typer.Context,
    customer: Customer = None,
    order: OptOrder = None,
    po_number: PoNumber = None,
    end_user_po: Annotated[str | None, typer.Option(help="End-user PO.")] = None,
    shipping_city: Annotated[str | None, typer.Option(help="Ship-to city.")] = None,
    reference_number: Annotated[str | None, typer.Option(help="Your reference.")] = None,
    status: Annotated[str | None, typer.Option(help="e.g. Open, 'On Hold', Cancelled.")] = None,
    doc_type: Annotated[str | None, typer.Option(help="Document type.")] = None,
    schedule_lines: Annotated[bool, typer.Option(help="Include schedule lines.")] = False,
    from_date: Day = None,
    to_date: Day = None,
    from_last_change_date: Day = None,
    to_last_change_date: Day = None,
    page: Page = 1,
    page_size: PageSize = 100,
    all_pages: AllPages = False,
) -> None:
    """Orders with their lines, filtered (dates are ScanSource's local days)."""
    filters: ListFilters = _filters(  # type: ignore[assignment]
        sales_order_number=order,
        po_number=po_number,
        end_user_po=end_user_po,
        shipping_city=shipping_city,
        reference_number=reference_number,
        status=status,
        doc_type=doc_type,
        include_schedule_lines=schedule_lines or None,
        from_date=_day(from_date),
        to_date=_day(to_date),
        from_last_change_date=_day(from_last_change_date),
        to_last_change_date=_day(to_last_change_date),
    )

    search(
        ctx, customer, "list_orders", filters, page=page, page_size=page_size, all_pages=all_pages
    )


@api_app.command(epilog=exit_codes.API)
def summary(
    ctx: typer.Context,
    customer: Customer = None,
    order: OptOrder = None,
    po_number: PoNumber = None,
    reference_number: Annotated[str | None, typer.Option(help="Your reference.")] = None,
    status: Annotated[str | None, typer.Option(help="e.g. Open, 'On Hold', Cancelled.")] = None,
    doc_type: Annotated[str | None, typer.Option(help="Document type.")] = None,
    from_date: Day = None,
    to_date: Day = None,
    from_last_change_date: Day = None,
    to_last_change_date: Day = None,
    serial: Annotated[
        list[str] | None, typer.Option(help="Orders that shipped this serial.")
    ] = None,
    mac: Annotated[list[str] | None, typer.Option(help="Orders that shipped this MAC.")] = None,
    page: Page = 1,
    page_size: PageSize = 100,
    all_pages: AllPages = False,
) -> None:
    """Order headers only (number, PO, status, total, entered, last changed)."""
    filters: SummaryFilters = _filters(  # type: ignore[assignment]
        sales_order_number=order,
        po_number=po_number,
        reference_number=reference_number,
        status=status,
        doc_type=doc_type,
        from_date=_day(from_date),
        to_date=_day(to_date),
        from_last_change_date=_day(from_last_change_date),
        to_last_change_date=_day(to_last_change_date),
        serial_numbers=serial,
        mac_addresses=mac,
    )

    search(ctx, customer, "summary", filters, page=page, page_size=page_size, all_pages=all_pages)


@api_app.command(epilog=exit_codes.API)
def serials(
    ctx: typer.Context,
    customer: Customer = None,
    order: OptOrder = None,
    po_number: PoNumber = None,
    invoice_number: Annotated[str | None, typer.Option(help="Invoice number.")] = None,
    serial: Annotated[list[str] | None, typer.Option(help="Look up this serial.")] = None,
    from_date: Day = None,
    to_date: Day = None,
    page: Page = 1,
    page_size: PageSize = 100,
    all_pages: AllPages = False,
) -> None:
    """Serial numbers billed to the account (dates are billing days)."""
    filters: SerialFilters = _filters(  # type: ignore[assignment]
        sales_order_number=order,
        po_number=po_number,
        invoice_number=invoice_number,
        serial_numbers=serial,
        from_date=_day(from_date),
        to_date=_day(to_date),
    )

    search(ctx, customer, "serials", filters, page=page, page_size=page_size, all_pages=all_pages)


@api_app.command(epilog=exit_codes.API)
def tracking(
    ctx: typer.Context,
    customer: Customer = None,
    order: Annotated[list[str] | None, typer.Option("--order", "-o", help="Order number.")] = None,
    po_number: Annotated[list[str] | None, typer.Option(help="PO number.")] = None,
) -> None:
    """Deliveries and carrier tracking numbers of orders (by order or PO number)."""
    if not order and not po_number:
        raise fail("tracking needs --order or --po-number", ExitCode.CONFIG)
    call(
        ctx,
        customer,
        lambda c, n: c.tracking(n, sales_order_numbers=order or (), po_numbers=po_number or ()),
    )


# -- requests ----------------------------------------------------------------------------------


def _line(text: str) -> ShipQuoteLine:
    from syncer.api.operation_models import ShipQuoteLine

    item, sep, quantity = text.rpartition("=")
    if not sep or not item or not quantity.isdigit():
        raise UsageError(f"--line {text!r}: use ITEM=QUANTITY, e.g. --line CIS-MR36HW=2")
    return ShipQuoteLine(item_number=item, quantity=int(quantity))


@api_app.command("ship-quote", epilog=exit_codes.API)
def ship_quote(
    ctx: typer.Context,
    customer: Customer = None,
    business_unit: Annotated[str | None, typer.Option(help="Business unit, e.g. 1700.")] = None,
    country: Annotated[str | None, typer.Option(help="Ship-to ISO country code.")] = None,
    postal_code: Annotated[str | None, typer.Option(help="Ship-to postal code.")] = None,
    state: Annotated[str | None, typer.Option(help="Ship-to state or province code.")] = None,
    line: Annotated[list[str] | None, typer.Option(help="ITEM=QUANTITY (repeat).")] = None,
    file: JsonFile = None,
) -> None:
    """Freight options and insurance for items to an address."""

    async def run(c: ScanSourceClient, n: str) -> Any:
        from syncer.api.operation_models import ShipQuoteRequest

        if file is not None:
            request = ShipQuoteRequest.model_validate(read_json(file))
        elif not (business_unit and country and line):
            raise UsageError("ship-quote needs --business-unit, --country and --line (or --file)")
        else:
            request = ShipQuoteRequest(
                business_unit=business_unit or "",
                ship_to_country_code=country or "",
                ship_to_postal_code=postal_code,
                ship_to_state_province_code=state,
                lines=[_line(x) for x in line or []],
            )
        return await c.ship_quote(n, request)

    call(ctx, customer, run)


@api_app.command(epilog=exit_codes.API)
def vrd(
    ctx: typer.Context,
    customer: Customer = None,
    business_unit: Annotated[str | None, typer.Option(help="Business unit, e.g. 1700.")] = None,
    item: Annotated[list[str] | None, typer.Option(help="ScanSource item number (repeat).")] = None,
    file: JsonFile = None,
) -> None:
    """Vendor-required data the items need before they can be ordered."""

    async def run(c: ScanSourceClient, n: str) -> Any:
        from syncer.api.operation_models import VrdRequest

        if file is not None:
            request = VrdRequest.model_validate(read_json(file))
        elif not (business_unit and item):
            raise UsageError("vrd needs --business-unit and --item (or --file)")
        else:
            request = VrdRequest(business_unit=business_unit or "", item_numbers=item or [])
        return await c.vrd(n, request)

    call(ctx, customer, run)


@api_app.command(epilog=exit_codes.API)
def create(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Option("--file", "-f", help="The PO (POAsync JSON, API field names); - for stdin."),
    ],
    customer: Customer = None,
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the order to appear (found by its PO number)."),
    ] = 0.0,
) -> None:
    """Place an order asynchronously; no order number comes back unless --wait finds it."""

    async def run(c: ScanSourceClient, n: str) -> Any:
        from syncer.api.operation_models import PurchaseOrder

        order = PurchaseOrder.model_validate(read_json(file))
        before = {s.order_number async for s in _summaries(c, n, order.po_number)}
        await c.create_order_async(n, order)
        accepted = {"Accepted": True, "PONumber": order.po_number}
        if wait <= 0:
            return accepted
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL_SECONDS)
            new = [
                s async for s in _summaries(c, n, order.po_number) if s.order_number not in before
            ]
            if new:
                return new
        raise SyncerError(
            f"order accepted, but no new order for PO {order.po_number} appeared within "
            f"{wait:g} s; look again later with `syncer api summary --po-number ...`"
        )

    call(ctx, customer, run)  # the client never repeats the create itself (see its docstring)


async def _summaries(c: ScanSourceClient, customer: str, po_number: str) -> AsyncIterator[Any]:
    async for page in c.iter_summary(customer, po_number=po_number):
        for row in page:
            yield row


@api_app.command(epilog=exit_codes.API)
def cancel(ctx: typer.Context, order: Order, customer: Customer = None) -> None:
    """Cancel an order (only while nothing has shipped); exit 1 if it was not cancelled."""

    async def run(c: ScanSourceClient, n: str) -> Any:
        result = await c.cancel_order(n, order)
        print_json(result)
        if not result.cancelled:
            reasons = "; ".join(e.message or e.code or "" for e in result.errors) or "no reason"
            raise SyncerError(f"order {order} was not cancelled: {reasons}")

    call(ctx, customer, run)
