-- Worker processes, so the queue can route by capability. Each process that runs jobs keeps one
-- row fresh (`seen_at`, every few seconds) and deletes it on a clean shutdown; a crashed one ages
-- out. A claim reads it to know whether a worker with a GPU is alive: training jobs wait a short
-- while for such a worker before any other may take them (see `jobs/queue.rs`).
-- Portable SQL like 0001: runs unchanged on SQLite and Postgres.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,         -- process id, e.g. host-1a2b3c4d
    host          TEXT NOT NULL,
    capabilities  TEXT NOT NULL,            -- comma-separated, e.g. 'gpu'
    gpu           INTEGER NOT NULL DEFAULT 0,
    started_at    BIGINT NOT NULL,
    seen_at       BIGINT NOT NULL
);
CREATE INDEX workers_gpu_seen ON workers (gpu, seen_at);
