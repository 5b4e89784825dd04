"""Matching a file's header to a checklist's fields, forgiving case, spacing and synonyms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fairdb.checklists.model import Checklist

SYNONYMS = {
    "samp_name": (
        "sample_id",
        "sampleid",
        "#sampleid",
        "sample_name",
        "sample",
        "samplename",
        "sample id",
    ),
    "collection_date": (
        "date",
        "collection date",
        "sampling_date",
        "sampling date",
        "date collected",
    ),
    "geo_loc_name": ("country", "geographic location", "location"),
    "host_sex": ("sex", "gender"),
    "host_age": ("age",),
    "host_body_mass_index": ("bmi", "body mass index"),
    "host_subject_id": ("subject_id", "subject", "host_id", "participant_id", "participant"),
    "seq_meth": ("sequencing_method", "sequencing method", "instrument", "platform"),
    "samp_taxon_id": ("organism", "taxon", "taxon_id"),
    "host_disease_stat": ("disease", "disease_status", "diagnosis"),
    "env_medium": ("environmental medium",),
    "env_broad_scale": ("broad-scale environmental context",),
    "env_local_scale": ("local environmental context",),
}
LATITUDE = ("latitude", "lat", "decimal_latitude", "decimallatitude")
LONGITUDE = ("longitude", "lon", "long", "lng", "decimal_longitude", "decimallongitude")


def normalise(header: str) -> str:
    """Case, spaces, hyphens, underscores and a leading # do not matter."""
    return re.sub(r"[\s_\-]+", "_", header.strip().lstrip("\ufeff").lower()).strip("_")


@dataclass
class ColumnMatch:
    fields: dict[int, str] = field(default_factory=dict)
    unrecognised: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, list[int]]] = field(default_factory=list)
    blank: list[int] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    split_lat_lon: tuple[int, int] | None = None


def match_columns(headers: list[str], checklist: Checklist) -> ColumnMatch:
    lookup: dict[str, str] = {}
    for spec in checklist.fields:
        lookup[normalise(spec.name)] = spec.name
        lookup.setdefault(normalise(spec.title), spec.name)
    names = set(checklist.names)
    for target, synonyms in SYNONYMS.items():
        if target in names:
            for synonym in synonyms:
                lookup.setdefault(normalise(synonym).lstrip("#"), target)
    match = ColumnMatch()
    positions: dict[str, list[int]] = {}
    latitude = longitude = None
    for position, header in enumerate(headers):
        key = normalise(header).lstrip("#")
        if not key:
            match.blank.append(position)
            continue
        if "lat_lon" in names and key in (normalise(h) for h in LATITUDE) and latitude is None:
            latitude = position
            continue
        if "lat_lon" in names and key in (normalise(h) for h in LONGITUDE) and longitude is None:
            longitude = position
            continue
        found = lookup.get(key)
        if found is None:
            match.unrecognised.append(header)
            continue
        positions.setdefault(found, []).append(position)
    if latitude is not None and longitude is not None and "lat_lon" not in positions:
        match.split_lat_lon = (latitude, longitude)
    else:
        for single in (latitude, longitude):
            if single is not None:
                match.unrecognised.append(headers[single])
    for name, places in positions.items():
        match.fields[places[0]] = name
        if len(places) > 1:
            match.duplicates.append((name, places))
    present = set(positions) | ({"lat_lon"} if match.split_lat_lon else set())
    match.missing_required = [name for name in checklist.required if name not in present]
    return match
