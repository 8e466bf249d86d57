"""Per-account reference data: the customer's name, addresses, reps and buyers.

Built once per customer number when a Simulator starts; every order of the account draws
from its book, so an account looks like one company rather than random noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from syncer.sim.catalog import CITIES, COMPANY_WORDS, PEOPLE, STREETS
from syncer.sim.codes import seed_int

SHIP_TO_COUNT = 12


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    attn: str | None
    street1: str
    street2: str | None
    city: str
    state: str
    postal_code: str
    country: str


@dataclass(frozen=True, slots=True)
class Rep:
    code: str
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class CustomerBook:
    customer_number: str
    ordinal: int  # position among all customers; makes order numbers unique across accounts
    company: str
    domain: str
    billing: Address
    ship_tos: tuple[Address, ...]
    currencies: tuple[str, ...]  # per ship-to: orders are priced in the destination's currency
    reps: tuple[Rep, ...]
    buyers: tuple[str, ...]
    po_style: int


def _email(name: str, domain: str) -> str:
    first, _, last = name.partition(" ")
    ascii_name = f"{first[0]}{last}".encode("ascii", "ignore").decode().replace("'", "")
    return f"{ascii_name.lower()}@{domain}"


def _address(rng: random.Random, name: str, city_index: int) -> Address:
    city, state, postal, country, _ = CITIES[city_index]
    street2 = rng.choice((None, None, f"Suite {rng.randint(1, 9)}00", f"Bldg {rng.randint(1, 6)}"))
    return Address(
        name=name,
        attn=rng.choice((None, rng.choice(PEOPLE), "Receiving")),
        street1=f"{rng.randint(10, 9999)} {rng.choice(STREETS)}",
        street2=street2,
        city=city,
        state=state,
        postal_code=postal,
        country=country,
    )


def _pick_city(rng: random.Random) -> int:
    region = rng.random()
    if region < 0.75:
        return rng.randrange(0, 18)  # US
    if region < 0.87:
        return rng.randrange(18, 21)  # Canada
    if region < 0.93:
        return rng.randrange(21, 23)  # UK
    return rng.randrange(23, len(CITIES))  # euro zone


def build_book(seed: int, customer_number: str, ordinal: int) -> CustomerBook:
    rng = random.Random(seed_int(seed, "book", customer_number))
    company = f"{rng.choice(COMPANY_WORDS[0])} {rng.choice(COMPANY_WORDS[1])}"
    domain = company.split()[0].lower() + rng.choice((".com", ".net", "-tech.com"))
    hq = rng.randrange(0, 18)
    billing = _address(rng, f"{company} Inc.", hq)
    cities = [hq] + [_pick_city(rng) for _ in range(SHIP_TO_COUNT - 1)]
    ship_tos = tuple(
        _address(rng, company if i == 0 else f"{company} - {CITIES[c][0]}", c)
        for i, c in enumerate(cities)
    )
    rep_names = rng.sample(PEOPLE, 3)
    reps = tuple(
        Rep(f"R{rng.randint(100, 999)}", n, _email(n, "scansource.com")) for n in rep_names
    )
    buyers = tuple(_email(n, domain) for n in rng.sample(PEOPLE, 4))
    return CustomerBook(
        customer_number=customer_number,
        ordinal=ordinal,
        company=company,
        domain=domain,
        billing=billing,
        ship_tos=ship_tos,
        currencies=tuple(CITIES[c][4] for c in cities),
        reps=reps,
        buyers=buyers,
        po_style=ordinal % 3,
    )
