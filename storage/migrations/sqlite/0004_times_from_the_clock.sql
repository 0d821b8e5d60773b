-- carecheck: foreign_keys=off
-- Every stored instant now comes from the application's injected clock: the columns
-- that defaulted to SQLite's real 'now' lose that default. SQLite cannot drop a
-- default in place, so each table is rebuilt (the documented 12-step procedure:
-- foreign keys are off during the rebuild and checked before the commit).

CREATE TABLE organisations_new (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL CHECK (length(trim(name)) > 0),
    timezone         TEXT    NOT NULL DEFAULT 'Europe/Ljubljana',
    language         TEXT    NOT NULL DEFAULT 'en',
    k_threshold      INTEGER NOT NULL DEFAULT 5 CHECK (k_threshold >= 1),
    lens             TEXT    NOT NULL DEFAULT 'equass',
    checkin_weekday  INTEGER NOT NULL DEFAULT 0 CHECK (checkin_weekday BETWEEN 0 AND 6),
    checkin_hour     INTEGER NOT NULL DEFAULT 9 CHECK (checkin_hour BETWEEN 0 AND 23),
    retention_months INTEGER NOT NULL DEFAULT 24 CHECK (retention_months >= 1),
    is_demo          INTEGER NOT NULL DEFAULT 0 CHECK (is_demo IN (0, 1)),
    created_at       TEXT    NOT NULL
);
INSERT INTO organisations_new SELECT * FROM organisations;
DROP TABLE organisations;
ALTER TABLE organisations_new RENAME TO organisations;

CREATE TABLE people_new (
    id          INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL UNIQUE,
    language    TEXT    NOT NULL DEFAULT 'en',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT    NOT NULL
);
INSERT INTO people_new SELECT * FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;

CREATE TABLE invites_new (
    code       TEXT    PRIMARY KEY CHECK (length(code) BETWEEN 16 AND 64),
    org_id     INTEGER REFERENCES organisations (id) ON DELETE CASCADE,
    unit_id    INTEGER,
    role       TEXT    NOT NULL CHECK (role IN ('staff', 'service_user', 'manager', 'admin')),
    max_uses   INTEGER CHECK (max_uses IS NULL OR max_uses >= 1),
    uses       INTEGER NOT NULL DEFAULT 0
               CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    expires_at TEXT,
    revoked_at TEXT,
    created_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at TEXT    NOT NULL,
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id) ON DELETE CASCADE,
    CHECK (org_id IS NOT NULL OR (unit_id IS NULL AND role = 'admin'))
) WITHOUT ROWID;
INSERT INTO invites_new SELECT * FROM invites;
DROP TABLE invites;
ALTER TABLE invites_new RENAME TO invites;
CREATE INDEX invites_by_org ON invites (org_id, created_at);

CREATE TABLE script_versions_new (
    id            INTEGER PRIMARY KEY,
    script_id     TEXT    NOT NULL,
    org_id        INTEGER REFERENCES organisations (id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    source_text   TEXT    NOT NULL,
    source_format TEXT    NOT NULL CHECK (source_format IN ('yaml', 'xlsx')),
    sha256        TEXT    NOT NULL CHECK (length(sha256) = 64),
    title         TEXT    NOT NULL,
    published_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    published_at  TEXT    NOT NULL,
    shipped       INTEGER NOT NULL DEFAULT 0 CHECK (shipped IN (0, 1))
);
INSERT INTO script_versions_new SELECT * FROM script_versions;
DROP TABLE script_versions;
ALTER TABLE script_versions_new RENAME TO script_versions;
CREATE UNIQUE INDEX script_versions_unique
    ON script_versions (script_id, ifnull(org_id, 0), version);

CREATE TABLE active_scripts_new (
    script_id         TEXT    NOT NULL,
    org_id            INTEGER REFERENCES organisations (id),
    script_version_id INTEGER NOT NULL REFERENCES script_versions (id),
    activated_at      TEXT    NOT NULL
);
INSERT INTO active_scripts_new SELECT * FROM active_scripts;
DROP TABLE active_scripts;
ALTER TABLE active_scripts_new RENAME TO active_scripts;
CREATE UNIQUE INDEX active_scripts_scope ON active_scripts (script_id, ifnull(org_id, 0));

CREATE TABLE actions_new (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organisations (id),
    unit_id    INTEGER,
    framework  TEXT    NOT NULL,
    item_id    TEXT    NOT NULL,
    title      TEXT    NOT NULL CHECK (length(trim(title)) > 0),
    owner      TEXT,
    due_on     TEXT,
    status     TEXT    NOT NULL DEFAULT 'open'
               CHECK (status IN ('open', 'started', 'done', 'dropped')),
    baseline   REAL,
    created_by INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    done_on    TEXT,
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id),
    CHECK ((status = 'done') = (done_on IS NOT NULL))
);
INSERT INTO actions_new SELECT * FROM actions;
DROP TABLE actions;
ALTER TABLE actions_new RENAME TO actions;
CREATE INDEX actions_by_org ON actions (org_id, status, due_on);

CREATE TABLE digests_sent_new (
    org_id    INTEGER NOT NULL REFERENCES organisations (id),
    unit_id   INTEGER NOT NULL DEFAULT 0,
    period    TEXT    NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    sent_at   TEXT    NOT NULL,
    PRIMARY KEY (org_id, unit_id, period, person_id)
) WITHOUT ROWID;
INSERT INTO digests_sent_new SELECT * FROM digests_sent;
DROP TABLE digests_sent;
ALTER TABLE digests_sent_new RENAME TO digests_sent;

CREATE TABLE notifications_new (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    period    TEXT    NOT NULL,
    kind      TEXT    NOT NULL CHECK (kind IN ('pulse', 'reminder')),
    sent_at   TEXT    NOT NULL,
    PRIMARY KEY (person_id, org_id, period, kind)
) WITHOUT ROWID;
INSERT INTO notifications_new SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
