-- Musical metrics of a finished composition, measured on the generated song by the compose job
-- (per-role EB / UPC / PR / QN / DP / in-scale, tonal distance melody ↔ each track, melody
-- preserved): a JSON object, served as the `metrics` field of a composition.
--
-- Nullable on purpose: compositions made before this column, and results that could not be
-- measured, have none, and the API says so (`null`) rather than inventing numbers. The older
-- `metrics` column keeps the candidate ranking (chosen seed, critic score per candidate).
-- Portable: the same statement runs on SQLite and Postgres.
ALTER TABLE compositions ADD COLUMN music_metrics TEXT;
