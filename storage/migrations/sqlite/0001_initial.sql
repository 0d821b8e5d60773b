-- The initial schema. Instants are UTC text 'YYYY-MM-DDTHH:MM:SSZ', days 'YYYY-MM-DD'.
-- A NULL org_id means "global" where allowed; unique keys over such columns use
-- ifnull(org_id, 0) because SQLite treats NULLs as distinct (org ids start at 1).

CREATE TABLE organisations (
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
    created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE units (
    id     INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name   TEXT    NOT NULL CHECK (length(trim(name)) > 0),
    UNIQUE (org_id, name),
    -- Target of the (unit_id, org_id) foreign keys: a unit always belongs to the row's org.
    UNIQUE (id, org_id)
);

-- Staff, managers and admins only. Service users never get a row here.
CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    telegram_id INTEGER NOT NULL UNIQUE,
    language    TEXT    NOT NULL DEFAULT 'en',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE memberships (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id    INTEGER REFERENCES organisations (id) ON DELETE CASCADE,
    unit_id   INTEGER,
    role      TEXT    NOT NULL CHECK (role IN ('staff', 'manager', 'admin')),
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id) ON DELETE CASCADE,
    -- Only an admin may be global (no organisation).
    CHECK (org_id IS NOT NULL OR (unit_id IS NULL AND role = 'admin'))
);
CREATE UNIQUE INDEX memberships_unique
    ON memberships (person_id, ifnull(org_id, 0), ifnull(unit_id, 0), role);
CREATE INDEX memberships_by_org ON memberships (org_id, role, unit_id);

CREATE TABLE invites (
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
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id) ON DELETE CASCADE,
    CHECK (org_id IS NOT NULL OR (unit_id IS NULL AND role = 'admin'))
) WITHOUT ROWID;
CREATE INDEX invites_by_org ON invites (org_id, created_at);

-- Every published text, kept verbatim; answers point at the version they were given under.
CREATE TABLE script_versions (
    id            INTEGER PRIMARY KEY,
    script_id     TEXT    NOT NULL,
    org_id        INTEGER REFERENCES organisations (id),
    version       INTEGER NOT NULL CHECK (version >= 1),
    source_text   TEXT    NOT NULL,
    source_format TEXT    NOT NULL CHECK (source_format IN ('yaml', 'xlsx')),
    sha256        TEXT    NOT NULL CHECK (length(sha256) = 64),
    title         TEXT    NOT NULL,
    published_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    published_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX script_versions_unique
    ON script_versions (script_id, ifnull(org_id, 0), version);

CREATE TABLE active_scripts (
    script_id         TEXT    NOT NULL,
    org_id            INTEGER REFERENCES organisations (id),
    script_version_id INTEGER NOT NULL REFERENCES script_versions (id),
    activated_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE UNIQUE INDEX active_scripts_scope ON active_scripts (script_id, ifnull(org_id, 0));

-- The crosswalk question -> framework items, captured at publish for digest joins.
CREATE TABLE question_items (
    script_version_id INTEGER NOT NULL REFERENCES script_versions (id) ON DELETE CASCADE,
    question_id       TEXT    NOT NULL,
    framework         TEXT    NOT NULL,
    item_id           TEXT    NOT NULL,
    PRIMARY KEY (script_version_id, question_id, framework, item_id)
) WITHOUT ROWID;
CREATE INDEX question_items_by_item ON question_items (framework, item_id);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY,
    script_version_id INTEGER NOT NULL REFERENCES script_versions (id),
    org_id            INTEGER NOT NULL REFERENCES organisations (id),
    unit_id           INTEGER,
    audience          TEXT    NOT NULL CHECK (audience IN ('staff', 'service_user')),
    -- Staff only; NULL after /forget.
    person_id         INTEGER REFERENCES people (id) ON DELETE SET NULL,
    -- Service users only: HMAC of the Telegram id, cleared when the session completes.
    respondent_key    TEXT,
    period            TEXT    NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-W[0-5][0-9]'),
    state_json        TEXT    NOT NULL DEFAULT '{}',
    status            TEXT    NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'paused', 'done')),
    revision          INTEGER NOT NULL DEFAULT 0,
    started_on        TEXT    NOT NULL,
    updated_on        TEXT    NOT NULL,
    completed_on      TEXT,
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id),
    CHECK (audience = 'staff' OR person_id IS NULL),
    CHECK (audience = 'service_user' OR respondent_key IS NULL),
    CHECK ((status = 'done') = (completed_on IS NOT NULL))
);
CREATE INDEX sessions_open_by_person
    ON sessions (person_id, org_id, period) WHERE status <> 'done' AND person_id IS NOT NULL;
CREATE INDEX sessions_open_by_respondent
    ON sessions (respondent_key, org_id, period) WHERE respondent_key IS NOT NULL;
CREATE INDEX sessions_by_org ON sessions (org_id, period, audience, status);

-- One row per question answered in a session. org_id ... script_version_id repeat the
-- session's values so that digest queries read only this table's indexes.
CREATE TABLE answers (
    id                INTEGER PRIMARY KEY,
    session_id        INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    question_id       TEXT    NOT NULL,
    score             REAL    CHECK (score IS NULL OR score BETWEEN 1 AND 5),
    value_num         REAL,
    value_text        TEXT,
    value_json        TEXT    CHECK (value_json IS NULL OR json_valid(value_json)),
    not_applicable    INTEGER NOT NULL DEFAULT 0 CHECK (not_applicable IN (0, 1)),
    skipped           INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1)),
    comment           TEXT,
    answered_on       TEXT    NOT NULL,
    org_id            INTEGER NOT NULL,
    unit_id           INTEGER,
    audience          TEXT    NOT NULL,
    period            TEXT    NOT NULL,
    script_version_id INTEGER NOT NULL,
    UNIQUE (session_id, question_id)
);
CREATE INDEX answers_digest ON answers (org_id, period, audience, question_id, score);
CREATE INDEX answers_by_unit ON answers (org_id, unit_id, period);

-- Stops a service user submitting twice in a period, without linking them to their answers.
CREATE TABLE submissions (
    respondent_key TEXT    NOT NULL,
    script_id      TEXT    NOT NULL,
    org_id         INTEGER NOT NULL REFERENCES organisations (id),
    period         TEXT    NOT NULL,
    PRIMARY KEY (respondent_key, script_id, org_id, period)
) WITHOUT ROWID;

-- Which questions a person was asked in the current rotation cycle of a script.
CREATE TABLE rotations (
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    script_id  TEXT    NOT NULL,
    cycle      INTEGER NOT NULL DEFAULT 0 CHECK (cycle >= 0),
    asked_json TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(asked_json)),
    PRIMARY KEY (person_id, script_id)
) WITHOUT ROWID;

CREATE TABLE actions (
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
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    done_on    TEXT,
    FOREIGN KEY (unit_id, org_id) REFERENCES units (id, org_id),
    CHECK ((status = 'done') = (done_on IS NOT NULL))
);
CREATE INDEX actions_by_org ON actions (org_id, status, due_on);

-- unit_id 0 stands for the whole organisation, so the unique key works without NULLs.
CREATE TABLE digests_sent (
    org_id    INTEGER NOT NULL REFERENCES organisations (id),
    unit_id   INTEGER NOT NULL DEFAULT 0,
    period    TEXT    NOT NULL,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    sent_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (org_id, unit_id, period, person_id)
) WITHOUT ROWID;
