-- The refresh engine: its audit trail, its runs, and the outbox of notifications that its
-- state changes produce (written in the same transaction as the change).

CREATE TABLE sweep_runs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The scheduled slot; unique, so only one instance runs each slot. NULL for manual runs.
    slot            TIMESTAMPTZ UNIQUE,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    as_of           TIMESTAMPTZ NOT NULL,
    due             BIGINT NOT NULL DEFAULT 0,
    refreshed       BIGINT NOT NULL DEFAULT 0,
    failing         BIGINT NOT NULL DEFAULT 0,
    needs_reconnect BIGINT NOT NULL DEFAULT 0,
    skipped         BIGINT NOT NULL DEFAULT 0,
    outcome         TEXT NOT NULL DEFAULT 'running',
    error           TEXT
);

-- Append-only: one row per call to LinkedIn's token endpoint (or decision without a call).
CREATE TABLE refresh_log (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL,
    run_id       BIGINT,
    attempted_at TIMESTAMPTZ NOT NULL,
    duration_ms  BIGINT NOT NULL,
    outcome      TEXT NOT NULL,
    http_status  INTEGER,
    error_code   TEXT,
    attempt      INTEGER NOT NULL
);
CREATE INDEX refresh_log_account ON refresh_log (account_id, id);
CREATE INDEX refresh_log_time ON refresh_log (attempted_at);

CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id      BIGINT NOT NULL REFERENCES social_network (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    episode         TEXT NOT NULL,
    -- account:episode:kind. One email per event, however many processes write it.
    dedupe_key      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    send_after      TIMESTAMPTZ NOT NULL,
    deadline        TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT,
    message_id      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX notifications_pending ON notifications (status, next_attempt_at);
CREATE INDEX notifications_account ON notifications (account_id);
