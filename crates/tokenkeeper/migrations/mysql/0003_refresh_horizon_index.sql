-- Serves the planning of reminders before refresh tokens reach their fixed end of life,
-- which runs at every sweep and must not scan the whole table.
CREATE INDEX social_network_refresh_horizon ON social_network (refresh_token_expires_at);
