"""Place generalisation for de-identification: geo_loc_name up to its UN region, lat_lon by grid."""

from __future__ import annotations

import polars as pl

from fairdb.services.privacy.hierarchies_core import fixed_point, scaled

UNLISTED = "(unlisted country)"

# The INSDC country list (https://www.insdc.org/country.html, which MIxS geo_loc_name points to;
# the checklist data under fairdb/checklists carries no copy), with the former names INSDC still
# lists, grouped by UN M49 region. M49 has no place for Antarctica and the seas, so they get their
# own groups. Territories follow M49 too: Bouvet Island sits in the Americas, French Southern lands
# in Africa, Christmas and Cocos Islands in Oceania.
_REGIONS: dict[str, str] = {
    "Africa": (
        "Algeria;Angola;Bassas da India;Belgian Congo;Benin;Botswana;"
        "British Indian Ocean Territory;Burkina Faso;Burundi;Cabo Verde;Cameroon;Cape Verde;"
        "Central African Republic;Chad;"
        "Comoros;Cote d'Ivoire;Democratic Republic of the Congo;Djibouti;Egypt;"
        "Equatorial Guinea;Eritrea;Eswatini;Ethiopia;Europa Island;"
        "French Southern and Antarctic Lands;Gabon;Gambia;Ghana;Glorioso Islands;Guinea;"
        "Guinea-Bissau;Juan de Nova Island;Kenya;Kerguelen Archipelago;Lesotho;Liberia;Libya;"
        "Madagascar;Malawi;Mali;Mauritania;Mauritius;Mayotte;Morocco;Mozambique;Namibia;Niger;"
        "Nigeria;Republic of the Congo;Reunion;Rwanda;Saint Helena;Sao Tome and Principe;Senegal;"
        "Seychelles;Sierra Leone;Somalia;South Africa;South Sudan;Sudan;Swaziland;Tanzania;Togo;"
        "Tromelin Island;Tunisia;Uganda;Western Sahara;Zaire;Zambia;Zimbabwe"
    ),
    "Americas": (
        "Anguilla;Antigua and Barbuda;Argentina;Aruba;Bahamas;Barbados;Belize;Bermuda;Bolivia;"
        "Bonaire;Bouvet Island;Brazil;British Guiana;British Virgin Islands;Canada;"
        "Cayman Islands;Chile;Clipperton Island;Colombia;Costa Rica;Cuba;Curacao;Dominica;"
        "Dominican Republic;Ecuador;El Salvador;Falkland Islands (Islas Malvinas);French Guiana;"
        "Greenland;Grenada;Guadeloupe;Guatemala;Guyana;Haiti;Honduras;Jamaica;Martinique;Mexico;"
        "Montserrat;Navassa Island;Netherlands Antilles;Nicaragua;Panama;Paraguay;Peru;"
        "Puerto Rico;Saint Barthelemy;Saint Kitts and Nevis;Saint Lucia;Saint Martin;"
        "Saint Pierre and Miquelon;Saint Vincent and the Grenadines;Sint Maarten;"
        "South Georgia and the South Sandwich Islands;Suriname;Trinidad and Tobago;"
        "Turks and Caicos Islands;United States;United States of America;Uruguay;USA;Venezuela;"
        "Virgin Islands"
    ),
    "Asia": (
        "Afghanistan;Armenia;Azerbaijan;Bahrain;Bangladesh;Bhutan;Borneo;Brunei;Burma;Cambodia;"
        "China;Cyprus;East Timor;Gaza Strip;Georgia;Hong Kong;India;Indonesia;Iran;Iraq;Israel;"
        "Japan;Jordan;Kazakhstan;Korea;Kuwait;Kyrgyzstan;Laos;Lebanon;Macau;Malaysia;Maldives;"
        "Mongolia;Myanmar;Nepal;North Korea;Oman;Pakistan;Paracel Islands;Philippines;Qatar;"
        "Saudi Arabia;Siam;Singapore;South Korea;Spratly Islands;Sri Lanka;State of Palestine;"
        "Syria;Taiwan;Tajikistan;Thailand;Timor-Leste;Turkey;Turkiye;Turkmenistan;"
        "United Arab Emirates;Uzbekistan;Viet Nam;Vietnam;West Bank;Yemen"
    ),
    "Europe": (
        "Albania;Andorra;Austria;Belarus;Belgium;Bosnia and Herzegovina;Bulgaria;Croatia;"
        "Czech Republic;Czechia;Czechoslovakia;Denmark;Estonia;Faroe Islands;Finland;France;"
        "Germany;Gibraltar;Greece;Guernsey;Hungary;Iceland;Ireland;Isle of Man;Italy;Jan Mayen;"
        "Jersey;Kosovo;Latvia;Liechtenstein;Lithuania;Luxembourg;Macedonia;Malta;Moldova;Monaco;"
        "Montenegro;Netherlands;North Macedonia;Norway;Poland;Portugal;Romania;Russia;San Marino;"
        "Serbia;Serbia and Montenegro;Slovakia;Slovenia;Spain;Svalbard;Sweden;Switzerland;"
        "Ukraine;United Kingdom;USSR;Yugoslavia"
    ),
    "Oceania": (
        "American Samoa;Ashmore and Cartier Islands;Australia;Baker Island;Christmas Island;"
        "Cocos Islands;Cook Islands;Coral Sea Islands;Fiji;French Polynesia;Guam;"
        "Heard Island and McDonald Islands;Howland Island;Jarvis Island;Johnston Atoll;"
        "Kingman Reef;Kiribati;Line Islands;Marshall Islands;Micronesia;"
        "Micronesia, Federated States of;Midway Islands;Nauru;New Caledonia;New Zealand;Niue;"
        "Norfolk Island;Northern Mariana Islands;Palau;Palmyra Atoll;Papua New Guinea;"
        "Pitcairn Islands;Samoa;Solomon Islands;Tokelau;Tonga;Tuvalu;Vanuatu;Wake Island;"
        "Wallis and Futuna"
    ),
    "Antarctica": "Antarctica",
    "Ocean or sea": (
        "Arctic Ocean;Atlantic Ocean;Baltic Sea;Indian Ocean;Mediterranean Sea;North Sea;"
        "Pacific Ocean;Ross Sea;Southern Ocean;Tasman Sea"
    ),
}

# Looked up in lower case: uploads write "usa" or "GERMANY" as often as the INSDC spelling.
COUNTRY_REGION: dict[str, str] = {
    country.lower(): region for region, names in _REGIONS.items() for country in names.split(";")
}

GEO_LEVELS = (
    "country: region, place (as recorded)",
    "country: region",
    "country",
    "continent (UN M49 region)",
    "suppressed",
)
LAT_LON_LEVELS = (
    "0.01 degree (about 1 km)",
    "0.1 degree (about 11 km)",
    "1 degree (about 110 km)",
    "10 degrees",
    "suppressed",
)


def geo_value() -> pl.Expr:
    """geo_loc_name as "Country: region, place" from the typed columns (null: no country).

    A place without a region is written "Country: , place", as the uploader must have written it
    for the validator to read it that way; the region level then falls back to the country.
    """
    country, region, place = pl.col("geo_country"), pl.col("geo_region"), pl.col("geo_place")
    tail = pl.when(place.is_not_null()).then(pl.lit(", ") + place).otherwise(pl.lit(""))
    return (
        pl.when(region.is_not_null() | place.is_not_null())
        .then(pl.concat_str([country, pl.lit(": "), region.fill_null(""), tail]))
        .otherwise(country)
    )


def geo_step(value: pl.Expr, level: int) -> pl.Expr:
    """A geo_loc_name value at level 1-3. The country is what precedes the first colon (ingest
    splits there, so a country never holds one) and the region what follows, up to the first
    comma; so each level can be read back from the level below, which keeps them nested."""
    country = value.str.extract(r"^([^:]*)", 1)
    if level == 1:
        region = value.str.extract(r"^[^:]*: ([^,]*)", 1)
        return (
            pl.when(region.is_not_null() & (region != ""))
            .then(pl.concat_str([country, pl.lit(": "), region]))
            .otherwise(country)
        )
    if level == 2:
        return country
    return (
        country.str.strip_chars()
        .str.to_lowercase()
        .replace_strict(COUNTRY_REGION, default=pl.lit(UNLISTED), return_dtype=pl.String)
    )


def lat_lon_value() -> pl.Expr:
    """The value "lat,lon" to two decimals, e.g. "52.52,13.40" (null unless both are recorded)."""
    lat, lon = scaled(pl.col("latitude"), 2), scaled(pl.col("longitude"), 2)
    return pl.concat_str([fixed_point(lat, 2), pl.lit(","), fixed_point(lon, 2)])


def lat_lon_step(value: pl.Expr, level: int) -> pl.Expr:
    """A lat_lon value at level 1-3: the south-west corner of its grid cell.

    Cells are taken by integer floor division of hundredths of a degree, never by rounding floats:
    rounding twice is not rounding once (0.46 rounds to 0.5 and, half up, on to 1, yet straight to
    0), so a finer cell would be split between two coarser ones and the levels would not nest.
    """
    parts = value.str.split_exact(",", 1)
    lat = scaled(parts.struct.field("field_0").cast(pl.Float64, strict=False), 2)
    lon = scaled(parts.struct.field("field_1").cast(pl.Float64, strict=False), 2)
    if level == 1:
        corner = [fixed_point(lat // 10, 1), fixed_point(lon // 10, 1)]
    elif level == 2:
        corner = [fixed_point(lat // 100, 0), fixed_point(lon // 100, 0)]
    else:
        corner = [fixed_point(lat // 1000 * 10, 0), fixed_point(lon // 1000 * 10, 0)]
    return pl.concat_str([corner[0], pl.lit(","), corner[1]])
