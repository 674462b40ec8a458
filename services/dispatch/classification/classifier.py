"""classify(): category, department, severity and validity of one complaint, with the reasons an agent can read.

Pure and I/O-free: the caller loads the rules once (`load_rules`) and supplies the account's history.
"""

from __future__ import annotations

from types import MappingProxyType

from services.dispatch.classification.models import Classification, ComplaintFacts
from services.dispatch.classification.normalise import normalise
from services.dispatch.classification.quantities import extract_ages, extract_temperatures
from services.dispatch.classification.rules import DecisionRules, Rules
from services.dispatch.classification.scoring import CategoryEvidence, score_categories
from services.dispatch.classification.severity import assess_severity
from services.dispatch.classification.validity import invalid_reason
from shared.contracts import Category


def _known_category(value: str | None) -> Category | None:
    try:
        return Category(value) if value else None
    except ValueError:
        return None


def _decide(scores: dict[Category, float], decision: DecisionRules) -> Category:
    rank = {category: i for i, category in enumerate(decision.tie_order)}
    best = max(Category, key=lambda c: (scores[c], -rank[c]))
    return best if scores[best] >= decision.min_score else decision.fallback


def _category_reasons(
    category: Category,
    scores: dict[Category, float],
    found: CategoryEvidence,
    hint: tuple[Category, float] | None,
    rules: Rules,
) -> list[str]:
    evidence = found.evidence[category]
    parts = []
    if evidence:
        parts.append("matched " + ", ".join(e.describe() for e in evidence))
    if hint is not None and hint[0] is category:
        parts.append(f"channel hint +{hint[1]:g}")
    if scores[category] < rules.decision.min_score:
        parts.append(f"no category reached the minimum score {rules.decision.min_score:g}")
    reasons = [f"category {category}: " + "; ".join(parts)]

    runner_up = max((c for c in Category if c is not category), key=lambda c: scores[c])
    if scores[runner_up] > 0:
        terms = ", ".join(e.describe() for e in found.evidence[runner_up])
        hinted = " incl. channel hint" if hint is not None and hint[0] is runner_up else ""
        reasons.append(f"runner-up {runner_up} {scores[runner_up]:g}{hinted}" + (f": {terms}" if terms else ""))
    counted = {e.term for found_terms in found.evidence.values() for e in found_terms}
    ignored = dict.fromkeys(h.snippet for h in found.negated if h.term not in counted)
    if ignored:
        reasons.append("ignored as negated or hypothetical: " + ", ".join(ignored))
    return reasons


def classify(complaint: ComplaintFacts, rules: Rules) -> Classification:
    text = normalise(complaint.text)
    temperatures = extract_temperatures(text)
    found = score_categories(text, temperatures, rules)

    scores = dict(found.scores)
    hinted = _known_category(complaint.category_hint)
    hint = None if hinted is None else (hinted, rules.hint.weight_for(complaint.channel))
    if hint is not None:
        scores[hint[0]] += hint[1]
    category = _decide(scores, rules.decision)
    department = rules.department_of(category)

    severity, findings = assess_severity(
        text=text,
        category=category,
        temperatures=temperatures,
        ages=extract_ages(text),
        history=complaint.history,
        rules=rules,
    )
    reasons = _category_reasons(category, scores, found, hint, rules)
    if complaint.category_hint and hinted is None:
        reasons.append(f"unknown category hint {complaint.category_hint!r} ignored")
    reasons.append(f"department {department}: follows category {category}")
    reasons += [f.reason for f in findings] or [f"severity {severity}: no severity trigger matched"]

    problem = invalid_reason(text, rules, has_evidence=any(found.scores.values()))
    if problem:
        reasons.append(f"invalid: {problem}")
    return Classification(
        category=category,
        department=department,
        severity=severity,
        valid=problem is None,
        invalid_reason=problem,
        reasons=tuple(reasons),
        scores=MappingProxyType({c.value: round(scores[c], 2) for c in Category}),
    )
