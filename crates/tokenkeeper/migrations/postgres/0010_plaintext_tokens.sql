-- What the database records about itself, one setting a row.
CREATE TABLE store_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- allow_plaintext: whether a token value without the sealed form (no ':') is read as a token
-- while encryption.allow_plaintext is not set. Such values are what versions before
-- encryption wrote, but anyone with write access to the database can write one too. So only a
-- database that held some when this version first migrated it (an upgrade, until
-- `keys rotate` seals them) accepts them; a database created by this version never does.
-- Empty values are no token at all and do not count.
INSERT INTO store_settings (name, value)
SELECT 'allow_plaintext',
       CASE WHEN EXISTS (
           SELECT 1 FROM social_network
           WHERE (token <> '' AND token NOT LIKE '%:%')
              OR (refresh_token <> '' AND refresh_token NOT LIKE '%:%')
       ) THEN 'true' ELSE 'false' END;

-- Accounts a sweep claimed but could not refresh because their stored tokens do not open.
ALTER TABLE sweep_runs ADD COLUMN unreadable BIGINT NOT NULL DEFAULT 0;
