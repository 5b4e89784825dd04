"""Field definitions for noisy summaries: declared categories, histogram bins and clipping bounds.

Everything here is written by hand from the standards and never read from the data: which
labels a noisy answer shows, and how large its noise must be, may not depend on the records it
protects (a category that appears only because one person has it would give that person away).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from fairdb.models import Sample
from fairdb.models.sample import age_in_years

# Fixed bucket labels: a record outside the declared categories, and a record without a value.
OTHER = "other"
NOT_RECORDED = "not recorded"

# MIxS 7 host_sex, "Expected_value: enumeration" (checklists/mixs/mixs.yaml, string_serialization);
# the checklist JSON has no enum for it, so it is copied here (a test keeps the two in step).
HOST_SEX = (
    "female",
    "hermaphrodite",
    "male",
    "non-binary",
    "transgender",
    "transgender (female to male)",
    "transgender (male to female)",
    "undeclared",
)

# The INSDC /country (geo_loc_name) controlled vocabulary, version of 2021-10-25, current names
# only: https://www.insdc.org/submitting-standards/country-qualifier-vocabulary/
_INSDC_TEXT = """
Afghanistan; Albania; Algeria; American Samoa; Andorra; Angola; Anguilla; Antarctica;
Antigua and Barbuda; Arctic Ocean; Argentina; Armenia; Aruba; Ashmore and Cartier Islands;
Atlantic Ocean; Australia; Austria; Azerbaijan; Bahamas; Bahrain; Baltic Sea; Baker Island;
Bangladesh; Barbados; Bassas da India; Belarus; Belgium; Belize; Benin; Bermuda; Bhutan; Bolivia;
Borneo; Bosnia and Herzegovina; Botswana; Bouvet Island; Brazil; British Virgin Islands; Brunei;
Bulgaria; Burkina Faso; Burundi; Cambodia; Cameroon; Canada; Cape Verde; Cayman Islands;
Central African Republic; Chad; Chile; China; Christmas Island; Clipperton Island; Cocos Islands;
Colombia; Comoros; Cook Islands; Coral Sea Islands; Costa Rica; Cote d'Ivoire; Croatia; Cuba;
Curacao; Cyprus; Czechia; Democratic Republic of the Congo; Denmark; Djibouti; Dominica;
Dominican Republic; Ecuador; Egypt; El Salvador; Equatorial Guinea; Eritrea; Estonia; Eswatini;
Ethiopia; Europa Island; Falkland Islands (Islas Malvinas); Faroe Islands; Fiji; Finland; France;
French Guiana; French Polynesia; French Southern and Antarctic Lands; Gabon; Gambia; Gaza Strip;
Georgia; Germany; Ghana; Gibraltar; Glorioso Islands; Greece; Greenland; Grenada; Guadeloupe; Guam;
Guatemala; Guernsey; Guinea; Guinea-Bissau; Guyana; Haiti; Heard Island and McDonald Islands;
Honduras; Hong Kong; Howland Island; Hungary; Iceland; India; Indian Ocean; Indonesia; Iran; Iraq;
Ireland; Isle of Man; Israel; Italy; Jamaica; Jan Mayen; Japan; Jarvis Island; Jersey;
Johnston Atoll; Jordan; Juan de Nova Island; Kazakhstan; Kenya; Kerguelen Archipelago;
Kingman Reef; Kiribati; Kosovo; Kuwait; Kyrgyzstan; Laos; Latvia; Lebanon; Lesotho; Liberia; Libya;
Liechtenstein; Line Islands; Lithuania; Luxembourg; Macau; Madagascar; Malawi; Malaysia; Maldives;
Mali; Malta; Marshall Islands; Martinique; Mauritania; Mauritius; Mayotte; Mediterranean Sea;
Mexico; Micronesia, Federated States of; Midway Islands; Moldova; Monaco; Mongolia; Montenegro;
Montserrat; Morocco; Mozambique; Myanmar; Namibia; Nauru; Navassa Island; Nepal; Netherlands;
New Caledonia; New Zealand; Nicaragua; Niger; Nigeria; Niue; Norfolk Island; North Korea;
North Macedonia; North Sea; Northern Mariana Islands; Norway; Oman; Pacific Ocean; Pakistan; Palau;
Palmyra Atoll; Panama; Papua New Guinea; Paracel Islands; Paraguay; Peru; Philippines;
Pitcairn Islands; Poland; Portugal; Puerto Rico; Qatar; Republic of the Congo; Reunion; Romania;
Ross Sea; Russia; Rwanda; Saint Barthelemy; Saint Helena; Saint Kitts and Nevis; Saint Lucia;
Saint Martin; Saint Pierre and Miquelon; Saint Vincent and the Grenadines; Samoa; San Marino;
Sao Tome and Principe; Saudi Arabia; Senegal; Serbia; Seychelles; Sierra Leone; Singapore;
Sint Maarten; Slovakia; Slovenia; Solomon Islands; Somalia; South Africa;
South Georgia and the South Sandwich Islands; South Korea; South Sudan; Southern Ocean; Spain;
Spratly Islands; Sri Lanka; State of Palestine; Sudan; Suriname; Svalbard; Sweden; Switzerland;
Syria; Taiwan; Tajikistan; Tanzania; Tasman Sea; Thailand; Timor-Leste; Togo; Tokelau; Tonga;
Trinidad and Tobago; Tromelin Island; Tunisia; Turkey; Turkmenistan; Turks and Caicos Islands;
Tuvalu; USA; Uganda; Ukraine; United Arab Emirates; United Kingdom; Uruguay; Uzbekistan; Vanuatu;
Venezuela; Viet Nam; Virgin Islands; Wake Island; Wallis and Futuna; West Bank; Western Sahara;
Yemen; Zambia; Zimbabwe
"""
INSDC_COUNTRIES = tuple(name.strip() for name in _INSDC_TEXT.split(";"))


@dataclass(frozen=True)
class CategoricalField:
    """A field counted per declared value; values are matched case-insensitively."""

    title: str
    column: Any  # the SQL expression of the stored value
    categories: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.categories, OTHER, NOT_RECORDED)


@dataclass(frozen=True)
class NumericField:
    """A numeric field: values are clipped to [lower, upper]; bins are [edge, next edge)."""

    title: str
    unit: str
    expression: Any  # the SQL expression of the value in `unit`, NULL when unusable
    edges: tuple[float, ...]  # first edge: the lower bound; last edge: the upper bound

    @property
    def lower(self) -> float:
        return self.edges[0]

    @property
    def upper(self) -> float:
        return self.edges[-1]

    @property
    def sum_sensitivity(self) -> float:
        """How far adding or removing one record can move the sum of clipped values."""
        return max(abs(self.lower), abs(self.upper))

    @property
    def labels(self) -> tuple[str, ...]:
        bins = [f"{low:g}–{high:g}" for low, high in pairwise(self.edges)]
        return (*bins, f"outside {self.lower:g}–{self.upper:g}", NOT_RECORDED)


# Field definitions, not observations: a human is 0 to 120 years old (decades, the last bin
# 100-120); a body mass index lies between 10 and 70 kg/m² (WHO classes inside it).
CATEGORICAL: dict[str, CategoricalField] = {
    "host_sex": CategoricalField("Host sex", Sample.host_sex, HOST_SEX),
    "geo_country": CategoricalField("Country", Sample.geo_country, INSDC_COUNTRIES),
}
NUMERIC: dict[str, NumericField] = {
    "host_age": NumericField(
        "Host age",
        "years",
        age_in_years,
        (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120),
    ),
    "host_body_mass_index": NumericField(
        "Body mass index",
        "kg/m²",
        Sample.host_body_mass_index,
        (10, 18.5, 25, 30, 35, 40, 50, 70),
    ),
}
