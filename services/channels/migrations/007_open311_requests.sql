-- Service requests civic apps filed over Open311 GeoReport v2 (the token is the stored message's id). Only what a
-- GET may show is kept here, made public when stored: the description with phones and mail addresses masked, the
-- district for the address, coordinates rounded to about 100 m. Names, phone and email stay in the restricted raw
-- message (inbound_messages).
CREATE TABLE open311_requests (
    message_id   uuid             PRIMARY KEY REFERENCES inbound_messages (message_id),
    client       text             NOT NULL,
    service_code text             NOT NULL,
    requested_at timestamptz      NOT NULL,
    description  text             NOT NULL,
    address      text,
    latitude     double precision,
    longitude    double precision,
    media_url    text,
    complaint_id uuid
);
CREATE INDEX open311_requests_requested ON open311_requests (requested_at DESC);
CREATE INDEX open311_requests_case ON open311_requests (complaint_id);
