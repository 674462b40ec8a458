"""Train the category model: `python -m services.dispatch.train [--write-policy]`.

Fits a multinomial logistic regression (scikit-learn) on tf-idf weighted character/word n-grams of the seed set,
and exports it as plain arrays (`category_model.npz`) that `model.py` serves with numpy alone. Before that it
cross-validates the whole decision (rules + model, as `classify` makes it) on the seed set, prints the figures and
the precision/coverage curve of the triage threshold, and picks the threshold from that curve: the lowest one whose
automatically routed share reaches the target category accuracy, unless that sends more than the triage budget to
supervisors, in which case the budget wins (a queue nobody can work through helps no one). `--write-policy`
writes the choice into triage.toml. The blind set plays no part here.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from services.dispatch.classification import ComplaintFacts, Rules, classify, load_rules
from services.dispatch.learning.examples import SEED_PATH, Example, read_examples
from services.dispatch.learning.features import complaint_features
from services.dispatch.learning.model import (
    DEFAULT_MODEL_PATH,
    DEFAULT_POLICY_PATH,
    CategoryModel,
    TriagePolicy,
    load_policy,
)
from shared.contracts import Category

C = 10.0  # inverse regularisation; 3, 10, 30 and 100 were compared by 5-fold CV on the seed set (10 best)
MIN_DF = (
    2  # a feature seen in one training complaint only is dropped: it cannot generalise, and it keeps the file small
)
TARGET_AUTO_ACCURACY = 0.97
MAX_TRIAGE_SHARE = 0.15
THRESHOLDS = tuple(round(0.20 + 0.025 * i, 3) for i in range(28))
_CATEGORIES = tuple(Category)


def _version(examples: Sequence[Example], c: float, min_df: int) -> str:
    digest = hashlib.sha256(f"{c}|{min_df}".encode())
    for e in sorted(examples, key=lambda e: (e.text, e.channel, e.category.value)):
        digest.update(f"{e.text}\x1f{e.channel}\x1f{e.category.value}\x1e".encode())
    return f"ngram-lr-{digest.hexdigest()[:10]}"


def _matrix(counts: list[Counter[str]], vocabulary: dict[str, int], idf: np.ndarray) -> sparse.csr_matrix:
    """The same tf-idf as `CategoryModel.probabilities`: 1 + ln(count), times idf, l2-normalised per row."""
    rows, cols, vals = [], [], []
    for r, found in enumerate(counts):
        cells = [(vocabulary[n], (1.0 + math.log(k)) * idf[vocabulary[n]]) for n, k in found.items() if n in vocabulary]
        norm = math.sqrt(sum(v * v for _, v in cells)) or 1.0
        for column, value in cells:
            rows.append(r)
            cols.append(column)
            vals.append(value / norm)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(counts), len(vocabulary)))


def fit(
    examples: Sequence[Example], *, c: float = C, min_df: int = MIN_DF, policy: TriagePolicy | None = None
) -> CategoryModel:
    """A model trained on `examples` (deterministic: same examples, same weights, same version)."""
    counts = [complaint_features(e.text, e.channel) for e in examples]
    df: Counter[str] = Counter()
    for found in counts:
        df.update(found.keys())
    names = sorted(n for n, k in df.items() if k >= min_df)
    vocabulary = {n: i for i, n in enumerate(names)}
    n = len(examples)
    idf = np.array([math.log((1 + n) / (1 + df[name])) + 1.0 for name in names])
    y = np.array([_CATEGORIES.index(e.category) for e in examples])
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(_matrix(counts, vocabulary, idf), y)
    coef = np.zeros((len(names), len(_CATEGORIES)))
    intercept = np.full(len(_CATEGORIES), -30.0)  # a category absent from training is never predicted
    if len(clf.classes_) == 2:  # binary: sklearn keeps one weight vector for the second class
        coef[:, clf.classes_[1]] = clf.coef_[0]
        intercept[clf.classes_[1]], intercept[clf.classes_[0]] = clf.intercept_[0], 0.0
    else:
        for row, k in enumerate(clf.classes_):
            coef[:, k] = clf.coef_[row]
            intercept[k] = clf.intercept_[row]
    return CategoryModel(
        version=_version(examples, c, min_df),
        classes=_CATEGORIES,
        vocabulary=vocabulary,
        idf=idf.astype(np.float32),
        coef=coef.astype(np.float16).astype(np.float32),  # the precision the file keeps
        intercept=intercept.astype(np.float32),
        policy=policy if policy is not None else load_policy(),
        meta={"trained_on": n, "c": c, "min_df": min_df, "features": len(names)},
    )


@dataclass(frozen=True)
class Judged:
    """One held-out complaint as the whole decision (rules + fold model) saw it, before any triage."""

    example: Example
    category: Category
    department_ok: bool
    severity_ok: bool
    confidence: float  # 1.0 when an authoritative rule decided
    rules_disagree: bool  # rules (with evidence) point to another department

    @property
    def correct(self) -> bool:
        return self.category is self.example.category


def judge_all(examples: Sequence[Example], model: CategoryModel | None, rules: Rules) -> list[Judged]:
    """Classify each example with no triage threshold, keeping what the triage decision needs."""
    open_policy = replace(
        model.policy if model is not None else TriagePolicy(), min_confidence=0.0, disagreement_triage=False
    )
    used = replace(model, policy=open_policy) if model is not None else None
    judged = []
    for e in examples:
        facts = ComplaintFacts(text=e.text, channel=e.channel)
        result = classify(facts, rules, model=used)
        by_rules = classify(facts, rules, model=None)
        floor = max(rules.decision.min_score, open_policy.disagreement_min_rule_score)
        judged.append(
            Judged(
                example=e,
                category=result.category,
                department_ok=rules.department_of(result.category) is rules.department_of(e.category),
                severity_ok=result.severity == e.severity,
                confidence=1.0 if result.confidence is None else result.confidence,
                rules_disagree=(
                    result.confidence is not None
                    and by_rules.department is not result.department
                    and by_rules.scores[by_rules.category.value] >= floor
                ),
            )
        )
    return judged


def cross_validate(
    examples: Sequence[Example], rules: Rules, *, folds: int = 5, c: float = C, min_df: int = MIN_DF
) -> list[Judged]:
    """Every example judged by a model that did not see it (stratified folds, fixed seed)."""
    y = [e.category.value for e in examples]
    judged: dict[int, Judged] = {}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        model = fit([examples[i] for i in train_idx], c=c, min_df=min_df)
        for i, j in zip(test_idx, judge_all([examples[i] for i in test_idx], model, rules), strict=True):
            judged[int(i)] = j
    return [judged[i] for i in range(len(examples))]


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    disagreement: bool
    auto_share: float
    auto_accuracy: float
    auto_department_accuracy: float


def curve(judged: Sequence[Judged], thresholds: Sequence[float] = THRESHOLDS) -> list[CurvePoint]:
    points = []
    for disagreement in (False, True):
        for t in thresholds:
            auto = [j for j in judged if j.confidence >= t and not (disagreement and j.rules_disagree)]
            share = len(auto) / len(judged)
            accuracy = sum(j.correct for j in auto) / len(auto) if auto else 1.0
            dept = sum(j.department_ok for j in auto) / len(auto) if auto else 1.0
            points.append(CurvePoint(t, disagreement, share, accuracy, dept))
    return points


def choose(
    points: Sequence[CurvePoint], *, target: float = TARGET_AUTO_ACCURACY, max_triage: float = MAX_TRIAGE_SHARE
) -> tuple[CurvePoint, str]:
    """The operating point and why; see the module docstring."""
    within = [p for p in points if 1 - p.auto_share <= max_triage + 1e-9]
    reaching = [p for p in within if p.auto_accuracy >= target]
    if reaching:
        best = max(reaching, key=lambda p: (p.auto_share, p.auto_accuracy))
        return (
            best,
            f"the most coverage with auto-routed category accuracy >= {target:.0%} and triage <= {max_triage:.0%}",
        )
    best = max(within, key=lambda p: (p.auto_accuracy, p.auto_share))
    return best, (
        f"no point reaches {target:.0%} auto-routed accuracy within the {max_triage:.0%} triage budget: "
        "the most accurate point within the budget"
    )


def _share(items: Sequence[Judged], attr: str) -> str:
    n = len(items)
    right = sum(bool(getattr(j, attr)) for j in items)
    return f"{right / n:6.1%} ({right}/{n})" if n else "   n/a"


def report(judged: Sequence[Judged]) -> list[str]:
    lines = [f"{'':<22}{'category':>18}{'department':>18}{'severity':>18}"]
    groups: list[tuple[str, list[Judged]]] = [("all", list(judged))]
    for key in ("lang", "style"):
        for value in sorted({getattr(j.example, key) or "?" for j in judged}):
            groups.append((f"{key}={value}", [j for j in judged if (getattr(j.example, key) or "?") == value]))
    for name, items in groups:
        lines.append(
            f"{name:<22}{_share(items, 'correct'):>18}{_share(items, 'department_ok'):>18}"
            f"{_share(items, 'severity_ok'):>18}"
        )
    return lines


def write_policy(path: Path, point: CurvePoint, why: str, points: Sequence[CurvePoint]) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    keep = old[old.index("[authoritative_rules]") :] if "[authoritative_rules]" in old else ""
    table = "\n".join(
        f"#   {p.threshold:5.3f} {'yes' if p.disagreement else 'no ':>3}  {p.auto_share:6.1%} {p.auto_accuracy:7.1%}"
        f" {p.auto_department_accuracy:7.1%}"
        for p in points
    )
    path.write_text(
        "# Triage policy of the category model (read by learning/model.py; classification/classifier.py applies it).\n"
        "#\n"
        "# Written by `python -m services.dispatch.train --write-policy` from the precision/coverage\n"
        "# curve of 5-fold cross-validation on the seed training set (never the blind set). Chosen:\n"
        "# " + why + ".\n"
        "# threshold, disagreement rule on?, auto-routed share, its category accuracy, its department accuracy:\n"
        + table
        + "\n\n[triage]\n"
        f"min_confidence = {point.threshold}\n"
        f"disagreement_triage = {'true' if point.disagreement else 'false'}\n"
        "# rules must score at least this for their category before a department disagreement counts\n"
        "disagreement_min_rule_score = 2\n"
        "suggestions = 3\n\n" + keep,
        encoding="utf-8",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dispatch.train", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=Path, default=SEED_PATH)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument(
        "--write-policy", action="store_true", help=f"write the chosen threshold to {DEFAULT_POLICY_PATH.name}"
    )
    args = parser.parse_args(argv)

    rules = load_rules()
    seed = read_examples(args.seed)
    print(f"seed set: {len(seed)} complaints; 5-fold cross-validation of rules + model (C={C}, min_df={MIN_DF})")
    judged = cross_validate(seed, rules)
    print("\n".join(report(judged)))
    rules_only = judge_all(seed, None, rules)
    print(f"rules alone on the seed set: category {sum(j.correct for j in rules_only) / len(seed):.1%}")
    points = curve(judged)
    print("\nprecision/coverage (threshold, disagreement rule, auto share, auto category acc, auto department acc):")
    for p in points:
        print(
            f"  {p.threshold:5.3f} {'yes' if p.disagreement else 'no ':>3}  {p.auto_share:6.1%} {p.auto_accuracy:7.1%}"
            f" {p.auto_department_accuracy:7.1%}"
        )
    point, why = choose(points)
    print(f"\nchosen: min_confidence {point.threshold}, disagreement {point.disagreement} ({why})")
    if args.write_policy:
        write_policy(DEFAULT_POLICY_PATH, point, why, points)
        print(f"wrote {DEFAULT_POLICY_PATH}")

    model = fit(seed)
    model.save(args.out)
    print(
        f"model {model.version}: {model.meta['features']} features, "
        f"{args.out.stat().st_size / 1024:.0f} KiB -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
