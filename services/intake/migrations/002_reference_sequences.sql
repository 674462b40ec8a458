-- Reference numbers from a sequence per local day, instead of one counter row every submission updated and
-- held locked until it committed (a queue all submissions waited in, fsync included). A sequence is taken
-- without a lock and without waiting for anyone's commit; each day has its own, so numbers still restart daily
-- (TS-YYYYMMDD-NNNNNN). A sequence is not transactional: a number taken by a submission that then fails is
-- skipped (see the README).
--
-- `reference_counters` stays as the record of the numbers issued before sequences: a day's sequence starts
-- after the day's counter, so a day that began under the counter continues without a clash.

-- The form of `services/intake/reference.py` (`format_reference`), in SQL for the one statement that stores a
-- submission; a test checks that both agree.
CREATE FUNCTION reference_no(day date, sequence bigint) RETURNS text
    LANGUAGE sql STABLE STRICT AS $$
    SELECT 'TS-' || to_char(day, 'YYYYMMDD') || '-'
        || CASE WHEN sequence < 1000000 THEN lpad(sequence::text, 6, '0') ELSE sequence::text END
$$;

-- The day's sequence, created by the day's first submission (CREATE ... IF NOT EXISTS; a submission racing it
-- waits for the creator's commit and then uses it).
CREATE FUNCTION create_reference_sequence(day date) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    start bigint := coalesce((SELECT last_value FROM intake.reference_counters c WHERE c.day = $1), 0) + 1;
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS intake.%I START WITH %s', 'reference_' || to_char(day, 'YYYYMMDD'), start);
EXCEPTION WHEN unique_violation THEN
    NULL;  -- another submission created it first and has committed: it is there now
END $$;

-- The day's next number (the first is 1, or the one after the day's counter).
CREATE FUNCTION next_reference_sequence(day date) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    name text := 'intake.reference_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NULL THEN
        PERFORM intake.create_reference_sequence(day);
    END IF;
    RETURN nextval(name::regclass);
END $$;
