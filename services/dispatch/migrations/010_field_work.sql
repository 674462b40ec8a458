-- What crews record on site: findings (a measured indoor temperature, a note) and photos (the bytes are in the photo
-- storage under storage_key; here their type, size and checksum, who took them and when).
CREATE TABLE findings (
    finding_id            uuid             PRIMARY KEY,
    work_order_id         uuid             NOT NULL REFERENCES work_orders (work_order_id),
    indoor_temperature_c  double precision CHECK (indoor_temperature_c BETWEEN -40 AND 60),
    note                  text,
    actor                 text             NOT NULL,
    actor_name            text             NOT NULL,
    at                    timestamptz      NOT NULL
);
CREATE INDEX findings_work_order ON findings (work_order_id, at);

CREATE TABLE photos (
    photo_id       uuid        PRIMARY KEY,
    work_order_id  uuid        NOT NULL REFERENCES work_orders (work_order_id),
    content_type   text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size_bytes     integer     NOT NULL CHECK (size_bytes > 0),
    sha256         text        NOT NULL,
    storage_key    text        NOT NULL UNIQUE,
    actor          text        NOT NULL,
    actor_name     text        NOT NULL,
    at             timestamptz NOT NULL
);
CREATE INDEX photos_work_order ON photos (work_order_id, at);

-- A crew's jobs: its open work orders, most urgent first (as the department queue).
CREATE INDEX work_orders_crew ON work_orders (crew, priority, resolve_by, work_order_id)
    WHERE crew IS NOT NULL AND status IN ('assigned', 'acknowledged', 'in_progress');
