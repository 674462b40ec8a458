-- A staff member's phone (E.164 or a mainland number, digits with an optional leading +): where notify sends the
-- SMS of an urgent staff notice (the duty manager's call), beside `contact` (an e-mail) and the console's inbox.
ALTER TABLE staff ADD COLUMN phone text;
