"""Parse the taxonomy lineages of microbiome feature tables into seven ranks.

Feature tables label each feature with a lineage written in one of a few notations:

- Greengenes: ``k__Bacteria; p__Firmicutes; ...; g__Blautia; s__obeum`` (the species is an
  epithet, stored as ``"Blautia obeum"`` when the genus is known). MetaPhlAn's
  ``k__Bacteria|p__Firmicutes|...|t__SGB4910`` uses the same prefixes; its strain level ``t__``
  is ignored and its species are already binomials (``s__Escherichia_coli``).
- SILVA: ``D_0__Bacteria;D_1__Firmicutes;...;D_6__uncultured bacterium`` (``D_n`` is rank n;
  levels below ``D_6`` are ignored). SILVA 138 writes ``d__``/``p__`` like GTDB and is
  reported as ``"gtdb"``.
- GTDB: ``d__Bacteria;p__Firmicutes_A;...;s__Blautia_A obeum`` (species already binomial).
- plain: ``Bacteria;Firmicutes;Clostridia`` (positional, the first level is the domain).

Levels are separated by ``;`` or ``|``. Names that only say "not known" (``Unassigned``,
``uncultured bacterium``, an empty name after the prefix, ...) become None for their rank;
deeper known ranks are kept.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass

RANKS = ("domain", "phylum", "class", "order", "family", "genus", "species")
NOTATIONS = ("greengenes", "silva", "gtdb", "plain", "empty")

_RANK_INDEX = {rank: index for index, rank in enumerate(RANKS)}
_GENUS = _RANK_INDEX["genus"]
_SPECIES = _RANK_INDEX["species"]

# Single-letter prefixes and the rank they name; `t__` (MetaPhlAn strain) maps to None: ignored.
_LETTER_RANKS: dict[str, int | None] = {
    "k": 0,
    "d": 0,
    "p": 1,
    "c": 2,
    "o": 3,
    "f": 4,
    "g": 5,
    "s": 6,
    "t": None,
}
_PREFIX = re.compile(r"(?:(?P<letter>[a-z])|D_(?P<number>\d+))__(?P<name>.*)", re.DOTALL)
_SEPARATORS = re.compile(r"[;|]")
_STRIP = " \t\r\n\"'"

# Whole names (compared case-insensitively) that say the rank is not known.
UNKNOWN_NAMES = frozenset(
    {
        "",
        "__",
        "unassigned",
        "unclassified",
        "unidentified",
        "uncultured",
        "uncultured bacterium",
        "metagenome",
        "gut metagenome",
        "ambiguous_taxa",
        "na",
        "unknown",
        "incertae sedis",
    }
)


@dataclass(frozen=True)
class Lineage:
    """A lineage cut into the seven `RANKS`; None marks an unknown rank."""

    ranks: tuple[str | None, ...]
    notation: str

    def __post_init__(self) -> None:
        if len(self.ranks) != len(RANKS):
            raise ValueError(f"a lineage has {len(RANKS)} ranks, got {len(self.ranks)}")
        if self.notation not in NOTATIONS:
            raise ValueError(f"unknown notation {self.notation!r}; expected one of {NOTATIONS}")

    def at(self, rank: str) -> str | None:
        """The name at `rank` (one of `RANKS`), or None when it is unknown."""
        index = _RANK_INDEX.get(rank)
        if index is None:
            raise ValueError(f"unknown rank {rank!r}; expected one of {RANKS}")
        return self.ranks[index]

    @property
    def deepest(self) -> tuple[str, str] | None:
        """The deepest known rank and its name, or None when no rank is known."""
        for rank, name in zip(reversed(RANKS), reversed(self.ranks), strict=True):
            if name is not None:
                return rank, name
        return None


EMPTY = Lineage(ranks=(None,) * len(RANKS), notation="empty")


def is_unknown(name: str) -> bool:
    """Whether `name` (already stripped) only says that the rank is not known."""
    return name.casefold() in UNKNOWN_NAMES


def _levels(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """The stripped levels of a lineage string or list; empty levels stay (plain is positional)."""
    if isinstance(text, str):
        parts = _SEPARATORS.split(text.strip(_STRIP))
    else:
        parts = [part for item in text for part in _SEPARATORS.split(item.strip(_STRIP))]
    return [part.strip(_STRIP) for part in parts]


def _rank_of(match: re.Match[str]) -> int | None:
    """The rank index a prefix names, or None for ignored or unrecognised prefixes."""
    letter = match.group("letter")
    if letter is not None:
        return _LETTER_RANKS.get(letter)
    number = int(match.group("number"))
    return number if number < len(RANKS) else None


def _prefixed_notation(matches: list[re.Match[str]]) -> str:
    if any(match.group("number") is not None for match in matches):
        return "silva"
    letters = {match.group("letter") for match in matches}
    if "k" in letters:
        return "greengenes"
    if "d" in letters:
        return "gtdb"
    # Prefixed but without a domain level: Greengenes/MetaPhlAn tables are the common case.
    return "greengenes"


def _name(raw: str) -> str | None:
    name = raw.strip()
    return None if is_unknown(name) else name


def _parse_prefixed(matches: list[re.Match[str]]) -> Lineage:
    notation = _prefixed_notation(matches)
    ranks: list[str | None] = [None] * len(RANKS)
    for match in matches:
        index = _rank_of(match)
        if index is None or ranks[index] is not None:
            continue  # strain level, unrecognised prefix, or a rank already named: first wins
        ranks[index] = _name(match.group("name"))
    genus, species = ranks[_GENUS], ranks[_SPECIES]
    # Greengenes writes the epithet only (`s__obeum`); MetaPhlAn the binomial
    # (`s__Escherichia_coli`), which starts with a capital letter and is kept as written.
    if notation == "greengenes" and genus and species and not species[0].isupper():
        ranks[_SPECIES] = f"{genus} {species}"
    return Lineage(ranks=tuple(ranks), notation=notation)


def _parse_plain(levels: list[str]) -> Lineage:
    ranks = [_name(level) for level in levels[: len(RANKS)]]
    ranks += [None] * (len(RANKS) - len(ranks))
    return Lineage(ranks=tuple(ranks), notation="plain")


def parse_lineage(text: str | list[str] | None) -> Lineage:
    """Parse one lineage, a string or a list of levels (as in BIOM observation metadata).

    The notation is decided from the levels: when at least as many carry an ``x__`` or ``D_n__``
    prefix as there are unprefixed levels naming a taxon, the lineage is prefixed (silva if any
    ``D_n__``, else greengenes if any ``k__``, else gtdb if any ``d__``) and unprefixed levels are
    skipped; otherwise it is plain and positional. Input with no non-empty level gives an all-None
    lineage with notation "empty"; a lineage whose levels are all unknown markers keeps its
    notation.
    """
    if text is None:
        return EMPTY
    if not isinstance(text, str | list | tuple):
        raise TypeError(f"a lineage is a string or a list of levels, not {type(text).__name__}")
    levels = _levels(text)
    if not any(levels):
        return EMPTY
    matches: list[re.Match[str]] = []
    informative = 0
    for level in levels:
        match = _PREFIX.fullmatch(level)
        if match is not None:
            matches.append(match)
        elif not is_unknown(level):
            informative += 1
    if matches and len(matches) >= informative:
        return _parse_prefixed(matches)
    return _parse_plain(levels)


def parse_lineages(texts: list[str | list[str] | None]) -> list[Lineage]:
    """Parse many lineages, parsing each distinct one once (feature tables repeat lineages)."""
    cache: dict[Hashable, Lineage] = {}
    parsed: list[Lineage] = []
    for text in texts:
        key: Hashable = text if text is None or isinstance(text, str) else ("levels", *text)
        lineage = cache.get(key)
        if lineage is None:
            lineage = cache[key] = parse_lineage(text)
        parsed.append(lineage)
    return parsed
