-- aiogram conversation state, so a restart mid-flow does not strand the user.
CREATE TABLE fsm_state (
    storage_key  TEXT PRIMARY KEY,
    state        TEXT,
    data         TEXT NOT NULL DEFAULT '{}',
    updated_at   TEXT NOT NULL
);
