-- An organisation's own framework (KQS: its own quality areas and its definition of a
-- successful service), kept as the YAML text it was published as. Each publish is a new
-- version; the newest is live and the older ones are kept. The id is the
-- organisation's own: the same id in two organisations names two frameworks.
CREATE TABLE own_framework_versions (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    framework_id  TEXT    NOT NULL CHECK (framework_id GLOB 'own-?*'),
    version       INTEGER NOT NULL CHECK (version >= 1),
    source_text   TEXT    NOT NULL,
    source_format TEXT    NOT NULL CHECK (source_format IN ('yaml', 'xlsx')),
    sha256        TEXT    NOT NULL CHECK (length(sha256) = 64),
    title         TEXT    NOT NULL,
    published_by  INTEGER REFERENCES people (id) ON DELETE SET NULL,
    published_at  TEXT    NOT NULL,
    UNIQUE (org_id, framework_id, version)
);
