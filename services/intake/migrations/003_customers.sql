-- Customers (households) by every key intake has seen for them: a complaint is matched by account, else phone,
-- else address (services/intake/customers.py). A key belongs to the first customer seen with it.
--   kind 'account': the account number, upper case
--   kind 'phone':   a keyed HMAC of the phone's digits (no number stored)
--   kind 'address': the dwelling's normalised key (shared/addresses.py), district first
CREATE TABLE customer_keys (
    kind          text        NOT NULL CHECK (kind IN ('account', 'phone', 'address')),
    key           text        NOT NULL,
    customer_id   uuid        NOT NULL,
    first_seen_at timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

-- "Has this customer an account already?" (a complaint with another account is not matched to them).
CREATE INDEX customer_keys_customer ON customer_keys (customer_id, kind);

-- The customer each complaint was matched to (null for complaints accepted before customers were matched).
ALTER TABLE complaints ADD COLUMN customer_id uuid;
