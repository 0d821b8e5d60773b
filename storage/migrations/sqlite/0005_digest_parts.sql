-- A weekly digest is several messages, a chart, a report and the plan buttons. Each part
-- is claimed here before it is sent, so a part that failed is tried again alone and a
-- part already delivered is never sent twice. `digests_sent` stays the record of a
-- digest whose every part went out.
CREATE TABLE digest_parts_sent (
    org_id    INTEGER NOT NULL REFERENCES organisations (id),
    unit_id   INTEGER NOT NULL DEFAULT 0,
    period    TEXT    NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    part      TEXT    NOT NULL CHECK (length(part) BETWEEN 1 AND 40),
    sent_at   TEXT    NOT NULL,
    PRIMARY KEY (org_id, unit_id, period, person_id, part)
) WITHOUT ROWID;
