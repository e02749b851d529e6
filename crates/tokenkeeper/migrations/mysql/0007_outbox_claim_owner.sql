-- Who holds a notification's claim. Marking a row sent, retried or failed requires the same
-- owner, so a worker whose claim expired and was taken over cannot overwrite the outcome of
-- the worker that holds it now.
ALTER TABLE notifications ADD COLUMN claimed_by VARCHAR(255);
