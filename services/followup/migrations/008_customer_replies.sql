-- Issue 23: a customer answers our survey SMS with a mark from 1 to 5 (complaint.customer_replied): kept on the
-- case's callback beside the agent's survey, with when it came.
ALTER TABLE callbacks
    ADD COLUMN survey_score     smallint CHECK (survey_score BETWEEN 1 AND 5),
    ADD COLUMN survey_scored_at timestamptz;
