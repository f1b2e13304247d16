-- Orchestrion book-keeping, first schema.
--
-- Portable SQL on purpose: the same statements run on SQLite (embedded default) and Postgres
-- (scale-out). Times are BIGINT milliseconds since the Unix epoch, booleans are INTEGER 0/1,
-- ids are TEXT UUIDs, JSON documents are TEXT. Large things (songs, MIDI, WAV, archives) live
-- in the blob store; rows keep only their keys.

-- People who own melodies, compositions and training runs. The local user of a loopback server
-- with no auth configured is a row like any other (its id is the nil UUID).
CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- API tokens for Bearer auth. Only the SHA-256 of a token is stored; the token itself is shown
-- once when it is made.
CREATE TABLE api_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);

-- Console sessions (the HttpOnly cookie), also stored as hashes, with an expiry.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- Input melodies. The song itself is a blob (`song_key`, JSON of `music::Song`); the columns are
-- what lists and validation need without reading it.
CREATE TABLE melodies (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    source          TEXT NOT NULL,          -- upload | keyboard | sample
    tempo_bpm       DOUBLE PRECISION NOT NULL,
    meter_num       INTEGER NOT NULL,
    meter_den       INTEGER NOT NULL,
    bars            INTEGER NOT NULL,
    note_count      INTEGER NOT NULL,
    duration_beats  DOUBLE PRECISION NOT NULL,
    song_key        TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX melodies_owner ON melodies (owner_id, created_at);

-- The work queue. One row per unit of work (compose, train); see `jobs/queue.rs` for the claim,
-- heartbeat, completion and dead-letter statements that give it its guarantees.
CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    queue             TEXT NOT NULL,        -- compose | train
    payload           TEXT NOT NULL,        -- JSON, the job's input (ids, not data)
    status            TEXT NOT NULL,        -- queued | running | succeeded | failed | cancelled
    priority          INTEGER NOT NULL DEFAULT 0,
    run_at            BIGINT NOT NULL,      -- not claimed before (retry back-off)
    attempts          INTEGER NOT NULL DEFAULT 0,
    max_attempts      INTEGER NOT NULL,
    last_error_code   TEXT,
    last_error        TEXT,
    progress          DOUBLE PRECISION NOT NULL DEFAULT 0,
    stage             TEXT NOT NULL DEFAULT 'queued',
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,                 -- worker id holding the job while running
    lease_expires_at  BIGINT,               -- past this, another worker may take the job over
    owner_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource_type     TEXT NOT NULL,        -- composition | training_run
    resource_id       TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    finished_at       BIGINT
);
-- What the claim statement scans: runnable jobs in queue order.
CREATE INDEX jobs_claim ON jobs (status, queue, priority, run_at);
CREATE INDEX jobs_owner ON jobs (owner_id, status);

-- Events of a job for Server-Sent Events replay (progress, loss points, metric points,
-- checkpoints). `seq` increases per job and is the SSE event id.
CREATE TABLE job_events (
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    event       TEXT NOT NULL,
    data        TEXT NOT NULL,              -- JSON
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- Compositions: a melody arranged by a model. Result blobs are written before the row that
-- names them commits, so a key here always points at a whole blob.
CREATE TABLE compositions (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    melody_id       TEXT NOT NULL REFERENCES melodies (id) ON DELETE CASCADE,
    model           TEXT NOT NULL,
    bars            INTEGER NOT NULL,
    seed            BIGINT NOT NULL,
    candidates      INTEGER NOT NULL,
    locked_roles    TEXT NOT NULL,          -- JSON array of role names
    parent_id       TEXT,                   -- where locked tracks came from
    status          TEXT NOT NULL,          -- as jobs.status
    model_hash      TEXT,
    critic_score    DOUBLE PRECISION,
    metrics         TEXT,                   -- JSON object
    tracks          TEXT,                   -- JSON array of {role, program, note_count}
    error_code      TEXT,
    error_message   TEXT,
    job_id          TEXT NOT NULL,
    song_key        TEXT,                   -- blob: JSON of the whole music::Song
    midi_key        TEXT,                   -- blob: the Standard MIDI File
    wav_key         TEXT,                   -- blob: rendered audio, made on first request
    created_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX compositions_owner ON compositions (owner_id, created_at);

-- Public read-only links. One per composition; revoking deletes the row, so the token dies.
CREATE TABLE share_links (
    token           TEXT PRIMARY KEY,       -- 128 random bits, hex
    composition_id  TEXT NOT NULL UNIQUE REFERENCES compositions (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL
);

-- Training runs: a zip upload or a shipped recipe turned into a genre model.
CREATE TABLE training_runs (
    id               TEXT PRIMARY KEY,
    owner_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    source           TEXT NOT NULL,         -- archive | recipe
    config           TEXT NOT NULL,         -- JSON: roles, steps, learning rate, critic updates
    status           TEXT NOT NULL,
    step             BIGINT NOT NULL DEFAULT 0,
    total_steps      BIGINT NOT NULL,
    latest           TEXT,                  -- JSON: last losses and metrics
    reference        TEXT,                  -- JSON: the training data's own metrics
    published_model  TEXT,
    error_code       TEXT,
    error_message    TEXT,
    job_id           TEXT NOT NULL,
    archive_key      TEXT,                  -- blob: the uploaded zip
    checkpoint_key   TEXT,                  -- blob prefix of the finished model directory
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT
);
CREATE INDEX training_runs_owner ON training_runs (owner_id, created_at);
