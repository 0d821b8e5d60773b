-- Several webhook replicas on one database.
-- `update_claims`: an update is applied at most once across replicas. A replica claims
-- its update_id (state 'working', with a lease from the clock) before it processes it and
-- marks it 'done' after; a redelivery of a done update is acknowledged unprocessed, and a
-- claim whose lease ran out (its replica died) is taken over. Retention prunes old rows.
CREATE TABLE update_claims (
    update_id   INTEGER PRIMARY KEY,
    state       TEXT    NOT NULL CHECK (state IN ('working', 'done')),
    lease_until TEXT    NOT NULL,
    claimed_at  TEXT    NOT NULL
);

CREATE INDEX update_claims_age ON update_claims (claimed_at);

-- `send_budgets`: the bulk sender's token bucket, shared by every replica on the database
-- (Telegram's ~30 messages/s is per bot, not per process). One row per budget; tokens
-- are refilled from the injected clock's elapsed time (seconds since the epoch, as a
-- float: the stored instant text has whole seconds only) inside a write transaction.
CREATE TABLE send_budgets (
    name        TEXT PRIMARY KEY,
    tokens      REAL NOT NULL,
    refilled_at REAL NOT NULL
);

-- No row until the first send: a new database holds no data (`carecheck db copy`).

-- A send claimed but not yet settled: until this instant nobody else sends it; after it,
-- another run (another replica) takes the claim over. NULL: settled (storage/send_leases.py).
ALTER TABLE notifications ADD COLUMN sending_until TEXT;
ALTER TABLE digest_parts_sent ADD COLUMN sending_until TEXT;
ALTER TABLE action_news_sent ADD COLUMN sending_until TEXT;
ALTER TABLE safeguarding_sends ADD COLUMN sending_until TEXT;
