-- What became of each email, for the success report (`tokenkeeper report`). Both are written
-- in the transaction of the event itself: `link_opened_at` when the member next opens a
-- connect link after the email was sent (the attempt's insert), `reconnected_at` when the
-- member connects again (the account's upsert, which also ends the episode). The account row
-- keeps only its latest linking and used links are purged, so nothing else remembers either.
-- Rows written before this migration have neither.
ALTER TABLE notifications ADD COLUMN link_opened_at TIMESTAMPTZ;
ALTER TABLE notifications ADD COLUMN reconnected_at TIMESTAMPTZ;
-- The report reads notifications by these three instants over a window: none may scan the table.
CREATE INDEX notifications_created ON notifications (created_at);
CREATE INDEX notifications_sent ON notifications (sent_at);
CREATE INDEX notifications_reconnected ON notifications (reconnected_at);
