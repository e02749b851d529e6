-- The webhook outbox: one row per event, written in the transaction of the state change it
-- tells of, and a snapshot of the account as that change left it (no token column). It has
-- no foreign key: `account.deleted` outlives its account.
CREATE TABLE webhook_events (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The `webhook-id` header, the same on every attempt.
    message_id               TEXT NOT NULL UNIQUE,
    event_type               TEXT NOT NULL,
    occurred_at              TIMESTAMPTZ NOT NULL,
    account_id               BIGINT NOT NULL,
    user_id                  TEXT NOT NULL,
    network                  TEXT NOT NULL,
    status                   TEXT NOT NULL,
    reason                   TEXT,
    version                  BIGINT NOT NULL,
    expiration               TIMESTAMPTZ NOT NULL,
    token_expires_at         TIMESTAMPTZ NOT NULL,
    refresh_token_expires_at TIMESTAMPTZ,
    has_refresh_token        BOOLEAN NOT NULL,
    -- account.expiring: which end comes, and when.
    ending                   TEXT,
    ends_at                  TIMESTAMPTZ,
    -- Events planned ahead (account.expiring) are written once per account and end.
    dedupe_key               TEXT UNIQUE,
    delivery_status          TEXT NOT NULL DEFAULT 'pending'
                             CHECK (delivery_status IN ('pending', 'delivered', 'failed')),
    attempts                 INTEGER NOT NULL DEFAULT 0,
    next_attempt_at          TIMESTAMPTZ NOT NULL,
    claimed_until            TIMESTAMPTZ,
    claimed_by               TEXT,
    last_error               TEXT,
    response_status          INTEGER,
    delivered_at             TIMESTAMPTZ
);
CREATE INDEX webhook_events_due ON webhook_events (delivery_status, next_attempt_at);
CREATE INDEX webhook_events_account ON webhook_events (account_id, id);
