"""classify(): category, department, severity and validity of one complaint, with the reasons an agent can read.

Pure and I/O-free: the caller loads the rules once (`load_rules`) and supplies the account's history; the shipped
category model (`learning/category_model.npz`) is read once per process on first use.

Who decides the category: the rules always run. An authoritative rule (learning/triage.toml: a danger term with an
emergency trigger, a thank-you) decides outright, whatever the model says. Otherwise the trained model decides, and
the complaint is marked for the supervisors' triage queue when the model is unsure (probability under the
configured threshold) or when rules with real evidence point to another department. Severity and validity stay
with the rules, for the category chosen. `classify(..., model=None)` is the rule engine alone, as before the model.
"""

from __future__ import annotations

from enum import Enum
from types import MappingProxyType
from typing import Literal

from services.dispatch.classification.models import Classification, ComplaintFacts
from services.dispatch.classification.quantities import extract_ages, extract_temperatures
from services.dispatch.classification.rules import DecisionRules, Rules
from services.dispatch.classification.scoring import CategoryEvidence, score_categories
from services.dispatch.classification.severity import Finding, assess_severity
from services.dispatch.classification.validity import invalid_reason
from services.dispatch.learning.model import CategoryModel, TriagePolicy, load_model
from services.dispatch.normalise import normalise
from shared.contracts import Category, Severity


class Shipped(Enum):
    """`classify`'s default model: the one shipped in learning/ (a sentinel, so `None` can mean rules only)."""

    MODEL = "shipped"


SHIPPED = Shipped.MODEL


def _known_category(value: str | None) -> Category | None:
    try:
        return Category(value) if value else None
    except ValueError:
        return None


def _hinted_scores(
    found: CategoryEvidence, complaint: ComplaintFacts, rules: Rules
) -> tuple[dict[Category, float], tuple[Category, float] | None]:
    """The rules' category scores plus the channel's weight for the category hint, when it names a known one; and
    that hint (category, weight) for the reasons."""
    scores = dict(found.scores)
    hinted = _known_category(complaint.category_hint)
    hint = None if hinted is None else (hinted, rules.hint.weight_for(complaint.channel))
    if hint is not None:
        scores[hint[0]] += hint[1]
    return scores, hint


def _served(model: CategoryModel | Literal[Shipped.MODEL] | None) -> CategoryModel | None:
    """The model that takes part in the decision: the shipped one (loaded once per process), a given one, or none."""
    return load_model() if model is SHIPPED else model


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


def classify(
    complaint: ComplaintFacts, rules: Rules, *, model: CategoryModel | Literal[Shipped.MODEL] | None = SHIPPED
) -> Classification:
    """Classify one complaint: rules and the shipped model by default, `model=None` for the rules alone."""
    text = normalise(complaint.text)
    temperatures = extract_temperatures(text)
    found = score_categories(text, temperatures, rules)
    scores, hint = _hinted_scores(found, complaint, rules)
    rule_category = _decide(scores, rules.decision)
    ages = extract_ages(text)

    def severity_for(category: Category) -> tuple[Severity, list[Finding]]:
        return assess_severity(
            text=text,
            category=category,
            temperatures=temperatures,
            ages=ages,
            history=complaint.history,
            rules=rules,
        )

    severity, findings = severity_for(rule_category)
    rule_reasons = _category_reasons(rule_category, scores, found, hint, rules)
    category = rule_category
    learned: _ModelDecision | None = None
    used = _served(model)
    if used is not None:
        learned = _model_decision(used, complaint, rules, rule_category, scores, severity)
        category = learned.category
        if category is not rule_category:
            severity, findings = severity_for(category)

    department = rules.department_of(category)
    reasons = learned.reasons(rule_reasons) if learned is not None else rule_reasons
    if complaint.category_hint and hint is None:
        reasons.append(f"unknown category hint {complaint.category_hint!r} ignored")
    reasons.append(f"department {department}: follows category {category}")
    reasons += [f.reason for f in findings] or [f"severity {severity}: no severity trigger matched"]
    if learned is not None and learned.triage_reason:
        reasons.append(learned.triage_reason)

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
        triage=learned is not None and learned.triage_reason is not None,
        suggestions=learned.suggestions if learned is not None else (),
        model_version=learned.version if learned is not None else None,
        confidence=learned.confidence if learned is not None else None,
    )


class _ModelDecision:
    """The model's say in one decision: the category, or the rule that overrode it, and whether to triage."""

    def __init__(
        self,
        *,
        version: str,
        category: Category,
        ranked: list[tuple[Category, float]],
        policy: TriagePolicy,
        authority: str | None,
        triage_reason: str | None,
    ) -> None:
        self.version = version
        self.category = category
        self.suggestions = tuple((c, round(p, 4)) for c, p in ranked[: policy.suggestions])
        self.confidence = None if authority else round(ranked[0][1], 4)
        self.authority = authority
        self.triage_reason = triage_reason
        self.ranked = ranked

    def reasons(self, rule_reasons: list[str]) -> list[str]:
        (best, p_best), (second, p_second) = self.ranked[0], self.ranked[1]
        view = f"model {self.version}: {best} p={p_best:.2f}, margin {p_best - p_second:.2f} over {second}"
        if self.authority:
            return [f"{rule_reasons[0]} (authoritative rule: {self.authority})", *rule_reasons[1:], view]
        return [f"category {best}: {view}", "rules: " + "; ".join(rule_reasons)]


def _authority(
    rule_category: Category, scores: dict[Category, float], severity: Severity, policy: TriagePolicy
) -> str | None:
    """Why the rules' category is final, or None when the model decides."""
    if rule_category in policy.authoritative_emergency_categories and severity is Severity.EMERGENCY:
        return f"{rule_category} with an emergency trigger"
    floor = policy.authoritative_min_scores.get(rule_category)
    if floor is not None and scores[rule_category] >= floor:
        return f"{rule_category} score {scores[rule_category]:g} at least {floor:g}"
    return None


def _model_decision(
    model: CategoryModel,
    complaint: ComplaintFacts,
    rules: Rules,
    rule_category: Category,
    scores: dict[Category, float],
    severity: Severity,
) -> _ModelDecision:
    policy = model.policy
    ranked = model.ranked(complaint.text, complaint.channel)
    authority = _authority(rule_category, scores, severity, policy)
    if authority:
        return _ModelDecision(
            version=model.version,
            category=rule_category,
            ranked=ranked,
            policy=policy,
            authority=authority,
            triage_reason=None,
        )
    best, confidence = ranked[0]
    triage_reason = None
    rule_department, model_department = rules.department_of(rule_category), rules.department_of(best)
    if confidence < policy.min_confidence:
        triage_reason = f"triage: model confidence {confidence:.2f} under {policy.min_confidence:g}"
    elif (
        policy.disagreement_triage
        and rule_department is not model_department
        and scores[rule_category] >= max(policy.disagreement_min_rule_score, rules.decision.min_score)
    ):
        triage_reason = (
            f"triage: rules say {rule_category} ({rule_department}, score {scores[rule_category]:g}), "
            f"model says {best} ({model_department})"
        )
    return _ModelDecision(
        version=model.version,
        category=best,
        ranked=ranked,
        policy=policy,
        authority=None,
        triage_reason=triage_reason,
    )
