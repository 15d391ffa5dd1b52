package leaderapi

// Schema is the API's tables, created next to dbstream's (which include
// experiments). Columns follow upstream where it has the table.
const Schema = `
CREATE TABLE IF NOT EXISTS workers (
    pioreactor_unit TEXT PRIMARY KEY NOT NULL,
    added_at TEXT NOT NULL,
    is_active INTEGER DEFAULT 1 NOT NULL,
    model_name TEXT,
    model_version TEXT
);

CREATE TABLE IF NOT EXISTS experiment_worker_assignments (
    pioreactor_unit TEXT PRIMARY KEY NOT NULL,
    experiment TEXT NOT NULL,
    assigned_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS experiment_worker_assignments_ix ON experiment_worker_assignments (experiment);

CREATE TABLE IF NOT EXISTS experiment_tags (
    experiment TEXT NOT NULL,
    tag TEXT NOT NULL,
    UNIQUE (experiment, tag)
);

CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    credential TEXT NOT NULL,
    action TEXT NOT NULL,
    pioreactor_unit TEXT,
    experiment TEXT,
    job_name TEXT,
    detail TEXT,
    sha256 TEXT
);
CREATE INDEX IF NOT EXISTS audit_log_ix ON audit_log (timestamp);
`
