-- Issue 25: rate limits shared by a service's replicas (shared/http/rate_counts.py). Per limit (`scope`), per key
-- (a hash of the credential, or a keyed hash of the phone: never either in clear) and per fixed window of the
-- limit's length (`window_no`: epoch seconds divided by the window), how many requests were let through. The
-- limit judges the current window plus the previous one's share still inside the sliding window; rows two windows
-- old are deleted as the counting goes.
CREATE TABLE rate_limit_counts (
    scope     text    NOT NULL,
    key       text    NOT NULL,
    window_no bigint  NOT NULL,
    hits      integer NOT NULL,
    PRIMARY KEY (scope, key, window_no)
);
