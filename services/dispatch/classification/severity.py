"""Severity from the configured triggers and the account's history; the gravest finding decides.

Triggers run after the category is chosen because some only make sense for a category (a large-area outage,
a vulnerable person without heat), and the repeat rule counts earlier complaints of the chosen category.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.dispatch.classification.matching import first_live_hits
from services.dispatch.classification.quantities import Setting, StatedAge, TemperatureReading
from services.dispatch.classification.rules import Rules, SeverityTrigger
from shared.contracts import Category, Severity


@dataclass(frozen=True)
class Finding:
    level: Severity
    reason: str


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _trigger_finding(
    trigger: SeverityTrigger,
    text: str,
    temperatures: list[TemperatureReading],
    ages: list[StatedAge],
    rules: Rules,
) -> Finding | None:
    primary = [h.snippet for h in first_live_hits(text, trigger.terms, rules.matching, negatable=trigger.negatable)]
    if trigger.age_at_least is not None:
        primary += [age.text for age in ages if age.value >= trigger.age_at_least]
    if not primary:
        return None
    matched = primary
    if trigger.requires_any or trigger.requires_indoor_temp_at_most is not None:
        condition = [
            h.snippet for h in first_live_hits(text, trigger.requires_any, rules.matching, negatable=trigger.negatable)
        ]
        if trigger.requires_indoor_temp_at_most is not None:
            condition += [
                t.text
                for t in temperatures
                if t.setting is Setting.INDOOR and t.effective <= trigger.requires_indoor_temp_at_most
            ]
        if not condition:
            return None
        matched = primary + condition
    return Finding(trigger.level, f"severity {trigger.level}: {trigger.reason} ({', '.join(dict.fromkeys(matched))})")


def assess_severity(
    *,
    text: str,
    category: Category,
    temperatures: list[TemperatureReading],
    ages: list[StatedAge],
    history: Mapping[str, int],
    rules: Rules,
) -> tuple[Severity, list[Finding]]:
    """The severity and every finding that supports it, gravest first."""
    findings = []
    for trigger in rules.severity_triggers:
        if (trigger.categories and category not in trigger.categories) or category in trigger.skip_categories:
            continue
        finding = _trigger_finding(trigger, text, temperatures, ages, rules)
        if finding is not None:
            findings.append(finding)

    nth = history.get(category, 0) + 1
    if nth >= rules.repeat.nth_complaint:
        findings.append(
            Finding(
                rules.repeat.level,
                f"severity {rules.repeat.level}: repeat complaint ({ordinal(nth)} {category} complaint "
                f"in the {rules.repeat.window_days}-day window)",
            )
        )
    findings.sort(key=lambda f: -f.level.rank)
    return (findings[0].level if findings else Severity.NORMAL), findings
