"""Static reference data the generator draws from: products, places, people, carriers.

Plain literals only; anything seeded is built from these by `books` and `plan`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Product:
    """One product family; the generator derives a few variants of each."""

    mfr_code: str
    mfr_part: str
    description: str
    matl_grp: tuple[str, str]
    price_usd: int  # whole dollars, list price of the base variant
    weight_lb: float
    serialised: bool
    oui: str | None  # network products carry a MAC address from this vendor prefix
    serial_prefix: str


PRODUCTS: tuple[Product, ...] = (
    Product(
        "ZEB",
        "ZT41142-T010000Z",
        "Zebra ZT411 Industrial Printer 203dpi",
        ("0110", "Barcode Printers"),
        1795,
        36.0,
        True,
        "00:07:4D",
        "99J",
    ),
    Product(
        "ZEB",
        "ZD4A042-D01M00EZ",
        "Zebra ZD421 Desktop Printer DT 203dpi",
        ("0110", "Barcode Printers"),
        455,
        5.5,
        True,
        "00:07:4D",
        "D4J",
    ),
    Product(
        "ZEB",
        "DS2208-SR7U2100AZW",
        "Zebra DS2208 Handheld Scanner Kit USB",
        ("0120", "Barcode Scanners"),
        112,
        1.1,
        True,
        None,
        "S21",
    ),
    Product(
        "ZEB",
        "TC520K-1PEZU4P-NA",
        "Zebra TC52 Mobile Computer Android WLAN",
        ("0130", "Mobile Computers"),
        1295,
        1.4,
        True,
        "94:FB:29",
        "21",
    ),
    Product(
        "ZEB",
        "10015340",
        "Zebra Z-Perform 1000D 4x6 Labels (case)",
        ("0140", "Labels & Ribbons"),
        36,
        14.0,
        False,
        None,
        "",
    ),
    Product(
        "ZEB",
        "05319BK11045",
        "Zebra 5319 Wax Ribbon 110mm x 450m",
        ("0140", "Labels & Ribbons"),
        18,
        0.9,
        False,
        None,
        "",
    ),
    Product(
        "HON",
        "1950GSR-2USB",
        "Honeywell Xenon XP 1950g Scanner Kit",
        ("0120", "Barcode Scanners"),
        229,
        1.2,
        True,
        None,
        "20",
    ),
    Product(
        "HON",
        "CT40-L1N-27R1ENG",
        "Honeywell CT40 Mobile Computer WLAN",
        ("0130", "Mobile Computers"),
        1149,
        1.3,
        True,
        "00:10:40",
        "20",
    ),
    Product(
        "HON",
        "CBL-500-300-S00",
        "Honeywell USB Cable Type A 3m",
        ("0710", "Accessories & Cables"),
        22,
        0.3,
        False,
        None,
        "",
    ),
    Product(
        "CIS",
        "C9200L-24P-4G-E",
        "Cisco Catalyst 9200L 24-port PoE+ Switch",
        ("0210", "Networking"),
        2590,
        11.0,
        True,
        "00:1B:54",
        "FOC",
    ),
    Product(
        "CIS",
        "MR36-HW",
        "Cisco Meraki MR36 Wi-Fi 6 Access Point",
        ("0220", "Wireless"),
        599,
        1.8,
        True,
        "E0:CB:BC",
        "Q3AB",
    ),
    Product(
        "AXI",
        "02328-001",
        "AXIS P3265-LVE Dome Camera",
        ("0310", "IP Video"),
        949,
        3.3,
        True,
        "AC:CC:8E",
        "B8A4",
    ),
    Product(
        "AXI",
        "5900-334",
        "AXIS T8134 60 W Midspan",
        ("0310", "IP Video"),
        209,
        1.5,
        True,
        None,
        "T81",
    ),
    Product(
        "POL",
        "2200-48840-025",
        "Poly VVX 450 Business IP Phone",
        ("0410", "Voice Endpoints"),
        289,
        2.9,
        True,
        "64:16:7F",
        "64167F",
    ),
    Product(
        "POL",
        "203660-101",
        "Poly Voyager Focus 2 UC Headset",
        ("0420", "Headsets"),
        189,
        0.6,
        True,
        None,
        "3V2",
    ),
    Product(
        "YEA",
        "SIP-T54W",
        "Yealink SIP-T54W Prime Business Phone",
        ("0410", "Voice Endpoints"),
        189,
        2.6,
        True,
        "80:5E:C0",
        "8010",
    ),
    Product(
        "EPS",
        "C31CJ57212",
        "Epson TM-T88VII Receipt Printer Ethernet",
        ("0510", "POS Printers"),
        329,
        3.7,
        True,
        "64:EB:8C",
        "X7",
    ),
    Product(
        "ELO",
        "E155645",
        "Elo 1502L 15-inch Touchscreen Monitor",
        ("0520", "Touch Displays"),
        519,
        11.5,
        True,
        None,
        "D2",
    ),
    Product(
        "APC",
        "BR1500MS2",
        "APC Back-UPS Pro 1500VA",
        ("0610", "Power"),
        229,
        26.0,
        True,
        None,
        "3B",
    ),
    Product(
        "ERG",
        "45-241-026",
        "Ergotron LX Wall Mount Arm",
        ("0710", "Accessories & Cables"),
        179,
        6.8,
        False,
        None,
        "",
    ),
    Product(
        "GEN",
        "C6PATCH-7-BL",
        "Cat6 Patch Cable 7ft Blue (10-pack)",
        ("0710", "Accessories & Cables"),
        12,
        1.0,
        False,
        None,
        "",
    ),
)

# Variant suffix and price factor: a small, plausible spread of part numbers per family.
VARIANTS: tuple[tuple[str, str, float], ...] = (
    ("", "", 1.0),
    ("-NA", " (North America)", 1.0),
    ("-EU", " (Europe)", 1.04),
    ("-BDL", " Bundle", 1.18),
    ("-R", " Refurbished", 0.72),
)

# (city, state, postal code, country, currency)
CITIES: tuple[tuple[str, str, str, str, str], ...] = (
    ("Greenville", "SC", "29615", "US", "USD"),
    ("Atlanta", "GA", "30303", "US", "USD"),
    ("Charlotte", "NC", "28202", "US", "USD"),
    ("Dallas", "TX", "75201", "US", "USD"),
    ("Houston", "TX", "77002", "US", "USD"),
    ("Phoenix", "AZ", "85004", "US", "USD"),
    ("Denver", "CO", "80202", "US", "USD"),
    ("Chicago", "IL", "60601", "US", "USD"),
    ("Columbus", "OH", "43215", "US", "USD"),
    ("Nashville", "TN", "37203", "US", "USD"),
    ("Orlando", "FL", "32801", "US", "USD"),
    ("Seattle", "WA", "98101", "US", "USD"),
    ("Portland", "OR", "97204", "US", "USD"),
    ("Minneapolis", "MN", "55401", "US", "USD"),
    ("Boston", "MA", "02110", "US", "USD"),
    ("Newark", "NJ", "07102", "US", "USD"),
    ("Salt Lake City", "UT", "84101", "US", "USD"),
    ("San Jose", "CA", "95113", "US", "USD"),
    ("Toronto", "ON", "M5H 2N2", "CA", "CAD"),
    ("Montréal", "QC", "H2Y 1C6", "CA", "CAD"),
    ("Calgary", "AB", "T2P 1J9", "CA", "CAD"),
    ("Manchester", "ENG", "M1 1AE", "GB", "GBP"),
    ("Birmingham", "ENG", "B2 4QA", "GB", "GBP"),
    ("Düsseldorf", "NW", "40213", "DE", "EUR"),
    ("München", "BY", "80331", "DE", "EUR"),
    ("Lyon", "ARA", "69002", "FR", "EUR"),
    ("Utrecht", "UT", "3511", "NL", "EUR"),
)

STREETS: tuple[str, ...] = (
    "Innovation Dr",
    "Commerce Pkwy",
    "Main St",
    "Industrial Blvd",
    "Market St",
    "Harbor Way",
    "Enterprise Ave",
    "Logistics Ct",
    "Elm St",
    "Distribution Rd",
    "Technology Pl",
    "Park Ave",
)

COMPANY_WORDS: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "Acme",
        "Bluewater",
        "Northwind",
        "Summit",
        "Keystone",
        "Redwood",
        "Ironbridge",
        "Lakeside",
        "Pinnacle",
        "Crescent",
        "Harbor",
        "Frontier",
    ),
    (
        "Systems",
        "Technologies",
        "Integrators",
        "Solutions",
        "Networks",
        "Retail Tech",
        "Data Services",
        "Communications",
    ),
)

PEOPLE: tuple[str, ...] = (
    "Alex Morgan",
    "Jordan Lee",
    "Sam Patel",
    "Taylor Brooks",
    "Chris Nguyen",
    "Dana Kim",
    "José Núñez",
    "Zoë Hartmann",
    "Søren Lindqvist",
    "François Dubois",
    "Priya Raman",
    "Mei Chen",
    "Liam O'Brien",
    "Fatima Al-Sayed",
    "Noah Williams",
    "Ava Johnson",
)

MEMOS: tuple[str, ...] = (
    "Please ship complete.",
    "Deliver to dock 4, receiving hours 8am-3pm.",
    "Call before delivery: 864-555-0142",
    "Customer needs by end of month — expedite if possible.",
    "Bitte Lieferschein beilegen – Lager Süd, Tor 3.",
    "Livraison à l'entrepôt, quai n° 2. Merci !",
    "请在周五前发货 (ship before Friday).",
    "Project: store refresh wave 2 / 店舗改装",
    "Resale certificate on file. Ref. ticket #48213.",
    "Ship with order 2 of 3; label each carton with store number.",
)

# (description, carrier code or None for "best way", tracking type)
SHIPPING_OPTIONS: dict[str, tuple[tuple[str, str | None, str], ...]] = {
    "US": (
        ("UPS Ground", "UPS", "GROUND"),
        ("UPS 2nd Day Air", "UPS", "2DAY"),
        ("UPS Next Day Air", "UPS", "NEXTDAY"),
        ("FedEx Ground", "FEDEX", "GROUND"),
        ("FedEx 2Day", "FEDEX", "2DAY"),
        ("USPS Priority Mail", "USPS", "PRIORITY"),
        ("LTL Freight", "RLCA", "LTL"),
        ("Best Way", None, "GROUND"),
    ),
    "CA": (
        ("Purolator Ground", "PUROLATOR", "GROUND"),
        ("UPS Standard", "UPS", "GROUND"),
        ("FedEx Ground", "FEDEX", "GROUND"),
        ("Best Way", None, "GROUND"),
    ),
    "EU": (
        ("DHL Express Worldwide", "DHL", "EXPRESS"),
        ("DPD Classic", "DPD", "GROUND"),
        ("UPS Standard", "UPS", "GROUND"),
        ("Best Way", None, "GROUND"),
    ),
    "GB": (
        ("Royal Mail Tracked 48", "ROYALMAIL", "TRACKED"),
        ("DHL Express Worldwide", "DHL", "EXPRESS"),
        ("UPS Standard", "UPS", "GROUND"),
        ("Best Way", None, "GROUND"),
    ),
}

BEST_WAY_CARRIERS: dict[str, tuple[str, ...]] = {
    "US": ("UPS", "UPS", "FEDEX", "USPS"),
    "CA": ("PUROLATOR", "UPS", "FEDEX"),
    "EU": ("DHL", "UPS", "DPD"),
    "GB": ("ROYALMAIL", "DHL", "UPS"),
}

# Approximate price factors from USD list prices.
FX: dict[str, float] = {"USD": 1.0, "CAD": 1.36, "EUR": 0.92, "GBP": 0.79}

REJECT_REASON_CANCELLED = "Cancelled at customer request"
DELIVERY_SHIPPED = "Shipped"

# ScanSource's service-level codes (what create-order takes as ShipMethodServiceLevelCode), by
# shipping option description; "PGD" (parcel ground, best way) is the portal's own example.
SERVICE_LEVELS: dict[str, str] = {
    "UPS Ground": "UGD",
    "UPS 2nd Day Air": "U2D",
    "UPS Next Day Air": "U1D",
    "FedEx Ground": "FGD",
    "FedEx 2Day": "F2D",
    "USPS Priority Mail": "UPM",
    "LTL Freight": "LTL",
    "Best Way": "PGD",
    "Purolator Ground": "PUR",
    "UPS Standard": "UST",
    "DHL Express Worldwide": "DHX",
    "DPD Classic": "DPD",
    "Royal Mail Tracked 48": "RM48",
}

# Orders are priced in the destination's currency.
REGION_CURRENCY: dict[str, str] = {"US": "USD", "CA": "CAD", "GB": "GBP", "EU": "EUR"}


def region_of(country: str) -> str:
    """Shipping region of an ISO country code: US, CA, GB, or EU for anywhere else."""
    return country if country in ("US", "CA", "GB") else "EU"


# (id, description, length, required, type, choices): vendor-required data per manufacturer.
VrdField = tuple[str, str, int, bool, str, tuple[tuple[str, str], ...]]
_END_USER: VrdField = ("EU_NAME", "End user company name", 60, True, "Text", ())
_END_USER_COUNTRY: VrdField = (
    "EU_COUNTRY",
    "End user country",
    2,
    True,
    "ComboBox",
    (("US", "United States"), ("CA", "Canada"), ("GB", "United Kingdom"), ("DE", "Germany"),
     ("FR", "France"), ("NL", "Netherlands")),
)  # fmt: skip
VRD_FIELDS: dict[str, tuple[VrdField, ...]] = {
    "CIS": (
        _END_USER,
        _END_USER_COUNTRY,
        ("CISCO_DEAL_ID", "Cisco deal ID (SPA)", 20, False, "Text", ()),
    ),
    "AXI": (_END_USER, ("PROJECT", "Installation project name", 40, False, "Text", ())),
    "POL": (_END_USER, ("INSTALL_DATE", "Planned installation date", 10, False, "Date", ())),
    "YEA": (_END_USER, ("INSTALL_DATE", "Planned installation date", 10, False, "Date", ())),
}
