-- Issue 25: a corrected contact (intake's PIPL correction: a new complaint.contact for the case) replaces the one
-- kept, when it happened later; a copy of the older one redelivered or replayed does not undo it.
ALTER TABLE contacts ADD COLUMN contact_at timestamptz;
