"""Feature tables for tests: small, realistic, in every format fairdb reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fairdb.extensions import db
from fairdb.services import ingest
from tests.uploads_helpers import csv_bytes, rows

LINEAGES = [
    "k__Bacteria; p__Verrucomicrobia; c__Verrucomicrobiae; o__Verrucomicrobiales; "
    "f__Verrucomicrobiaceae; g__Akkermansia; s__muciniphila",
    "k__Bacteria; p__Firmicutes; c__Clostridia; o__Clostridiales; f__Lachnospiraceae; "
    "g__Blautia; s__",
    "k__Bacteria; p__Bacteroidetes; c__Bacteroidia; o__Bacteroidales; f__Bacteroidaceae; "
    "g__Bacteroides; s__",
    "k__Bacteria; p__Firmicutes; c__Clostridia; o__Clostridiales; f__Ruminococcaceae; "
    "g__Faecalibacterium; s__prausnitzii",
]


def dataset_with_samples(create_dataset: Any, tmp_path: Path, count: int = 6) -> Any:
    """A dataset whose samples S1..S<count> are stored (through the real sample ingest)."""
    dataset = create_dataset()
    path = tmp_path / "samples.csv"
    path.write_bytes(csv_bytes(rows(count)))
    result = ingest.ingest_samples(dataset, path, "samples.csv", dataset.owner)
    assert result.ok, result.report()
    db.session.commit()
    return dataset


def counts(features: int = 4, samples: int = 6, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 50, size=(features, samples)).astype(float)
    table[table < 10] = 0  # sparse, like real tables
    table[:, 0] += 1  # no empty sample
    return table


def tsv(
    table: np.ndarray,
    *,
    samples: list[str] | None = None,
    taxonomy: bool = True,
    transpose: bool = False,
    cells: dict[tuple[int, int], str] | None = None,
) -> bytes:
    """Features in rows (or samples in rows with transpose), optional taxonomy column;
    `cells` overrides single value cells (row, column) with raw text."""
    names = samples or [f"S{i + 1}" for i in range(table.shape[1])]
    features = [f"ASV{i + 1}" for i in range(table.shape[0])]

    def number(value: float) -> str:
        return str(int(value)) if float(value).is_integer() else repr(float(value))

    lines = []
    if not transpose:
        header = ["#OTU ID", *names] + (["taxonomy"] if taxonomy else [])
        lines.append("\t".join(header))
        for i, feature in enumerate(features):
            values = [number(v) for v in table[i]]
            for (r, c), text in (cells or {}).items():
                if r == i:
                    values[c] = text
            extra = [LINEAGES[i % len(LINEAGES)]] if taxonomy else []
            lines.append("\t".join([feature, *values, *extra]))
    else:
        lines.append("\t".join(["sample", *features]))
        for j, name in enumerate(names):
            lines.append("\t".join([name, *[number(v) for v in table[:, j]]]))
    return ("# Constructed from biom file\n" + "\n".join(lines) + "\n").encode()


def biom_table(table: np.ndarray, samples: list[str] | None = None) -> Any:
    from biom import Table

    names = samples or [f"S{i + 1}" for i in range(table.shape[1])]
    features = [f"ASV{i + 1}" for i in range(table.shape[0])]
    metadata = [
        {"taxonomy": [level.strip() for level in LINEAGES[i % len(LINEAGES)].split(";")]}
        for i in range(table.shape[0])
    ]
    return Table(table, features, names, observation_metadata=metadata)


def write_biom_json(path: Path, table: np.ndarray, samples: list[str] | None = None) -> Path:
    path.write_text(biom_table(table, samples).to_json("fairdb tests"))
    return path


def write_biom_hdf5(path: Path, table: np.ndarray, samples: list[str] | None = None) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        biom_table(table, samples).to_hdf5(handle, "fairdb tests")
    return path
