"""A realistic MimsHumanGut sample sheet (22 columns), written in a stream of any length."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

PLACES = [
    ("Netherlands: Gelderland, Nijmegen", 51.84, 5.86),
    ("Netherlands: Utrecht, Utrecht", 52.09, 5.12),
    ("Germany: Bavaria, Munich", 48.14, 11.58),
    ("USA: Maryland, Bethesda", 38.98, -77.10),
    ("USA: California, San Diego", 32.72, -117.16),
    ("Kenya: Nairobi, Nairobi", -1.29, 36.82),
    ("Japan: Tokyo, Bunkyo", 35.71, 139.75),
    ("Brazil: Sao Paulo, Campinas", -22.91, -47.06),
    ("India: Karnataka, Bengaluru", 12.97, 77.59),
    ("Finland: Uusimaa, Helsinki", 60.17, 24.94),
]
SEQ_METHODS = [
    "Illumina NovaSeq 6000 [OBI:0002630]",
    "Illumina HiSeq 2500 [OBI:0002002]",
    "Illumina MiSeq [OBI:0002003]",
]
DISEASES = ["healthy", "Crohn's disease [DOID:8778]", "ulcerative colitis [DOID:8577]"]
DIETS = ["omnivore", "vegetarian", "vegan", "high-fat", "mediterranean"]
COLUMNS = [
    "samp_name",
    "project_name",
    "collection_date",
    "geo_loc_name",
    "lat_lon",
    "env_broad_scale",
    "env_local_scale",
    "env_medium",
    "samp_taxon_id",
    "seq_meth",
    "host_subject_id",
    "host_age",
    "host_sex",
    "host_body_site",
    "host_body_mass_index",
    "host_disease_stat",
    "samp_size",
    "samp_store_temp",
    "nucl_acid_ext",
    "host_diet",
    "lib_layout",
    "temp",
]


def rows(count: int, seed: int = 7, prefix: str = "HG") -> Iterator[list[str]]:
    """Yield `count` valid rows."""
    rng = random.Random(seed)
    start = date(2015, 1, 1)
    for number in range(count):
        place, lat, lon = PLACES[rng.randrange(len(PLACES))]
        day = start + timedelta(days=rng.randrange(3000))
        when = day.isoformat() if number % 10 else day.isoformat()[:7]
        yield [
            f"{prefix}{number:07d}",
            "Gut microbiome cohort study",
            when,
            place,
            f"{lat + rng.uniform(-0.2, 0.2):.6f} {lon + rng.uniform(-0.2, 0.2):.6f}",
            "urban biome [ENVO:01000249]",
            "human-associated habitat [ENVO:00009003]",
            "feces [ENVO:00002003]",
            "human gut metagenome [NCBITaxon:408170]",
            SEQ_METHODS[number % 3],
            f"P{number // 3:06d}",
            f"{rng.randrange(18, 90)} year",
            "female" if rng.random() < 0.5 else "male",
            "feces [UBERON:0001988]",
            f"{rng.uniform(17, 40):.1f} kilogram per square meter",
            DISEASES[rng.randrange(3)],
            "2 gram",
            "-80 degree Celsius",
            "https://doi.org/10.1038/s41586-019-1238-8",
            DIETS[rng.randrange(len(DIETS))],
            "paired",
            "37 degree Celsius",
        ]


def write_csv(path: Path, count: int, seed: int = 7) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows(count, seed))
    return path
