-- The staff directory (ours): who works here, in which roles, department and crew, and where staff notices go.
-- Filled by imports (python -m services.console.directory import) and by every sign-in (the provider's claims).
CREATE TABLE staff (
    staff_id        text        PRIMARY KEY,
    display_name    text        NOT NULL,
    display_name_en text,
    roles           text[]      NOT NULL DEFAULT '{}',
    department      text,
    crew            text,
    contact         text,
    active          boolean     NOT NULL DEFAULT true,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz
);
CREATE INDEX staff_department ON staff (department, staff_id);

-- Who holds which duty when: the duty manager, a department's manager, who is on call.
CREATE TABLE rota (
    rota_id    bigserial   PRIMARY KEY,
    duty       text        NOT NULL,
    staff_id   text        NOT NULL REFERENCES staff (staff_id),
    department text,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz,
    CHECK (ends_at IS NULL OR ends_at > starts_at)
);
CREATE INDEX rota_duty ON rota (duty, starts_at);

-- Sign-ins sent to the identity provider and not yet answered: the PKCE verifier and nonce of each, keyed by a
-- hash of its state (single use, short-lived).
CREATE TABLE sign_ins (
    state_hash    text        PRIMARY KEY,
    nonce         text        NOT NULL,
    code_verifier text        NOT NULL,
    next_path     text        NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sign_ins_expiry ON sign_ins (expires_at);

-- Signed-in people. The browser holds only an opaque random id; its SHA-256 is the key here, so reading this
-- table does not let anyone present a live session. The tokens never leave the server.
CREATE TABLE sessions (
    session_hash       text        PRIMARY KEY,
    staff_id           text        NOT NULL,
    person             jsonb       NOT NULL,
    access_token       text        NOT NULL,
    access_expires_at  timestamptz NOT NULL,
    refresh_token      text,
    refresh_expires_at timestamptz,
    id_token           text        NOT NULL,
    csrf_token         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    expires_at         timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_staff ON sessions (staff_id);
