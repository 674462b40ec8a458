-- Issue 27: a case's timers by complaint, instead of a second index by subject.
-- `timers_subject` repeated the leading column of the unique key (subject_id, kind, stage, level), which serves the
-- same lookups (a stage's cancel, a deadline's move, the escalation ladder): a fourth random B-tree write for every
-- timer row (about five per routed complaint) that no query needed. Reading a case's timers (`GET …/sla`) and
-- cancelling its satisfaction check (a callback's outcome) had no index at all and read the whole table, which grows
-- by those five rows per complaint. The same number of indexes, each one used.
DROP INDEX IF EXISTS timers_subject;
CREATE INDEX timers_complaint ON timers (complaint_id);
