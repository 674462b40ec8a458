-- A partner hotline's deadline on its ticket (12345, 95598: complaint.received v4 partner_deadline_at): when it is
-- stricter than the policy's, the case's work orders are held to it (their clocks end there).
ALTER TABLE cases ADD COLUMN partner_deadline_at timestamptz;
