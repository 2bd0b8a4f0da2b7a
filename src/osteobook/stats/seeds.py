"""miRNA seeds and canonical target sites, from mature sequences.

The seed is nucleotides 2-8 of the mature miRNA (5' to 3'). Canonical sites in a target mRNA are written
5' to 3' as they appear in the mRNA (Agarwal et al. 2015, eLife 4:e05005): the 7mer-m8 site is the
reverse complement of nt 2-8; the 8mer adds an A opposite position 1; the 7mer-A1 site is the reverse
complement of nt 2-7 followed by that A; the 6mer is the reverse complement of nt 2-7 alone.
miRNAs with the same seed form a seed family.
"""
from __future__ import annotations

from collections import defaultdict

from ..errors import ParameterError

RNA = frozenset("ACGU")
COMPLEMENT = str.maketrans("ACGU", "UGCA")


def to_rna(sequence: str) -> str:
    """Upper case, T read as U (DNA-alphabet copies of miRNA sequences exist)."""
    return sequence.strip().upper().replace("T", "U")


def clean_rna(sequence: str) -> tuple[str, str]:
    """The leading run of A/C/G/U of `sequence` (as RNA) and whatever follows it ('' for a clean sequence)."""
    rna = to_rna(sequence)
    end = next((i for i, base in enumerate(rna) if base not in RNA), len(rna))
    return rna[:end], rna[end:]


def _checked(mature: str) -> str:
    rna = to_rna(mature)
    if len(rna) < 8 or set(rna) - RNA:
        raise ParameterError(f"not a mature miRNA sequence (A/C/G/U, at least 8 nt): {mature!r}")
    return rna


def seed(mature: str) -> str:
    """Nucleotides 2-8 of a mature miRNA."""
    return _checked(mature)[1:8]


def reverse_complement(rna: str) -> str:
    """The reverse complement of an RNA sequence (A/C/G/U only)."""
    rna = to_rna(rna)
    if set(rna) - RNA:
        raise ParameterError(f"not an RNA sequence: {rna!r}")
    return rna.translate(COMPLEMENT)[::-1]


def target_sites(mature: str) -> dict[str, str]:
    """The canonical sites (8mer, 7mer-m8, 7mer-A1, 6mer) a target mRNA carries for this miRNA, 5'->3'."""
    rna = _checked(mature)
    m8, m7 = reverse_complement(rna[1:8]), reverse_complement(rna[1:7])
    return {"8mer": m8 + "A", "7mer-m8": m8, "7mer-A1": m7 + "A", "6mer": m7}


def gc_content(sequence: str) -> float:
    """Share of G and C in a sequence."""
    rna = to_rna(sequence)
    return (rna.count("G") + rna.count("C")) / len(rna)


def seed_families(sequences: dict[str, str]) -> dict[str, list[str]]:
    """`{seed: [names]}` over all sequences (names sorted), for sequences of at least 8 nt."""
    families: dict[str, list[str]] = defaultdict(list)
    for name, sequence in sequences.items():
        rna = to_rna(sequence)
        if len(rna) >= 8 and not set(rna) - RNA:
            families[rna[1:8]].append(name)
    return {key: sorted(names) for key, names in families.items()}


def exact_matches(query: str, pool: dict[str, str]) -> list[str]:
    """Ids in `pool` whose sequence equals `query` over its whole length (after `clean_rna`)."""
    target = to_rna(query)
    return sorted(name for name, sequence in pool.items() if clean_rna(sequence)[0] == target)
