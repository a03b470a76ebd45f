"""The closed vocabularies of the knowledge files, apart from the schema so that `compare` can check its
options without loading the schema."""

MODALITIES = [
    "checkpoint-inhibitor", "car-t", "bispecific", "til", "tcr-t", "vaccine", "oncolytic-virus",
    "cytokine", "antibody", "antibody-drug-conjugate", "chemotherapy", "targeted-therapy",
    "hormonal-therapy", "other",
]
SETTINGS = [
    "neoadjuvant", "perioperative", "adjuvant", "consolidation", "maintenance", "first-line",
    "second-line", "later-line", "previously-treated",
]
ROLES = ["experimental", "control", "single"]
CUT_KINDS = ["primary", "interim", "final", "update"]
# What population a result is: rows are chosen from this, never from the wording of `population`.
ANALYSES = ["itt", "primary", "subgroup", "sensitivity", "per-protocol", "safety"]
MAIN_ANALYSES = ("itt", "primary", "safety")  # what `compare` shows without --subgroups
OUTCOMES = ["met", "not-met", "mixed", "descriptive"]
# What a source is: a journal paper is expected to carry its PMID or DOI; the others may have none.
SOURCE_KINDS = ["journal", "congress", "label", "registry", "press"]
