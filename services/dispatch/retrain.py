"""Corrections fed back: `python -m services.dispatch.retrain --corrections FILE.jsonl [--promote]`.

A supervisor's correction (triage or reclassification) is a labelled example: text, channel, the corrected
category/severity/department, what was predicted and by which model. `retrain` fits a new model on the seed set
plus the corrections (a correction replaces a seed example with the same text) and scores it and the current model
on the frozen blind set; the new one is promoted only if it scores no worse there, on category nor department
(`BlindScores.no_worse_than`: within one complaint, the blind set's resolution) — the one gate, in `gate.py`,
that the supervisors' screen promotes through too. The blind set only gates: nothing
is fitted or tuned on it. The triage policy (triage.toml) is kept as it is.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.dispatch.classification import Rules, load_rules
from services.dispatch.gate import NOISE_COMPLAINTS, BlindScores, score, training_set
from services.dispatch.learning.examples import BLIND_PATH, SEED_PATH, Example, read_examples
from services.dispatch.learning.model import DEFAULT_MODEL_PATH, CategoryModel, load_model
from services.dispatch.train import fit

__all__ = ["NOISE_COMPLAINTS", "BlindScores", "RetrainResult", "main", "retrain", "score", "training_set"]


@dataclass(frozen=True)
class RetrainResult:
    model: CategoryModel
    scores: BlindScores
    current_version: str
    current_scores: BlindScores
    promoted: bool
    trained_on: int


def retrain(
    seed: list[Example],
    corrections: list[Example],
    blind: list[Example],
    *,
    current: CategoryModel | None = None,
    rules: Rules | None = None,
) -> RetrainResult:
    """Fit on seed + corrections; promoted only if the blind-set scores are no worse than the current model's."""
    rules = rules if rules is not None else load_rules()
    current = current if current is not None else load_model()
    examples = training_set(seed, corrections)
    model = fit(examples, policy=current.policy)
    scores = score(model, blind, rules)
    current_scores = score(current, blind, rules)
    return RetrainResult(
        model=model,
        scores=scores,
        current_version=current.version,
        current_scores=current_scores,
        promoted=scores.no_worse_than(current_scores),
        trained_on=len(examples),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dispatch.retrain", description=__doc__.splitlines()[0])
    parser.add_argument("--corrections", type=Path, required=True, help="JSONL of labelled corrections")
    parser.add_argument("--promote", action="store_true", help=f"write the new model to {DEFAULT_MODEL_PATH.name}")
    parser.add_argument("--seed", type=Path, default=SEED_PATH)
    parser.add_argument("--blind", type=Path, default=BLIND_PATH)
    args = parser.parse_args(argv)

    corrections = read_examples(args.corrections)
    result = retrain(read_examples(args.seed), corrections, read_examples(args.blind))
    print(f"trained {result.model.version} on {result.trained_on} examples ({len(corrections)} corrections)")
    for name, scores in (
        (result.current_version + " (current)", result.current_scores),
        (result.model.version, result.scores),
    ):
        print(f"  {name:<32} {scores}")
    if not result.promoted:
        print("not promoted: the new model scores worse on the blind set")
        return 1
    if args.promote:
        result.model.save(DEFAULT_MODEL_PATH)
        load_model.cache_clear()
        print(f"promoted: {result.model.version} written to {DEFAULT_MODEL_PATH}")
    else:
        print("would be promoted (run with --promote to write it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
