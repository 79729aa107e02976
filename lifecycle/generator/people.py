"""Customers, gift recipients and address changes: names, postal addresses and flags, vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lifecycle.generator import text
from lifecycle.generator.catalogue import COUNTRIES

SEGMENTS = ("general", "student", "institution")
COUNTRY_WEIGHTS = (0.66, 0.08, 0.11, 0.04, 0.05, 0.02, 0.04)

FIRST_NAMES = (
    ("James", "james"),
    ("Mary", "mary"),
    ("Zoë", "zoe"),
    ("François", "francois"),
    ("Siobhán", "siobhan"),
    ("Björn", "bjorn"),
    ("José", "jose"),
    ("Aisha", "aisha"),
    ("Wei", "wei"),
    ("Priya", "priya"),
    ("Liam", "liam"),
    ("Olivia", "olivia"),
    ("Noah", "noah"),
    ("Emma", "emma"),
    ("Lucas", "lucas"),
    ("Sophie", "sophie"),
    ("Hannah", "hannah"),
    ("Jürgen", "jurgen"),
    ("Anne-Marie", "anne-marie"),
    ("Seán", "sean"),
    ("Chloé", "chloe"),
    ("Daan", "daan"),
    ("Sanne", "sanne"),
    ("Fatima", "fatima"),
    ("Kenji", "kenji"),
    ("Grace", "grace"),
    ("Oliver", "oliver"),
    ("Amelia", "amelia"),
    ("Ethan", "ethan"),
    ("Ava", "ava"),
    ("Mateo", "mateo"),
    ("Isabella", "isabella"),
    ("Henry", "henry"),
    ("Charlotte", "charlotte"),
    ("Daniel", "daniel"),
    ("Margaret", "margaret"),
    ("Robert", "robert"),
    ("Patricia", "patricia"),
    ("Thomas", "thomas"),
    ("Elena", "elena"),
)
LAST_NAMES = (
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("O'Brien", "obrien"),
    ("Müller", "muller"),
    ("García", "garcia"),
    ("Nguyen", "nguyen"),
    ("Dubois", "dubois"),
    ("Schmidt", "schmidt"),
    ("de Vries", "devries"),
    ("Murphy", "murphy"),
    ("Brown", "brown"),
    ("Williams", "williams"),
    ("Jones", "jones"),
    ("Taylor", "taylor"),
    ("Wilson", "wilson"),
    ("Martin", "martin"),
    ("Tremblay", "tremblay"),
    ("Roy", "roy"),
    ("Kelly", "kelly"),
    ("Walsh", "walsh"),
    ("Bernard", "bernard"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Jansen", "jansen"),
    ("Bakker", "bakker"),
    ("Patel", "patel"),
    ("Chen", "chen"),
    ("Kim", "kim"),
    ("Lee", "lee"),
    ("Anderson", "anderson"),
    ("Moore", "moore"),
    ("Jackson", "jackson"),
    ("White", "white"),
    ("Harris", "harris"),
    ("Clark", "clark"),
    ("Lewis", "lewis"),
    ("Robinson", "robinson"),
    ("Walker", "walker"),
    ("Young", "young"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Scott", "scott"),
    ("Hill", "hill"),
    ("Green", "green"),
    ("Adams", "adams"),
    ("Baker", "baker"),
    ("Carter", "carter"),
    ("Lefèvre", "lefevre"),
    ("Ó Súilleabháin", "osullivan"),
    ("Van der Berg", "vanderberg"),
)
ORGANISATIONS = (
    "Springfield Public Library",
    "Lakeside University, Department of History",
    "St. Mary's College Library",
    "Northfield School District",
    "The Ashcombe Institute",
    "Royal Society of Letters",
    "Bibliothèque municipale",
    "Stadtbibliothek Nord",
    "Harbour Hospital — Patients' Library",
    "Oak Ridge High School",
    "Smith & Partners LLP",
    "Meridian Reading Circle",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

#: (city, region, postal prefix) per country; postal codes are completed per country format.
CITIES = {
    "US": (
        ("Boston", "MA", "021"),
        ("Cambridge", "MA", "021"),
        ("Hartford", "CT", "061"),
        ("Newark", "NJ", "071"),
        ("Portland", "ME", "041"),
        ("Burlington", "VT", "054"),
        ("Providence", "RI", "029"),
        ("New York", "NY", "100"),
        ("Brooklyn", "NY", "112"),
        ("Philadelphia", "PA", "191"),
        ("Washington", "DC", "200"),
        ("Atlanta", "GA", "303"),
        ("Miami", "FL", "331"),
        ("Chicago", "IL", "606"),
        ("Madison", "WI", "537"),
        ("Minneapolis", "MN", "554"),
        ("Austin", "TX", "787"),
        ("Denver", "CO", "802"),
        ("Phoenix", "AZ", "850"),
        ("Seattle", "WA", "981"),
        ("Portland", "OR", "972"),
        ("San Francisco", "CA", "941"),
        ("Los Angeles", "CA", "900"),
        ("Nashville", "TN", "372"),
    ),
    "CA": (
        ("Toronto", "ON", "M5V"),
        ("Ottawa", "ON", "K1P"),
        ("Montréal", "QC", "H2X"),
        ("Québec", "QC", "G1R"),
        ("Vancouver", "BC", "V6B"),
        ("Calgary", "AB", "T2P"),
        ("Halifax", "NS", "B3H"),
        ("Winnipeg", "MB", "R3C"),
    ),
    "GB": (
        ("London", "", "SW1A"),
        ("London", "", "EC1V"),
        ("Manchester", "Greater Manchester", "M1"),
        ("Edinburgh", "", "EH1"),
        ("Bristol", "", "BS1"),
        ("Leeds", "West Yorkshire", "LS1"),
        ("Oxford", "Oxfordshire", "OX1"),
        ("Cardiff", "", "CF10"),
    ),
    "FR": (
        ("Paris", "Île-de-France", "750"),
        ("Lyon", "Auvergne-Rhône-Alpes", "690"),
        ("Bourg-en-Bresse", "Ain", "010"),
        ("Marseille", "Provence-Alpes-Côte d'Azur", "130"),
        ("Lille", "Hauts-de-France", "590"),
        ("Nice", "", "060"),
    ),
    "DE": (
        ("Berlin", "Berlin", "101"),
        ("Dresden", "Sachsen", "010"),
        ("Leipzig", "Sachsen", "041"),
        ("München", "Bayern", "803"),
        ("Hamburg", "Hamburg", "201"),
        ("Köln", "Nordrhein-Westfalen", "506"),
    ),
    "IE": (
        ("Dublin", "Co. Dublin", "D02"),
        ("Dublin", "Co. Dublin", "D04"),
        ("Cork", "Co. Cork", "T12"),
        ("Galway", "Co. Galway", "H91"),
        ("Limerick", "Co. Limerick", "V94"),
    ),
    "NL": (
        ("Amsterdam", "Noord-Holland", "101"),
        ("Utrecht", "Utrecht", "351"),
        ("Rotterdam", "Zuid-Holland", "301"),
        ("Den Haag", "Zuid-Holland", "251"),
        ("Groningen", "Groningen", "971"),
    ),
}
STREETS_EN = (
    "Main Street",
    "Oak Avenue",
    "Maple Drive",
    "High Street",
    "Church Road",
    "Elm Street",
    "Park Lane",
    "Cedar Court",
    "Mill Road",
    "Station Road",
    "King Street",
    "Queen Street",
    "Lake Shore Drive",
    "Harbour View",
    "Chestnut Street",
)
STREETS = {
    "US": STREETS_EN,
    "CA": STREETS_EN,
    "GB": STREETS_EN,
    "IE": STREETS_EN,
    "FR": (
        "rue de la Paix",
        "avenue Victor Hugo",
        "boulevard Saint-Germain",
        "rue des Écoles",
        "place Bellecour",
        "rue du Moulin",
    ),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Gartenweg", "Lindenallee", "Goethestraße"),
    "NL": ("Prinsengracht", "Keizersgracht", "Dorpsstraat", "Kerkstraat", "Stationsweg"),
}
SECOND_LINES = ("Apt 4B", "Suite 210", "Flat 3", "Unit 12", "c/o Reception", "Floor 2, Room 14", "PO Box 118")
_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


@dataclass
class Addresses:
    address_line1: pa.Array
    address_line2: pa.Array
    city: pa.Array
    region: pa.Array
    postal_code: pa.Array
    country: pa.Array


def _letters(rng: np.random.Generator, n: int) -> pa.Array:
    return pa.array(_LETTERS[rng.integers(0, len(_LETTERS), size=n)].tolist())


def _digits(rng: np.random.Generator, n: int, k: int = 1) -> pa.Array:
    return text.digit_text(rng, n, k)


def addresses(rng: np.random.Generator, country: np.ndarray) -> Addresses:
    """A postal address per row, in the row's country (index into COUNTRIES)."""
    n = len(country)
    cols: dict[str, list] = {k: [None] * n for k in ("line1", "line2", "city", "region", "postal")}
    order = np.argsort(country, kind="stable")
    pieces: list[tuple[np.ndarray, dict[str, pa.Array]]] = []
    for ci, code in enumerate(COUNTRIES):
        rows = order[country[order] == ci]
        m = len(rows)
        if m == 0:
            continue
        cities = CITIES[code]
        pick = rng.integers(0, len(cities), size=m)
        city = text.choose([c[0] for c in cities], pick)
        region = text.choose([c[1] for c in cities], pick)
        prefix = text.choose([c[2] for c in cities], pick)
        if code in ("US", "FR", "DE"):
            postal = text.join(prefix, _digits(rng, m, 2))
        elif code == "CA":
            postal = text.join(prefix, " ", _digits(rng, m), _letters(rng, m), _digits(rng, m))
        elif code == "GB":
            postal = text.join(prefix, " ", _digits(rng, m), _letters(rng, m), _letters(rng, m))
        elif code == "IE":
            postal = text.join(prefix, " ", _letters(rng, m), _digits(rng, m, 3))
        else:  # NL
            postal = text.join(prefix, _digits(rng, m), " ", _letters(rng, m), _letters(rng, m))
        street = text.choose(STREETS[code], rng.integers(0, len(STREETS[code]), size=m))
        number = text.integers(rng.integers(1, 400, size=m))
        line1 = text.join(street, " ", number) if code in ("DE", "NL") else text.join(number, " ", street)
        has_second = rng.random(m) < 0.18
        line2 = text.where(has_second, text.choose(SECOND_LINES, rng.integers(0, len(SECOND_LINES), size=m)))
        pieces.append((rows, {"line1": line1, "line2": line2, "city": city, "region": region, "postal": postal}))
    # put the per-country pieces back in row order
    all_rows = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, dtype=np.int64)
    back = pa.array(np.argsort(all_rows, kind="stable"))
    merged = {k: pa.concat_arrays([p[1][k] for p in pieces]).take(back) if pieces else text.empty(0) for k in cols}
    return Addresses(
        merged["line1"],
        merged["line2"],
        merged["city"],
        merged["region"],
        merged["postal"],
        text.choose(COUNTRIES, country),
    )


@dataclass
class Customers:
    n: int
    country: np.ndarray
    segment: np.ndarray
    deceased: np.ndarray
    tax_exempt: np.ndarray
    text: dict[str, pa.Array]  # contract columns except customer_id


def names(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, len(FIRST_NAMES), size=n), rng.integers(0, len(LAST_NAMES), size=n)


def full_names(first: np.ndarray, last: np.ndarray) -> pa.Array:
    return text.join(
        text.choose([f[0] for f in FIRST_NAMES], first), " ", text.choose([x[0] for x in LAST_NAMES], last)
    )


def customers(rng: np.random.Generator, n: int, id_width: int) -> Customers:
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    segment = rng.choice(3, size=n, p=(0.88, 0.08, 0.04))
    first, last = names(rng, n)
    institution = segment == 2
    org = text.where(institution, text.choose(ORGANISATIONS, rng.integers(0, len(ORGANISATIONS), size=n)))
    has_email = rng.random(n) < np.where(institution, 0.97, 0.88)
    local = text.join(
        text.choose([f[1] for f in FIRST_NAMES], first),
        ".",
        text.choose([x[1] for x in LAST_NAMES], last),
        pc.utf8_lpad(text.integers(np.arange(1, n + 1)), id_width, "0"),
    )
    email = text.where(has_email, text.join(local, "@", text.choose(EMAIL_DOMAINS, rng.integers(0, 4, size=n))))
    deceased = (rng.random(n) < 0.004) & ~institution
    addr = addresses(rng, country)
    columns = {
        "first_name": text.choose([f[0] for f in FIRST_NAMES], first),
        "last_name": text.choose([x[0] for x in LAST_NAMES], last),
        "organisation": org,
        "address_line1": addr.address_line1,
        "address_line2": addr.address_line2,
        "city": addr.city,
        "region": addr.region,
        "postal_code": addr.postal_code,
        "country": addr.country,
        "email": email,
        "segment": text.choose(SEGMENTS, segment),
        "email_opt_in": text.booleans(has_email & (rng.random(n) < 0.45)),
        "mail_opt_in": text.booleans(rng.random(n) < 0.30),
        "do_not_contact": text.booleans(rng.random(n) < 0.02),
        "deceased": text.booleans(deceased),
        "undeliverable": text.booleans(rng.random(n) < 0.01),
    }
    tax_exempt = institution & (rng.random(n) < 0.5)
    return Customers(n=n, country=country, segment=segment, deceased=deceased, tax_exempt=tax_exempt, text=columns)
