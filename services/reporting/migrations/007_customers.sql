-- Issue 23: a household is its customer, not only its account. complaint.received v4 names the customer intake
-- matched (by account, phone or normalised address): a case keeps it, and the key of its address
-- (shared/addresses.py, without the district) so an agent finds it however the address is typed. Cases projected
-- before this release have neither (events before v4 name no customer; the key is computed in Python): run
-- `rebuild` after upgrading to fill address_key.
ALTER TABLE cases
    ADD COLUMN customer_id  uuid,
    ADD COLUMN address_key  text;

CREATE INDEX cases_customer ON cases (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX cases_address_key ON cases (address_key) WHERE address_key IS NOT NULL;
