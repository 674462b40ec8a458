-- Issue 25: whose contact it is (complaint.contact v2's customer_id): a customer's messages leave followup sealed
-- with their key (notification.requested v4), and an erasure finds their contacts by complaint.
ALTER TABLE contacts ADD COLUMN customer_id uuid;
