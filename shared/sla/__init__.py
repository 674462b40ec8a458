"""SLA policy shared by dispatch (deadlines on routing) and followup (clocks, warnings, escalations)."""

from shared.sla.calendar import WorkCalendar
from shared.sla.limits import Limit, parse_limit
from shared.sla.policy import Deadlines, SlaPolicy, SlaTable, load_sla_table

__all__ = ["Deadlines", "Limit", "SlaPolicy", "SlaTable", "WorkCalendar", "load_sla_table", "parse_limit"]
