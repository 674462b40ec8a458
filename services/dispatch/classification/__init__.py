"""Complaint classification: category, department, severity and validity from text, channel and history.

Pure functions over operator-editable rules (rules.toml): no broker, no database.
"""

from services.dispatch.classification.classifier import classify
from services.dispatch.classification.models import Classification, ComplaintFacts
from services.dispatch.classification.rules import DEFAULT_RULES_PATH, Rules, RulesError, load_rules, parse_rules

__all__ = [
    "DEFAULT_RULES_PATH",
    "Classification",
    "ComplaintFacts",
    "Rules",
    "RulesError",
    "classify",
    "load_rules",
    "parse_rules",
]
