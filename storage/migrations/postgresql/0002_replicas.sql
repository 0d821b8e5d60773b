-- Several webhook replicas on one database (SQLite: sqlite/0013_replicas.sql, which
-- explains each table). An update applied at most once across replicas:
CREATE TABLE update_claims (
    update_id   BIGINT PRIMARY KEY,
    state       TEXT   NOT NULL CHECK (state IN ('working', 'done')),
    lease_until TEXT   NOT NULL,
    claimed_at  TEXT   NOT NULL
);

CREATE INDEX update_claims_age ON update_claims (claimed_at);

-- The bulk sender's token bucket, shared by every replica.
CREATE TABLE send_budgets (
    name        TEXT             PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    refilled_at DOUBLE PRECISION NOT NULL
);

-- No row until the first send: a new database holds no data (`carecheck db copy`).

-- A send claimed but not yet settled: nobody else sends it until then (send_leases.py).
ALTER TABLE notifications ADD COLUMN sending_until TEXT;
ALTER TABLE digest_parts_sent ADD COLUMN sending_until TEXT;
ALTER TABLE action_news_sent ADD COLUMN sending_until TEXT;
ALTER TABLE safeguarding_sends ADD COLUMN sending_until TEXT;
