"""Lineage strings of feature tables, in every notation, cut into the seven ranks."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairdb.abundance import lineage as lineage_module
from fairdb.abundance.lineage import RANKS, Lineage, parse_lineage, parse_lineages

# Written out here rather than imported, so that the tests check the module's list.
MARKERS = [
    "Unassigned",
    "unassigned",
    "UNASSIGNED",
    "Unclassified",
    "unclassified",
    "unidentified",
    "uncultured",
    "Uncultured Bacterium",
    "uncultured bacterium",
    "metagenome",
    "gut metagenome",
    "Ambiguous_taxa",
    "NA",
    "na",
    "__",
    "unknown",
    "Unknown",
    "Incertae Sedis",
]
MARKER_KEYS = {marker.casefold() for marker in MARKERS}
LETTER_PREFIXES = {
    "greengenes": ("k__", "p__", "c__", "o__", "f__", "g__", "s__"),
    "gtdb": ("d__", "p__", "c__", "o__", "f__", "g__", "s__"),
    "silva": tuple(f"D_{n}__" for n in range(7)),
}


def test_ranks_are_the_seven_linnaean_ranks() -> None:
    assert RANKS == ("domain", "phylum", "class", "order", "family", "genus", "species")


@pytest.mark.parametrize("separator", ["; ", ";", " ; "])
def test_greengenes(separator: str) -> None:
    levels = [
        "k__Bacteria",
        "p__Firmicutes",
        "c__Clostridia",
        "o__Clostridiales",
        "f__Lachnospiraceae",
        "g__Blautia",
        "s__obeum",
    ]
    parsed = parse_lineage(separator.join(levels))
    assert parsed.notation == "greengenes"
    assert parsed.at("domain") == "Bacteria"
    assert parsed.at("phylum") == "Firmicutes"
    assert parsed.at("class") == "Clostridia"
    assert parsed.at("order") == "Clostridiales"
    assert parsed.at("family") == "Lachnospiraceae"
    assert parsed.at("genus") == "Blautia"
    assert parsed.at("species") == "Blautia obeum"
    assert parsed.deepest == ("species", "Blautia obeum")


def test_silva_numbered() -> None:
    parsed = parse_lineage(
        "D_0__Bacteria;D_1__Firmicutes;D_2__Clostridia;D_3__Clostridiales;"
        "D_4__Lachnospiraceae;D_5__Blautia;D_6__uncultured bacterium"
    )
    assert parsed == Lineage(
        ranks=(
            "Bacteria",
            "Firmicutes",
            "Clostridia",
            "Clostridiales",
            "Lachnospiraceae",
            "Blautia",
            None,
        ),
        notation="silva",
    )
    assert parsed.deepest == ("genus", "Blautia")


def test_silva_species_is_kept_as_written() -> None:
    parsed = parse_lineage(
        "D_0__Bacteria;D_1__Firmicutes;D_2__Clostridia;D_3__Clostridiales;"
        "D_4__Ruminococcaceae;D_5__Ruminococcus 2;D_6__Ruminococcus sp."
    )
    assert parsed.at("genus") == "Ruminococcus 2"
    assert parsed.at("species") == "Ruminococcus sp."


def test_silva_138_uses_gtdb_prefixes() -> None:
    parsed = parse_lineage(
        "d__Bacteria; p__Firmicutes; c__Clostridia; o__Lachnospirales; f__Lachnospiraceae; "
        "g__Blautia; s__uncultured_bacterium"
    )
    assert parsed.notation == "gtdb"
    assert parsed.ranks == (
        "Bacteria",
        "Firmicutes",
        "Clostridia",
        "Lachnospirales",
        "Lachnospiraceae",
        "Blautia",
        "uncultured_bacterium",
    )


def test_gtdb() -> None:
    parsed = parse_lineage(
        "d__Bacteria;p__Firmicutes_A;c__Clostridia;o__Lachnospirales;f__Lachnospiraceae;"
        "g__Blautia_A;s__Blautia_A obeum"
    )
    assert parsed.notation == "gtdb"
    assert parsed.at("domain") == "Bacteria"
    assert parsed.at("phylum") == "Firmicutes_A"
    assert parsed.at("class") == "Clostridia"
    assert parsed.at("order") == "Lachnospirales"
    assert parsed.at("family") == "Lachnospiraceae"
    assert parsed.at("genus") == "Blautia_A"
    # Already a binomial: not prefixed with the genus a second time.
    assert parsed.at("species") == "Blautia_A obeum"


def test_plain() -> None:
    parsed = parse_lineage("Bacteria;Firmicutes;Clostridia;Clostridiales;Lachnospiraceae;Blautia")
    assert parsed.notation == "plain"
    assert parsed.ranks == (
        "Bacteria",
        "Firmicutes",
        "Clostridia",
        "Clostridiales",
        "Lachnospiraceae",
        "Blautia",
        None,
    )
    assert parsed.deepest == ("genus", "Blautia")


def test_plain_with_pipes() -> None:
    parsed = parse_lineage("Archaea|Euryarchaeota|Methanobacteria")
    assert parsed.notation == "plain"
    assert parsed.ranks[:4] == ("Archaea", "Euryarchaeota", "Methanobacteria", None)


@pytest.mark.parametrize("marker", MARKERS)
def test_unknown_marker_in_the_middle_keeps_deeper_ranks(marker: str) -> None:
    prefixed = parse_lineage(
        f"k__Bacteria; p__Firmicutes; c__{marker}; o__Clostridiales; f__; g__Blautia; s__"
    )
    assert prefixed.ranks == (
        "Bacteria",
        "Firmicutes",
        None,
        "Clostridiales",
        None,
        "Blautia",
        None,
    )
    plain = parse_lineage(f"Bacteria;Firmicutes;{marker};Clostridiales;;Blautia")
    assert plain.notation == "plain"
    assert plain.ranks == prefixed.ranks


@pytest.mark.parametrize("marker", MARKERS)
def test_unknown_marker_at_the_end(marker: str) -> None:
    parsed = parse_lineage(f"D_0__Bacteria;D_1__Firmicutes;D_2__Clostridia;D_3__{marker}")
    assert parsed.notation == "silva"
    assert parsed.ranks == ("Bacteria", "Firmicutes", "Clostridia", None, None, None, None)
    assert parsed.deepest == ("class", "Clostridia")


def test_markers_only_match_whole_names() -> None:
    parsed = parse_lineage(
        "D_0__Bacteria;D_1__Firmicutes;D_2__Clostridia;D_3__Clostridiales;"
        "D_4__Family XIII Incertae Sedis;D_5__uncultured Ruminococcaceae bacterium;"
        "D_6__human gut metagenome"
    )
    assert parsed.at("family") == "Family XIII Incertae Sedis"
    assert parsed.at("genus") == "uncultured Ruminococcaceae bacterium"
    assert parsed.at("species") == "human gut metagenome"
    assert parse_lineage("d__Bacteria;p__NA_phylum").at("phylum") == "NA_phylum"


def test_greengenes_species_combines_with_the_genus() -> None:
    with_genus = parse_lineage("k__Bacteria; p__Firmicutes; g__Faecalibacterium; s__prausnitzii")
    assert with_genus.at("species") == "Faecalibacterium prausnitzii"
    bracketed = parse_lineage(
        "k__Bacteria; p__Firmicutes; c__Clostridia; o__Clostridiales; "
        "f__Lachnospiraceae; g__[Ruminococcus]; s__gnavus"
    )
    assert bracketed.at("genus") == "[Ruminococcus]"
    assert bracketed.at("species") == "[Ruminococcus] gnavus"


def test_greengenes_species_without_genus_is_the_epithet() -> None:
    for text in (
        "k__Bacteria; p__Firmicutes; c__Clostridia; g__; s__obeum",
        "k__Bacteria; p__Firmicutes; c__Clostridia; g__unclassified; s__obeum",
        "k__Bacteria; p__Firmicutes; c__Clostridia; s__obeum",
    ):
        parsed = parse_lineage(text)
        assert parsed.at("genus") is None, text
        assert parsed.at("species") == "obeum", text
        assert parsed.deepest == ("species", "obeum"), text


def test_greengenes_unknown_species_stays_unknown() -> None:
    parsed = parse_lineage("k__Bacteria; p__Firmicutes; g__Blautia; s__")
    assert parsed.at("species") is None
    assert parsed.deepest == ("genus", "Blautia")


def test_biom_lists() -> None:
    levels = [
        "k__Bacteria",
        " p__Bacteroidetes",
        "c__Bacteroidia ",
        "o__Bacteroidales",
        "f__Bacteroidaceae",
        "g__Bacteroides",
        "s__fragilis",
    ]
    parsed = parse_lineage(levels)
    assert parsed.notation == "greengenes"
    assert parsed.ranks == (
        "Bacteria",
        "Bacteroidetes",
        "Bacteroidia",
        "Bacteroidales",
        "Bacteroidaceae",
        "Bacteroides",
        "Bacteroides fragilis",
    )
    assert parse_lineage("; ".join(levels)) == parsed
    assert parse_lineage(["d__Bacteria", "p__Bacteroidota", "c__", "o__Bacteroidales"]) == Lineage(
        ranks=("Bacteria", "Bacteroidota", None, "Bacteroidales", None, None, None),
        notation="gtdb",
    )
    assert parse_lineage(["Bacteria", "Bacteroidetes"]).ranks[:3] == (
        "Bacteria",
        "Bacteroidetes",
        None,
    )


def test_biom_list_holding_one_joined_string() -> None:
    parsed = parse_lineage(["k__Bacteria; p__Firmicutes; c__Clostridia"])
    assert parsed.notation == "greengenes"
    assert parsed.ranks[:4] == ("Bacteria", "Firmicutes", "Clostridia", None)


def test_metaphlan_pipes_ignore_the_strain_level() -> None:
    parsed = parse_lineage(
        "k__Bacteria|p__Firmicutes|c__Clostridia|o__Eubacteriales|f__Lachnospiraceae|"
        "g__Blautia|s__Blautia_obeum|t__SGB4810"
    )
    assert parsed.notation == "greengenes"
    assert parsed.ranks == (
        "Bacteria",
        "Firmicutes",
        "Clostridia",
        "Eubacteriales",
        "Lachnospiraceae",
        "Blautia",
        # A MetaPhlAn species is already a binomial: kept as written.
        "Blautia_obeum",
    )
    strain_without_species = parse_lineage("k__Bacteria|p__Firmicutes|g__Blautia|t__SGB4810")
    assert strain_without_species.at("species") is None
    assert strain_without_species.deepest == ("genus", "Blautia")
    truncated = parse_lineage("k__Bacteria|p__Firmicutes|c__Clostridia")
    assert truncated.ranks == ("Bacteria", "Firmicutes", "Clostridia", None, None, None, None)
    assert truncated.deepest == ("class", "Clostridia")


@pytest.mark.parametrize("text", [None, "", "   ", '""', "''", " ; ; ", "|", [], ["", " "]])
def test_empty(text: str | list[str] | None) -> None:
    parsed = parse_lineage(text)
    assert parsed.notation == "empty"
    assert parsed.ranks == (None,) * 7
    assert parsed.deepest is None
    assert all(parsed.at(rank) is None for rank in RANKS)


def test_all_unknown_keeps_its_notation() -> None:
    assert parse_lineage("Unassigned") == Lineage(ranks=(None,) * 7, notation="plain")
    assert parse_lineage("k__; p__; c__") == Lineage(ranks=(None,) * 7, notation="greengenes")


@pytest.mark.parametrize(
    "text",
    [
        '"k__Bacteria; p__Firmicutes ; c__ Clostridia"',
        "  'k__Bacteria;p__Firmicutes;c__Clostridia'\n",
        '\t k__Bacteria ;"p__Firmicutes"; c__Clostridia  ',
    ],
)
def test_whitespace_and_quotes_are_stripped(text: str) -> None:
    parsed = parse_lineage(text)
    assert parsed.notation == "greengenes"
    assert parsed.ranks == ("Bacteria", "Firmicutes", "Clostridia", None, None, None, None)


def test_inner_whitespace_is_kept() -> None:
    parsed = parse_lineage(' "Bacteria ; Firmicutes ;  Clostridia  ;Candidatus  Soleaferrea" ')
    assert parsed.ranks[:4] == ("Bacteria", "Firmicutes", "Clostridia", "Candidatus  Soleaferrea")


def test_plain_longer_than_seven_levels_is_cut() -> None:
    parsed = parse_lineage("Root;Bacteria;Firmicutes;Clostridia;Clostridiales;Family;Genus;sp;x")
    assert parsed.notation == "plain"
    assert parsed.ranks == (
        "Root",
        "Bacteria",
        "Firmicutes",
        "Clostridia",
        "Clostridiales",
        "Family",
        "Genus",
    )


def test_silva_levels_beyond_seven_are_ignored() -> None:
    parsed = parse_lineage(
        "D_0__Bacteria;D_1__Firmicutes;D_2__Clostridia;D_3__Clostridiales;D_4__Lachnospiraceae;"
        "D_5__Blautia;D_6__Blautia obeum;D_7__strain A2-162;D_8__extra;D_14__more"
    )
    assert parsed.at("species") == "Blautia obeum"
    assert parsed.deepest == ("species", "Blautia obeum")


def test_unrecognised_levels_in_a_prefixed_lineage_are_skipped() -> None:
    parsed = parse_lineage(
        "Root; k__Bacteria; x__Whatever; p__Firmicutes; Unassigned; c__Clostridia; "
        "o__Clostridiales; f__Lachnospiraceae; g__Blautia; s__obeum; t__strain"
    )
    assert parsed.notation == "greengenes"
    assert parsed.ranks == (
        "Bacteria",
        "Firmicutes",
        "Clostridia",
        "Clostridiales",
        "Lachnospiraceae",
        "Blautia",
        "Blautia obeum",
    )


def test_a_repeated_rank_keeps_its_first_known_name() -> None:
    parsed = parse_lineage("k__Bacteria; g__; g__Blautia; g__Ruminococcus; g__Dorea")
    assert parsed.at("genus") == "Blautia"


def test_mostly_plain_stays_positional() -> None:
    parsed = parse_lineage("Bacteria;Firmicutes;c__Clostridia")
    assert parsed.notation == "plain"
    assert parsed.ranks[:4] == ("Bacteria", "Firmicutes", "c__Clostridia", None)


def test_at_rejects_unknown_ranks() -> None:
    parsed = parse_lineage("d__Bacteria")
    assert parsed.at("domain") == "Bacteria"
    with pytest.raises(ValueError, match="kingdom"):
        parsed.at("kingdom")


def test_lineage_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="7 ranks"):
        Lineage(ranks=("Bacteria",), notation="plain")
    with pytest.raises(ValueError, match="notation"):
        Lineage(ranks=(None,) * 7, notation="rdp")


def test_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="float"):
        parse_lineage(float("nan"))  # type: ignore[arg-type]


def test_parse_lineages_parses_each_distinct_lineage_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    real = lineage_module.parse_lineage

    def counting(text: str | list[str] | None) -> Lineage:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(lineage_module, "parse_lineage", counting)
    gg = "k__Bacteria; p__Firmicutes; g__Blautia; s__obeum"
    texts: list[str | list[str] | None] = [
        gg,
        "Bacteria;Firmicutes",
        gg,
        None,
        ["d__Bacteria", "p__Firmicutes_A"],
        gg,
        None,
        ["d__Bacteria", "p__Firmicutes_A"],
        "Bacteria;Firmicutes",
    ]
    parsed = parse_lineages(texts)
    assert len(calls) == 4
    assert parsed == [real(text) for text in texts]
    assert parsed[0] is parsed[2] is parsed[5]
    assert parsed[4] is parsed[7]
    assert parsed[0].at("species") == "Blautia obeum"
    assert parsed[1].notation == "plain"
    assert parsed[3].notation == "empty"
    assert parsed[4].notation == "gtdb"
    assert parse_lineages([]) == []


# --- property: whatever names go in come back out ------------------------------------------

_PREFIX_LIKE = re.compile(r"([a-z]|D_\d+)__")
NAME_ALPHABET = string.ascii_letters + string.digits + " _-.[]()éÅ"


def _is_name(text: str) -> bool:
    return (
        text == text.strip()
        and text.casefold() not in MARKER_KEYS
        and _PREFIX_LIKE.match(text) is None
    )


NAMES = st.text(NAME_ALPHABET, min_size=1, max_size=20).filter(_is_name)
# None stands for an unknown rank; most ranks are known.
RANK_NAMES = st.lists(st.one_of(NAMES, NAMES, NAMES, st.none()), min_size=7, max_size=7).map(tuple)


@st.composite
def written_lineages(
    draw: st.DrawFn,
) -> tuple[str | list[str], tuple[str | None, ...], str]:
    """A lineage written in one notation, the names it holds, and the notation to expect."""
    style = draw(st.sampled_from(["greengenes", "metaphlan", "silva", "gtdb", "plain"]))
    names: tuple[str | None, ...] = draw(RANK_NAMES)
    unknown = st.sampled_from(["", *MARKERS])
    levels: list[str] = []
    if style == "plain":
        for name in names:
            levels.append(name if name is not None else draw(unknown))
        levels += draw(st.lists(NAMES, max_size=3))  # beyond species: ignored
        expected_notation = "plain" if any(levels) else "empty"
    else:
        prefixes = LETTER_PREFIXES["greengenes" if style == "metaphlan" else style]
        for rank, (prefix, name) in enumerate(zip(prefixes, names, strict=True)):
            if name is not None:
                levels.append(prefix + name)
            # The domain level is always written: it tells the notation apart.
            elif rank == 0 or draw(st.booleans()):
                levels.append(prefix + draw(unknown))
        if style == "metaphlan" and draw(st.booleans()):
            levels.append("t__" + draw(NAMES))
        if style == "silva" and draw(st.booleans()):
            levels.append("D_7__" + draw(NAMES))
        expected_notation = "greengenes" if style == "metaphlan" else style
    expected = list(names)
    genus, species = expected[5], expected[6]
    if expected_notation == "greengenes" and genus and species and not species[0].isupper():
        expected[6] = f"{genus} {species}"
    if draw(st.booleans()):
        return levels, tuple(expected), expected_notation
    separator = "|" if style == "metaphlan" else draw(st.sampled_from([";", "; ", " ; "]))
    text = separator.join(levels)
    text = draw(st.sampled_from(["", " ", '"', "'"])) + text
    return text + draw(st.sampled_from(["", "\n", '"', "'"])), tuple(expected), expected_notation


@settings(max_examples=200, deadline=None)
@given(written_lineages())
def test_names_put_in_come_back_out(
    case: tuple[str | list[str], tuple[str | None, ...], str],
) -> None:
    text, expected, expected_notation = case
    parsed = parse_lineage(text)
    assert parsed.ranks == expected
    assert parsed.notation == expected_notation
    known = [(rank, name) for rank, name in zip(RANKS, expected, strict=True) if name is not None]
    assert parsed.deepest == (known[-1] if known else None)
