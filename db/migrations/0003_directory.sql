-- The service directory (issue 3), shaped after the Open Referral HSDS core:
-- organization → service at a location (dir_entry) → phones, schedules, categories.
-- Every text is stored in kk, ru and en ('' when missing); the bot shows the person's
-- language, else ru, kk, en with a marker. Category names are data, not gettext strings.

-- HSDS taxonomy_term: a fixed list; CSV rows name categories by code.
CREATE TABLE dir_category (
    id        INTEGER PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    position  INTEGER NOT NULL,
    emoji     TEXT NOT NULL,
    name_kk   TEXT NOT NULL,
    name_ru   TEXT NOT NULL,
    name_en   TEXT NOT NULL
);

INSERT INTO dir_category (id, code, position, emoji, name_kk, name_ru, name_en) VALUES
    (1, 'employment', 1, '💼', 'Жұмысқа орналасу және кәсіптік оқыту', 'Трудоустройство и профобучение', 'Employment and job training'),
    (2, 'documents', 2, '🪪', 'Құжаттар және тіркеу', 'Документы и регистрация', 'Identity documents and registration'),
    (3, 'housing', 3, '🏠', 'Баспана және уақытша баспана', 'Жильё и приюты', 'Housing and shelter'),
    (4, 'health', 4, '🏥', 'Медициналық көмек', 'Медицинская помощь', 'Health care'),
    (5, 'addiction', 5, '💊', 'Тәуелділікті емдеу', 'Лечение зависимости', 'Addiction treatment'),
    (6, 'mental_health', 6, '🧠', 'Психикалық денсаулық және психологиялық көмек', 'Психическое здоровье и психологическая помощь', 'Mental health and psychological support'),
    (7, 'legal_aid', 7, '⚖️', 'Заң көмегі', 'Юридическая помощь', 'Legal aid'),
    (8, 'social_benefits', 8, '💳', 'Әлеуметтік жәрдемақы және зейнетақы', 'Социальные пособия и пенсии', 'Social benefits and pensions'),
    (9, 'education', 9, '🎓', 'Білім беру және оқыту', 'Образование и обучение', 'Education'),
    (10, 'basic_needs', 10, '🍲', 'Тамақ, киім және күнделікті қажеттіліктер', 'Еда, одежда и базовые нужды', 'Food, clothing and basic needs'),
    (11, 'family', 11, '👨‍👩‍👧', 'Отбасы және балалар', 'Семья и дети', 'Family and children'),
    (12, 'peer_support', 12, '🤝', 'ҮЕҰ және өзара қолдау', 'НКО и взаимная поддержка', 'NGOs and peer support'),
    (13, 'emergency', 13, '🚨', 'Шұғыл көмек нөмірлері', 'Экстренные номера', 'Emergency numbers');

-- HSDS organization, keyed by the CSV's organization_id.
CREATE TABLE dir_organization (
    id           INTEGER PRIMARY KEY,
    external_id  TEXT NOT NULL UNIQUE,
    name_kk      TEXT NOT NULL DEFAULT '',
    name_ru      TEXT NOT NULL DEFAULT '',
    name_en      TEXT NOT NULL DEFAULT ''
);

-- A city or district within a region: the place filter of a category list.
CREATE TABLE dir_place (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL UNIQUE,  -- the six names below, search-folded, joined
    city_kk    TEXT NOT NULL DEFAULT '',
    city_ru    TEXT NOT NULL DEFAULT '',
    city_en    TEXT NOT NULL DEFAULT '',
    region_kk  TEXT NOT NULL DEFAULT '',
    region_ru  TEXT NOT NULL DEFAULT '',
    region_en  TEXT NOT NULL DEFAULT ''
);

-- HSDS service_at_location: one service at one location, one CSV row (external_id = CSV id).
CREATE TABLE dir_entry (
    id               INTEGER PRIMARY KEY,
    external_id      TEXT NOT NULL UNIQUE,
    organization_id  INTEGER NOT NULL REFERENCES dir_organization (id),
    place_id         INTEGER REFERENCES dir_place (id),  -- NULL: nationwide
    name_kk          TEXT NOT NULL DEFAULT '',
    name_ru          TEXT NOT NULL DEFAULT '',
    name_en          TEXT NOT NULL DEFAULT '',
    description_kk   TEXT NOT NULL DEFAULT '',
    description_ru   TEXT NOT NULL DEFAULT '',
    description_en   TEXT NOT NULL DEFAULT '',
    address_kk       TEXT NOT NULL DEFAULT '',
    address_ru       TEXT NOT NULL DEFAULT '',
    address_en       TEXT NOT NULL DEFAULT '',
    latitude         REAL,
    longitude        REAL,
    website          TEXT NOT NULL DEFAULT '',
    email            TEXT NOT NULL DEFAULT '',
    hours            TEXT NOT NULL DEFAULT '',  -- as written; parsed into dir_schedule
    eligibility_kk   TEXT NOT NULL DEFAULT '',
    eligibility_ru   TEXT NOT NULL DEFAULT '',
    eligibility_en   TEXT NOT NULL DEFAULT '',
    documents_kk     TEXT NOT NULL DEFAULT '',
    documents_ru     TEXT NOT NULL DEFAULT '',
    documents_en     TEXT NOT NULL DEFAULT '',
    fees_kk          TEXT NOT NULL DEFAULT '',
    fees_ru          TEXT NOT NULL DEFAULT '',
    fees_en          TEXT NOT NULL DEFAULT '',
    languages        TEXT NOT NULL DEFAULT '',  -- ';'-separated language codes
    accepts_record   TEXT NOT NULL DEFAULT 'unknown' CHECK (accepts_record IN ('yes', 'no', 'unknown')),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'temporarily_closed')),
    assured_date     TEXT NOT NULL DEFAULT '',  -- YYYY-MM-DD: last verified (HSDS assured_date)
    is_demo          INTEGER NOT NULL DEFAULT 0,
    hidden           INTEGER NOT NULL DEFAULT 0,  -- set by an admin in the bot, not by the CSV
    fingerprint      TEXT NOT NULL,  -- hash of the CSV row: a re-import skips unchanged rows
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

-- Nearest: a bounding-box range on latitude, then longitude and hidden, read from the index alone.
CREATE INDEX dir_entry_geo ON dir_entry (latitude, longitude, hidden);
CREATE INDEX dir_entry_place ON dir_entry (place_id);
CREATE INDEX dir_entry_organization ON dir_entry (organization_id);
CREATE INDEX dir_entry_demo ON dir_entry (is_demo) WHERE is_demo = 1;
CREATE INDEX dir_entry_hidden ON dir_entry (hidden) WHERE hidden = 1;

CREATE TABLE dir_entry_category (
    category_id  INTEGER NOT NULL REFERENCES dir_category (id),
    entry_id     INTEGER NOT NULL REFERENCES dir_entry (id) ON DELETE CASCADE,
    PRIMARY KEY (category_id, entry_id)
) WITHOUT ROWID;

CREATE INDEX dir_entry_category_by_entry ON dir_entry_category (entry_id);

-- HSDS phone.
CREATE TABLE dir_phone (
    entry_id  INTEGER NOT NULL REFERENCES dir_entry (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    number    TEXT NOT NULL,
    PRIMARY KEY (entry_id, position)
) WITHOUT ROWID;

-- HSDS schedule: minutes from the weekday's midnight; closes_at > 1440 runs past midnight.
CREATE TABLE dir_schedule (
    entry_id   INTEGER NOT NULL REFERENCES dir_entry (id) ON DELETE CASCADE,
    weekday    INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday
    opens_at   INTEGER NOT NULL,
    closes_at  INTEGER NOT NULL,
    PRIMARY KEY (entry_id, weekday, opens_at)
) WITHOUT ROWID;

-- Word search: rowid = dir_entry.id; texts search-folded in Python (db/directory_text.py).
-- name: the service and organization names in all languages (ranked first); body: the rest.
CREATE VIRTUAL TABLE dir_fts USING fts5 (name, body, tokenize = 'unicode61 remove_diacritics 2');

-- "Report a problem" from a card. The comment is the person's text: shown escaped, never logged.
CREATE TABLE dir_report (
    id           INTEGER PRIMARY KEY,
    entry_id     INTEGER NOT NULL REFERENCES dir_entry (id) ON DELETE CASCADE,
    reporter_id  INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    comment      TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  INTEGER
);

CREATE INDEX dir_report_open ON dir_report (id) WHERE resolved_at IS NULL;
CREATE INDEX dir_report_by_reporter ON dir_report (reporter_id, created_at);
CREATE INDEX dir_report_by_entry ON dir_report (entry_id);

-- Small facts about the directory, e.g. that the starter data was loaded once.
CREATE TABLE dir_meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
