-- Scores cover windows of whole weeks by the day each answer was given: an index for
-- reading one organisation's windows.
CREATE INDEX answers_by_day ON answers (org_id, audience, answered_on);

-- Who a session's answers count as when they are no longer linked to a person: a
-- random token that leads nowhere. A forgotten staff member's sessions share one, so
-- they still count as one respondent and not one per session.
ALTER TABLE sessions ADD COLUMN respondent TEXT;

-- An organisation's window lengths: each row starts a segment of windows of `weeks`
-- weeks on a Monday. No rows: 8-week windows from 2000-01-03.
CREATE TABLE window_plans (
    org_id    INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    starts_on TEXT    NOT NULL CHECK (starts_on GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    weeks     INTEGER NOT NULL CHECK (weeks IN (4, 8, 13, 26, 52)),
    PRIMARY KEY (org_id, starts_on)
) WITHOUT ROWID;

-- A staff member who used /forget during a window still counts once in it: the keyed
-- mark of (account, organisation, window) leads to the token their sessions now carry,
-- until the window is over; then the row goes, and nothing links them any more.
CREATE TABLE respondent_marks (
    mark  TEXT NOT NULL PRIMARY KEY,
    token TEXT NOT NULL,
    until TEXT NOT NULL
) WITHOUT ROWID;

-- Submission marks now outlive /forget until their period is over, so /forget cannot
-- reset "once a week" (staff) or "once a window" (service users); `until` is that day.
ALTER TABLE submissions ADD COLUMN until TEXT;
UPDATE submissions SET until = date(
    substr(period, 1, 4) || '-01-04',
    '-' || ((CAST(strftime('%w', substr(period, 1, 4) || '-01-04') AS INTEGER) + 6) % 7) || ' days',
    '+' || ((CAST(substr(period, 7, 2) AS INTEGER) - 1) * 7 + 6) || ' days'
) WHERE period GLOB '[0-9][0-9][0-9][0-9]-W[0-9][0-9]';
