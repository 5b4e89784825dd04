"""Read a feature table (BIOM 1.0 JSON, BIOM 2.1 HDF5, or a CSV/TSV/XLSX sheet) into sparse form.

The result holds only non-zero entries as (feature index, sample index, value) arrays, the feature
ids and sample names as written, and any lineage or sequence the file carries. Cell problems are
collected (row, column, value, what is wrong, the fix); problems with the file as a whole raise
TableError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from fairdb.services.tables import TableError, column_name, open_table

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
TAXONOMY_HEADERS = {"taxonomy", "lineage", "taxon", "consensus lineage", "consensuslineage"}
SEQUENCE_HEADERS = {"sequence", "seq", "asv sequence"}
IGNORED_HEADERS = {"confidence", "consensus"}
ID_HEADERS = {"feature id", "featureid", "otu id", "otuid", "#otu id", "asv", "asv id", "id", "otu"}
MAX_BIOM_ENTRIES = 50_000_000
MAX_BIOM_CELLS = 10**12
MAX_PROBLEMS = 10_000
# Dense cells parsed per chunk of a wide sheet (rows x columns), to bound memory.
CELLS_PER_CHUNK = 1_000_000


@dataclass(frozen=True)
class CellProblem:
    row: int | None
    column: str | None
    value: str
    code: str
    message: str
    fix: str


@dataclass
class FeatureTable:
    """Non-zero entries of a feature table, features by samples, as read from the file."""

    feature_ids: list[str]
    sample_names: list[str]
    feature_index: np.ndarray
    sample_index: np.ndarray
    values: np.ndarray
    lineages: list[Any] | None = None
    sequences: list[str | None] | None = None
    orientation: str = "features-as-rows"
    taxonomy_source: str = "none"
    # Where each feature and sample was found in the file, for messages.
    feature_places: list[str] = field(default_factory=list)
    sample_places: list[str] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    problem_count: int = 0

    def add(self, problem: CellProblem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def is_biom(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(HDF5_MAGIC):
        return True
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and (b'"format"' in head or b'"matrix_type"' in head)


def read_biom(path: Path) -> FeatureTable:
    """A BIOM table: HDF5 (2.x) is checked for its declared size before anything is loaded."""
    from biom import load_table
    from biom.exception import TableException

    with path.open("rb") as handle:
        hdf5 = handle.read(8) == HDF5_MAGIC
    if hdf5:
        _check_hdf5_size(path)
    try:
        table = _load_hdf5(path) if hdf5 else load_table(str(path))
    except (TableException, ValueError, KeyError, TypeError, OSError) as error:
        reason = str(error)
        if "duplicate" in reason.lower():
            which = "sample" if "sample" in reason.lower() else "feature"
            raise TableError(
                f"The BIOM table names a {which} twice ({reason[:120]}).",
                f"Every {which} id must appear once: merge the duplicates (add their values) or "
                "rename them, then export the table again.",
                code=f"duplicate_{which}",
                status=422,
            ) from error
        raise TableError(
            f"The file looks like BIOM but could not be read: {str(error)[:200]}",
            "Export the table again with `biom convert --to-hdf5` (or --to-json), or upload it "
            "as a tab-separated text table with feature ids in the first column.",
            code="bad_biom",
            status=422,
        ) from error
    matrix = table.matrix_data.tocoo()
    feature_ids = [str(i) for i in table.ids(axis="observation")]
    sample_names = [str(i) for i in table.ids(axis="sample")]
    values = np.asarray(matrix.data, dtype=np.float64)
    out = FeatureTable(
        feature_ids=feature_ids,
        sample_names=sample_names,
        feature_index=np.asarray(matrix.row, dtype=np.int64),
        sample_index=np.asarray(matrix.col, dtype=np.int64),
        values=values,
        feature_places=[f"observation {i + 1} ({name})" for i, name in enumerate(feature_ids)],
        sample_places=[f"sample {i + 1}" for i in range(len(sample_names))],
    )
    metadata = table.metadata(axis="observation")
    if metadata is not None:
        keys = {key.lower(): key for entry in metadata if entry for key in entry}
        for wanted in ("taxonomy", "lineage", "taxon"):
            if wanted in keys:
                out.lineages = [
                    _lineage_value(entry.get(keys[wanted])) if entry else None for entry in metadata
                ]
                out.taxonomy_source = "biom metadata"
                break
        if "sequence" in keys:
            out.sequences = [
                str(entry[keys["sequence"]]) if entry and entry.get(keys["sequence"]) else None
                for entry in metadata
            ]
    _check_values(out)
    return out


def _joined_levels(value: Any) -> str | None:
    """An HDF5 lineage (an array of byte strings per feature) as one '; '-joined string."""
    try:
        joined = b"; ".join([level for level in value if level]).decode("utf-8", "replace")
    except TypeError:  # levels stored as text rather than bytes
        joined = "; ".join([str(level) for level in value if level])
    return joined or None


def _load_hdf5(path: Path) -> Any:
    """biom-format's HDF5 reader, with one join per lineage instead of a list of levels."""
    import h5py
    from biom import Table

    parsers = {name: _joined_levels for name in ("taxonomy", "Taxonomy", "lineage", "Lineage")}
    with h5py.File(path, "r") as handle:
        return Table.from_hdf5(handle, parse_fs=parsers)


def _lineage_value(value: Any) -> str | list[str] | None:
    """BIOM keeps lineages as a string or a sequence of levels (lists, arrays, bytes)."""
    if value is None or isinstance(value, str):
        return value
    if type(value) is list and all(type(level) is str for level in value):
        return value  # what biom-format gives for most files: nothing to convert
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    try:
        return [
            level.decode("utf-8", errors="replace") if isinstance(level, bytes) else str(level)
            for level in value
        ]
    except TypeError:
        return str(value)


def _check_hdf5_size(path: Path) -> None:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            shape = tuple(int(n) for n in handle.attrs.get("shape", (0, 0)))
            nnz = int(handle.attrs.get("nnz", 0))
            stored = handle["observation/matrix/data"].shape[0]
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise TableError(
            "The file is HDF5 but not a BIOM 2.1 table.",
            "Export the table with `biom convert --to-hdf5`, or upload a tab-separated table.",
            code="bad_biom",
            status=422,
        ) from error
    if (
        max(nnz, stored) > MAX_BIOM_ENTRIES
        or len(shape) != 2
        or shape[0] * shape[1] > MAX_BIOM_CELLS
    ):
        raise TableError(
            f"The BIOM table declares {shape[0]:,} features x {shape[1]:,} samples with "
            f"{max(nnz, stored):,} non-zero entries; at most {MAX_BIOM_ENTRIES:,} are accepted.",
            "Split the table by sample groups and upload each part.",
            code="too_large",
            status=413,
        )


def read_sheet(path: Path, filename: str, orientation: str, known: set[str]) -> FeatureTable:
    """A CSV/TSV/XLSX feature table. orientation: "features-as-rows", "samples-as-rows" or
    "auto" (decided by which side names samples of the dataset, `known`)."""
    with open_table(path, filename, max_columns=200_000) as table:
        headers = table.info.headers
        numeric = set(range(1, len(headers)))
        first_chunk = next(table.chunks(rows=1000, numeric=numeric))
        first_column = first_chunk["c0"].drop_nulls().to_list()
        if orientation == "auto":
            orientation = _detect_orientation(headers, first_column, known)
        return _read_sheet(table, orientation)


def _detect_orientation(headers: list[str], first_column: list[str], known: set[str]) -> str:
    in_header = sum(1 for h in headers[1:] if h in known)
    in_column = sum(1 for value in first_column if value.strip() in known)
    if in_header == 0 and in_column == 0:
        raise TableError(
            "Neither the column headers nor the first column name samples of this dataset.",
            "Samples go in columns (headers are sample names, the first column holds feature "
            "ids) or in rows (choose 'samples in rows'). Upload the sample metadata first, and "
            "check the names are spelled as in the metadata (samp_name).",
            code="no_sample_names",
            status=422,
        )
    return "features-as-rows" if in_header >= in_column else "samples-as-rows"


def _read_sheet(table: Any, orientation: str) -> FeatureTable:
    headers = [h.strip() for h in table.info.headers]
    lowered = [h.lower().lstrip("#").strip() for h in headers]
    features_in_rows = orientation == "features-as-rows"
    taxonomy_at = sequence_at = None
    skip = {0}
    if features_in_rows:
        for position, name in enumerate(lowered[1:], start=1):
            if name in TAXONOMY_HEADERS and taxonomy_at is None:
                taxonomy_at = position
            elif name in SEQUENCE_HEADERS and sequence_at is None:
                sequence_at = position
            elif name not in IGNORED_HEADERS:
                continue
            skip.add(position)
    value_columns = [i for i in range(len(headers)) if i not in skip]
    labels = [headers[i] for i in value_columns]
    row_ids: list[str] = []
    row_places: list[str] = []
    lineages: list[Any] = []
    sequences: list[str | None] = []
    rows_parts: list[np.ndarray] = []
    cols_parts: list[np.ndarray] = []
    value_parts: list[np.ndarray] = []
    out = FeatureTable([], [], np.empty(0), np.empty(0), np.empty(0), orientation=orientation)
    chunk_rows = max(1, CELLS_PER_CHUNK // max(1, len(value_columns)))
    for chunk in table.chunks(rows=chunk_rows, numeric=set(value_columns)):
        numbers = chunk["__row"].to_list()
        ids = chunk["c0"].to_list()
        offset = len(row_ids)
        for number, ident in zip(numbers, ids, strict=True):
            if ident is None or not ident.strip():
                out.add(
                    CellProblem(
                        number,
                        headers[0] or "A",
                        "",
                        "missing_id",
                        f"Row {number} has no {'feature id' if features_in_rows else 'sample name'}"
                        " in the first column.",
                        "Fill in the id, or delete the row if it is empty.",
                    )
                )
            row_ids.append((ident or "").strip())
            row_places.append(f"row {number}")
        if taxonomy_at is not None:
            lineages.extend(chunk[f"c{taxonomy_at}"].to_list())
        if sequence_at is not None:
            sequences.extend(chunk[f"c{sequence_at}"].to_list())
        dense = _numbers(chunk, value_columns, labels, numbers, out)
        rows, cols = np.nonzero(dense)
        rows_parts.append(rows.astype(np.int64) + offset)
        cols_parts.append(cols.astype(np.int64))
        value_parts.append(dense[rows, cols])
    row_index = np.concatenate(rows_parts) if rows_parts else np.empty(0, np.int64)
    col_index = np.concatenate(cols_parts) if cols_parts else np.empty(0, np.int64)
    values = np.concatenate(value_parts) if value_parts else np.empty(0, np.float64)
    col_places = [f"column {column_name(i)} ({headers[i]})" for i in value_columns]
    if features_in_rows:
        out.feature_ids, out.sample_names = row_ids, labels
        out.feature_index, out.sample_index = row_index, col_index
        out.feature_places, out.sample_places = row_places, col_places
    else:
        out.feature_ids, out.sample_names = labels, row_ids
        out.feature_index, out.sample_index = col_index, row_index
        out.feature_places, out.sample_places = col_places, row_places
    out.values = values
    if taxonomy_at is not None:
        out.lineages = lineages
        out.taxonomy_source = f"column {headers[taxonomy_at]}"
    if sequence_at is not None:
        out.sequences = sequences
    return out


def _numbers(
    chunk: pl.DataFrame,
    value_columns: list[int],
    labels: list[str],
    numbers: list[int],
    out: FeatureTable,
) -> np.ndarray:
    """The chunk's value cells as a dense float array; bad cells are reported and read as 0."""
    names = [f"c{i}" for i in value_columns]
    raw = chunk.select(names)
    schema = raw.schema
    if all(schema[n] == pl.Float64 for n in names):
        # The reader parsed every cell as a number: check them all at once in numpy (empty
        # cells read as NaN here) and look closer only if something is wrong.
        dense = raw.to_numpy().astype(np.float64, copy=False)
        if not (np.isnan(dense).any() or np.isinf(dense).any() or (dense < 0).any()):
            return dense
    # Parsed by the reader where the block held only plain numbers; cast (with the text kept
    # for messages) where it did not.
    parsed = raw.select(
        [
            pl.col(n)
            if schema[n] == pl.Float64
            else pl.col(n).str.strip_chars().cast(pl.Float64, strict=False)
            for n in names
        ]
    )
    bad = parsed.select(
        [
            (
                pl.col(n).is_null() | pl.col(n).is_nan() | pl.col(n).is_infinite() | (pl.col(n) < 0)
            ).alias(n)
            for n in names
        ]
    )
    counts = bad.sum().row(0)
    for position, (name, count) in enumerate(zip(names, counts, strict=True)):
        if not count:
            continue
        out.problem_count += count
        room = MAX_PROBLEMS - len(out.problems)
        for row in bad[name].arg_true().head(max(room, 0)).to_list():
            cell = raw[name][row]
            text = _shown(cell) if isinstance(cell, float) else (cell or "").strip()
            code, message, fix = _value_problem(text, parsed[name][row])
            column = f"{column_name(value_columns[position])} ({labels[position]})"
            if code == "empty_cell":
                message = f"Row {numbers[row]}, column {column} is empty."
            out.problems.append(CellProblem(numbers[row], column, text[:200], code, message, fix))
    dense = parsed.fill_null(0.0).fill_nan(0.0).to_numpy().astype(np.float64, copy=False)
    return np.where(np.isfinite(dense) & (dense >= 0), dense, 0.0)


def _shown(value: float) -> str:
    """A number the reader parsed, written back for a message: -3, 0.5, NaN, inf."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _value_problem(text: str, value: float | None) -> tuple[str, str, str]:
    """What is wrong with a value cell, and the fix: (code, message, fix)."""
    if not text:
        return "empty_cell", "The cell is empty.", "Write 0 where a feature was not observed."
    if value is None:
        return (
            "not_a_number",
            f"'{text[:60]}' is not a number.",
            "Write a count or a relative abundance as a plain number, e.g. 12 or 0.034 (no "
            "units, no thousands separators).",
        )
    if math.isnan(value) or math.isinf(value):
        return (
            "not_finite",
            f"'{text[:60]}' is not a finite number.",
            "Write 0 where a feature was not observed; a table cannot hold NaN or infinity.",
        )
    return (
        "negative",
        f"{text[:60]} is negative.",
        "Counts and abundances are 0 or more: check the export step that produced this value.",
    )


def _check_values(out: FeatureTable) -> None:
    """Non-finite or negative values of a BIOM table (sheets are checked cell by cell); explicit
    zeros are dropped."""
    bad = ~np.isfinite(out.values) | (out.values < 0)
    out.problem_count += int(bad.sum())
    for i in np.flatnonzero(bad)[:MAX_PROBLEMS].tolist():
        value = float(out.values[i])
        feature = out.feature_ids[int(out.feature_index[i])]
        sample = out.sample_names[int(out.sample_index[i])]
        code, message, fix = _value_problem(_shown(value), value)
        out.problems.append(
            CellProblem(None, f"sample {sample}", _shown(value), code, f"{feature}: {message}", fix)
        )
    keep = ~bad & (out.values != 0)
    if not keep.all():
        out.feature_index = out.feature_index[keep]
        out.sample_index = out.sample_index[keep]
        out.values = out.values[keep]


def read_taxonomy(path: Path, filename: str) -> dict[str, str]:
    """A separate taxonomy file (QIIME 2 taxonomy.tsv and the like): feature id -> lineage."""
    with open_table(path, filename, max_columns=50) as table:
        lowered = [h.lower().lstrip("#").strip() for h in table.info.headers]
        id_at = next((i for i, h in enumerate(lowered) if h in ID_HEADERS), 0)
        taxon_at = next((i for i, h in enumerate(lowered) if h in TAXONOMY_HEADERS), None)
        if taxon_at is None:
            if len(lowered) < 2:
                raise TableError(
                    "The taxonomy file has a single column.",
                    "Give feature ids in the first column and lineages in a column named Taxon.",
                    code="bad_taxonomy",
                    status=422,
                )
            taxon_at = 1 if id_at != 1 else 0
        lineages: dict[str, str] = {}
        for chunk in table.chunks(rows=50_000):
            for ident, taxon in chunk.select(f"c{id_at}", f"c{taxon_at}").iter_rows():
                if ident is not None and taxon is not None:
                    lineages[ident.strip()] = taxon
        return lineages
