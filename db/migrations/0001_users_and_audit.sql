-- People the bot knows. Only what the service needs: no phone, no Telegram username.
CREATE TABLE users (
    telegram_id   INTEGER PRIMARY KEY,
    role          TEXT NOT NULL DEFAULT 'client' CHECK (role IN ('admin', 'caseworker', 'client')),
    language      TEXT CHECK (language IN ('kk', 'ru', 'en')),
    timezone      TEXT,
    display_name  TEXT,
    -- "role:language" for which this chat's command menu was last set; differs => resync.
    menu_synced   TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE INDEX users_by_role ON users (role) WHERE role <> 'client';

-- What staff (and the command line) did. Details never hold message texts, names or phones.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER,
    action      TEXT NOT NULL,
    subject_id  INTEGER,
    details     TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_by_time ON audit_log (at);
