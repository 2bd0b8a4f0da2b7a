"""osteobook.stats.seeds and osteobook.stats.mirna_targets on hand-made inputs.

Seeds and sites of miR-21-5p are checked against values written out by hand from its miRBase sequence
(UAGCUUAUCAGACUGAUGUUGA, MIMAT0000076); the enrichment p-values against sums of binomial coefficients.
"""
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from osteobook.errors import ParameterError
from osteobook.stats import mirna_targets, seeds

MIR21 = "UAGCUUAUCAGACUGAUGUUGA"


def test_seed_is_nucleotides_2_to_8():
    assert seeds.seed(MIR21) == "AGCUUAU"
    assert seeds.seed(MIR21.replace("U", "T").lower()) == "AGCUUAU"  # DNA alphabet, lower case


def test_canonical_sites_of_mir21():
    # seed AGCUUAU pairs with AUAAGCU in the mRNA; the 8mer adds A opposite position 1
    assert seeds.target_sites(MIR21) == {"8mer": "AUAAGCUA", "7mer-m8": "AUAAGCU", "7mer-A1": "UAAGCUA",
                                         "6mer": "UAAGCU"}


def test_reverse_complement_pairs_every_base():
    assert seeds.reverse_complement("ACGU") == "ACGU"
    assert seeds.reverse_complement("AAGC") == "GCUU"


def test_gc_content():
    assert seeds.gc_content("GGCC") == 1.0
    assert seeds.gc_content("AUGC") == 0.5


def test_clean_rna_splits_off_trailing_text():
    assert seeds.clean_rna("UGGAGACGCGGCCCUGUUGGAGU>>N_233") == ("UGGAGACGCGGCCCUGUUGGAGU", ">>N_233")
    assert seeds.clean_rna("ACGU") == ("ACGU", "")


def test_seed_families_group_by_seed():
    families = seeds.seed_families({"a": "UAGCACCAUUUGAAAUCGGUUA", "b": "UAGCACCAUCUGAAAUCGGUUA",
                                    "c": MIR21, "short": "UAGC"})
    assert families == {"AGCACCA": ["a", "b"], "AGCUUAU": ["c"]}


def test_exact_matches_need_the_whole_sequence():
    pool = {"E_1": MIR21, "E_2": MIR21[:-1], "E_3": MIR21.replace("U", "T") + "!!"}
    assert seeds.exact_matches(MIR21, pool) == ["E_1", "E_3"]


@pytest.mark.parametrize("bad", ["ACGU", "ACGUNNNNNN"])
def test_not_a_mature_mirna_is_refused(bad):
    with pytest.raises(ParameterError, match="not a mature miRNA"):
        seeds.seed(bad)


# ---- miRTarBase targets --------------------------------------------------------------------------

@pytest.fixture
def mti() -> pd.DataFrame:
    rows = [("MIRT1", "m1", "G1", "Luciferase reporter assay//Western blot", mirna_targets.STRONG, "11"),
            ("MIRT1", "m1", "G1", "HITS-CLIP", mirna_targets.WEAK, "12"),
            ("MIRT2", "m1", "G2", "PAR-CLIP", mirna_targets.WEAK, "13"),
            ("MIRT3", "m2", "G2", "Luciferase reporter assay", "Non-Functional MTI", "14"),
            ("MIRT4", "m2", "G3", "qRT-PCR//Western blot", mirna_targets.STRONG, "15")]
    return pd.DataFrame(rows, columns=["mirt_id", "mirna", "target", "experiments", "support_type", "pmid"])


def test_interaction_grades(mti):
    grades = mirna_targets.interaction_grades(mti, [("m1", "G1"), ("m1", "G2"), ("m2", "G2"), ("m2", "G1")])
    assert list(grades["grade"]) == ["strong", "weak", "non-functional only", "absent"]
    first = grades.iloc[0]
    assert (first["mirt_ids"], first["strong_pmids"], first["weak_pmids"]) == ("MIRT1", "11", "12")
    assert first["experiments"] == "Western blot; Luciferase reporter assay"


def test_target_sets_by_evidence(mti):
    assert mirna_targets.target_sets(mti, "strong") == {"m1": frozenset({"G1"}), "m2": frozenset({"G3"})}
    assert mirna_targets.target_sets(mti, "any") == {"m1": frozenset({"G1", "G2"}), "m2": frozenset({"G3"})}
    with pytest.raises(ParameterError):
        mirna_targets.target_sets(mti, "weak")


def test_set_enrichment_is_the_upper_hypergeometric_tail():
    universe = {f"G{i}" for i in range(40)}
    gene_set = {f"G{i}" for i in range(10)} | {"OUTSIDE"}
    targets = {"G0", "G1", "G2", "G20", "G21", "NOT_IN_UNIVERSE"}
    result = mirna_targets.set_enrichment(targets, gene_set, universe)
    k, n, K, N = 3, 5, 10, 40
    assert (result["k"], result["n"], result["K"], result["N"]) == (k, n, K, N)
    by_hand = sum(comb(K, i) * comb(N - K, n - i) for i in range(k, min(K, n) + 1)) / comb(N, n)
    assert result["p"] == pytest.approx(by_hand, rel=1e-12)
    assert result["p"] == pytest.approx(hypergeom.sf(k - 1, N, K, n), rel=1e-12)
    assert result["genes"] == ["G0", "G1", "G2"]


def test_matched_pools_take_the_closest_sizes():
    sizes = pd.Series({"a": 1, "b": 2, "c": 3, "d": 10, "e": 11, "f": 30})
    assert mirna_targets.matched_pools(sizes, ["d"], 2) == {"d": ["e", "c"]}
    with pytest.raises(ParameterError, match="pool of 9"):
        mirna_targets.matched_pools(sizes, ["d"], 9)


def synthetic_sets(seed: int = 1) -> tuple[dict[str, frozenset[str]], set[str]]:
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(300)]
    sets = {f"m{i}": frozenset(rng.choice(genes, size=int(rng.integers(3, 40)), replace=False)) for i in range(80)}
    return sets, set(genes)


@pytest.mark.parametrize("null", ["matched", "uniform"])
def test_random_set_test_is_seeded_and_bounded(null):
    sets, universe = synthetic_sets()
    gene_set = {f"G{i}" for i in range(30)}
    run = [mirna_targets.random_set_test(sets, ["m1", "m2"], gene_set, universe, 500,
                                         np.random.default_rng(7), null, 10) for _ in range(2)]
    assert run[0] == run[1]
    assert 1 / 501 <= run[0]["p"] <= 1
    observed = mirna_targets.set_enrichment(sets["m1"] | sets["m2"], gene_set, universe)
    assert run[0]["observed_p"] == pytest.approx(observed["p"])


def test_random_set_test_finds_a_planted_signal():
    sets, universe = synthetic_sets()
    gene_set = {f"G{i}" for i in range(30)}
    planted = {**sets, "hit1": frozenset(list(gene_set)[:12] + ["G200", "G201"]),
               "hit2": frozenset(list(gene_set)[10:22] + ["G202"])}
    result = mirna_targets.random_set_test(planted, ["hit1", "hit2"], gene_set, universe, 1000,
                                           np.random.default_rng(3), "matched", 10)
    assert result["p"] < 0.01


def test_random_set_test_refuses_unknown_mirnas():
    sets, universe = synthetic_sets()
    with pytest.raises(ParameterError, match="no targets"):
        mirna_targets.random_set_test(sets, ["nope"], {"G1"}, universe, 10, np.random.default_rng(1))
