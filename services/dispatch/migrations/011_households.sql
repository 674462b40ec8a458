-- Repeats and duplicates by customer, not only by account (issue 23): intake matches a complaint to a customer
-- by account, else phone, else address (complaint.received v4 `customer_id`). A case's `household` is the key its
-- repeats and duplicates are counted under: the household its customer was first given here — the account of the
-- customer's first complaint seen with one, else the customer id — or, for events before v4, the account.
-- Keeping a customer's first household (rather than always the customer id) keeps the cases routed before
-- customers were matched (household = their account) in the same history as the ones after.
CREATE TABLE customer_households (
    customer_id uuid PRIMARY KEY,
    household   text NOT NULL
);

ALTER TABLE cases ADD COLUMN household text;
UPDATE cases SET household = account_no WHERE account_no IS NOT NULL;
CREATE INDEX cases_household_category ON cases (household, category, accepted_at) WHERE household IS NOT NULL;
