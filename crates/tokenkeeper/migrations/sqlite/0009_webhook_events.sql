-- The webhook outbox: one row per event, written in the transaction of the state change it
-- tells of, and a snapshot of the account as that change left it (no token column). It has
-- no foreign key: `account.deleted` outlives its account.
CREATE TABLE webhook_events (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The `webhook-id` header, the same on every attempt.
    message_id               TEXT NOT NULL UNIQUE,
    event_type               TEXT NOT NULL,
    occurred_at              TEXT NOT NULL,
    account_id               INTEGER NOT NULL,
    user_id                  TEXT NOT NULL,
    network                  TEXT NOT NULL,
    status                   TEXT NOT NULL,
    reason                   TEXT,
    version                  INTEGER NOT NULL,
    expiration               TEXT NOT NULL,
    token_expires_at         TEXT NOT NULL,
    refresh_token_expires_at TEXT,
    has_refresh_token        INTEGER NOT NULL,
    -- account.expiring: which end comes, and when.
    ending                   TEXT,
    ends_at                  TEXT,
    -- Events planned ahead (account.expiring) are written once per account and end.
    dedupe_key               TEXT UNIQUE,
    delivery_status          TEXT NOT NULL DEFAULT 'pending'
                             CHECK (delivery_status IN ('pending', 'delivered', 'failed')),
    attempts                 INTEGER NOT NULL DEFAULT 0,
    next_attempt_at          TEXT NOT NULL,
    claimed_until            TEXT,
    claimed_by               TEXT,
    last_error               TEXT,
    response_status          INTEGER,
    delivered_at             TEXT
);
CREATE INDEX webhook_events_due ON webhook_events (delivery_status, next_attempt_at);
CREATE INDEX webhook_events_account ON webhook_events (account_id, id);
