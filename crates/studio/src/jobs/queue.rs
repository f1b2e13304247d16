//! The job queue: a `jobs` table and the handful of statements that make it safe.
//!
//! - **claim**: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING *`; on Postgres the select
//!   locks with `FOR UPDATE SKIP LOCKED`, on SQLite the transaction holds the write lock
//!   (`BEGIN IMMEDIATE`), so two workers never take the same job. A job whose lease expired (its worker
//!   died) is claimable again; a job that has used all its attempts is failed at claim time with
//!   its error kept (dead letter), never retried forever.
//! - **heartbeat**: one statement renews the lease, stores progress and returns the cancel flag.
//! - **complete / fail / release**: fenced by lease owner *and* attempt number, so a worker
//!   that lost its lease (it was too slow, another took over) cannot overwrite the new attempt.
//!   The job body writes its result blobs before it calls [`complete`] in the transaction that
//!   also updates the resource row, so a crash at any point re-runs the job and loses nothing.

use std::time::Duration;

use sqlx::FromRow;

use crate::db::{Backend, Db, Tx, new_id, now_ms};
use crate::http::error::Error;

/// Status of a job (and of the composition or training run it carries out).
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const SUCCEEDED: &str = "succeeded";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";

/// Queue of compose jobs.
pub const COMPOSE: &str = "compose";
/// Queue of training jobs.
pub const TRAIN: &str = "train";

/// A row of the `jobs` table.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    pub id: String,
    pub queue: String,
    pub payload: String,
    pub status: String,
    pub priority: i64,
    pub run_at: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub progress: f64,
    pub stage: String,
    pub cancel_requested: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub owner_id: String,
    pub resource_type: String,
    pub resource_id: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// A job a worker holds: the row as claimed plus the fence (owner, attempt) of every later write.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub job: JobRow,
    pub worker: String,
}

impl Claimed {
    /// The attempt this claim is (1 for the first run).
    pub fn attempt(&self) -> i64 {
        self.job.attempts
    }
}

/// What to enqueue.
pub struct NewJob<'a> {
    pub queue: &'a str,
    pub payload: serde_json::Value,
    pub owner_id: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub max_attempts: u32,
}

/// Adds a job in `tx`, unless its owner already has `max_unfinished` queued or running jobs
/// (the check and the insert are one statement, so concurrent requests cannot both slip in).
pub async fn enqueue(tx: &mut Tx, new: NewJob<'_>, max_unfinished: u32) -> Result<JobRow, Error> {
    let now = now_ms();
    let row: Option<JobRow> = sqlx::query_as(
        "INSERT INTO jobs (id, queue, payload, status, priority, run_at, attempts, max_attempts, \
                           progress, stage, cancel_requested, owner_id, resource_type, resource_id, created_at) \
         SELECT $1, $2, $3, 'queued', 0, $4, 0, $5, 0, 'queued', 0, $6, $7, $8, $4 \
         WHERE (SELECT COUNT(*) FROM jobs WHERE owner_id = $6 AND status IN ('queued', 'running')) < $9 \
         RETURNING *",
    )
    .bind(new_id())
    .bind(new.queue)
    .bind(new.payload.to_string())
    .bind(now)
    .bind(i64::from(new.max_attempts))
    .bind(new.owner_id)
    .bind(new.resource_type)
    .bind(new.resource_id)
    .bind(i64::from(max_unfinished))
    .fetch_optional(&mut **tx)
    .await?;
    row.ok_or(Error::TooManyJobs(max_unfinished))
}

/// Sets the status (and error, and finish time when final) of the resource a job carries out.
pub async fn set_resource_status(
    tx: &mut Tx,
    resource_type: &str,
    resource_id: &str,
    status: &str,
    error: Option<(&str, &str)>,
) -> Result<(), sqlx::Error> {
    let finished = matches!(status, SUCCEEDED | FAILED | CANCELLED).then(now_ms);
    let (code, message) = error.unzip();
    let sql = match resource_type {
        "composition" => {
            "UPDATE compositions SET status = $1, error_code = $2, error_message = $3, \
             finished_at = COALESCE($4, finished_at) WHERE id = $5"
        }
        "training_run" => {
            "UPDATE training_runs SET status = $1, error_code = $2, error_message = $3, \
             finished_at = COALESCE($4, finished_at) WHERE id = $5"
        }
        _ => return Ok(()),
    };
    sqlx::query(sql)
        .bind(status)
        .bind(code)
        .bind(message)
        .bind(finished)
        .bind(resource_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Who asks for work, and what it may take.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    /// The worker id written as lease owner.
    pub worker: &'a str,
    /// How long the lease lasts without a heartbeat.
    pub lease: Duration,
    /// Whether this worker may take a training job now (a process runs a bounded number).
    pub allow_train: bool,
    /// Whether this worker declared the `gpu` capability.
    pub gpu: bool,
}

/// How long a training job waits for a GPU worker before any worker may take it, while a GPU
/// worker is alive. With no live GPU worker, training jobs go to whoever asks at once.
pub const GPU_PREFERENCE: Duration = Duration::from_secs(30);

/// A worker process counts as alive for this long after it last announced itself
/// ([`announce_worker`] runs every [`ANNOUNCE_EVERY`]).
pub const WORKER_ALIVE: Duration = Duration::from_secs(15);

/// How often a process with workers refreshes its row in `workers`.
pub const ANNOUNCE_EVERY: Duration = Duration::from_secs(5);

/// One claim statement, written once; `$lock` is the row lock of the backend (see
/// [`crate::db::Backend::skip_locked`]): on Postgres each statement locks only rows no other
/// claimer holds and passes the others by, so concurrent claimers never take the same job and
/// never wait on each other; on SQLite the `BEGIN IMMEDIATE` transaction serialises them.
macro_rules! claim_statements {
    ($lock:literal) => {
        [
            // Dead letter: runnable-looking jobs that have no attempts left are failed for good.
            concat!(
                "UPDATE jobs SET status = 'failed', finished_at = $1, lease_owner = NULL, \
                     last_error_code = COALESCE(last_error_code, 'lease_expired'), \
                     last_error = COALESCE(last_error, 'gave up: the job stopped its worker on every attempt') \
                 WHERE id IN (SELECT id FROM jobs WHERE attempts >= max_attempts \
                   AND ((status = 'running' AND lease_expires_at < $1) OR (status = 'queued' AND run_at <= $1))",
                $lock,
                ") RETURNING resource_type, resource_id, last_error_code, last_error"
            ),
            // The claim: the first runnable job this worker may take. Training jobs prefer GPU
            // workers: a worker without one takes a training job only when no GPU worker is
            // alive, or when the job has waited GPU_PREFERENCE.
            concat!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $1, \
                     lease_expires_at = $2, started_at = COALESCE(started_at, $3), stage = 'starting' \
                 WHERE id = (SELECT id FROM jobs \
                             WHERE attempts < max_attempts AND cancel_requested = 0 \
                               AND ((status = 'queued' AND run_at <= $3) \
                                    OR (status = 'running' AND lease_expires_at < $3)) \
                               AND (queue <> 'train' OR ($4 = 1 AND ($5 = 1 OR run_at <= $6 \
                                    OR NOT EXISTS (SELECT 1 FROM workers WHERE gpu = 1 AND seen_at >= $7)))) \
                             ORDER BY priority DESC, run_at, created_at LIMIT 1",
                $lock,
                ") RETURNING *"
            ),
            // A running job whose cancel was requested but whose worker died is finished here.
            concat!(
                "UPDATE jobs SET status = 'cancelled', finished_at = $1, lease_owner = NULL \
                 WHERE id IN (SELECT id FROM jobs \
                   WHERE status = 'running' AND cancel_requested = 1 AND lease_expires_at < $1",
                $lock,
                ") RETURNING resource_type, resource_id"
            ),
        ]
    };
}

const CLAIM_SQLITE: [&str; 3] = claim_statements!("");
const CLAIM_POSTGRES: [&str; 3] = claim_statements!(" FOR UPDATE SKIP LOCKED");

/// Takes the next runnable job for `worker`, or `None` when there is nothing to do. Training
/// jobs are only taken when `allow_train` (the server runs a bounded number at once).
pub async fn claim(
    db: &Db,
    worker: &str,
    lease: Duration,
    allow_train: bool,
) -> Result<Option<Claimed>, Error> {
    claim_as(
        db,
        Claimant {
            worker,
            lease,
            allow_train,
            gpu: false,
        },
    )
    .await
}

/// Takes the next runnable job `who` may take, or `None` when there is nothing to do.
pub async fn claim_as(db: &Db, who: Claimant<'_>) -> Result<Option<Claimed>, Error> {
    let [dead_letter, take, orphans] = match db.backend() {
        Backend::Sqlite => CLAIM_SQLITE,
        Backend::Postgres => CLAIM_POSTGRES,
    };
    let now = now_ms();
    let mut tx = db.begin_claim().await?;
    let dead: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(dead_letter)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    for (rtype, rid, code, message) in &dead {
        let code = code.as_deref().unwrap_or("lease_expired");
        let message = message.as_deref().unwrap_or("gave up");
        tracing::warn!(resource = %rid, %code, "job failed for good: no attempts left");
        set_resource_status(&mut tx, rtype, rid, FAILED, Some((code, message))).await?;
    }
    let job: Option<JobRow> = sqlx::query_as(take)
        .bind(who.worker)
        .bind(now + who.lease.as_millis() as i64)
        .bind(now)
        .bind(i64::from(who.allow_train))
        .bind(i64::from(who.gpu))
        .bind(now - GPU_PREFERENCE.as_millis() as i64)
        .bind(now - WORKER_ALIVE.as_millis() as i64)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(job) = &job {
        set_resource_status(&mut tx, &job.resource_type, &job.resource_id, RUNNING, None).await?;
    }
    let orphans: Vec<(String, String)> = sqlx::query_as(orphans)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
    for (rtype, rid) in &orphans {
        set_resource_status(&mut tx, rtype, rid, CANCELLED, None).await?;
    }
    tx.commit().await?;
    Ok(job.map(|job| Claimed {
        job,
        worker: who.worker.to_string(),
    }))
}

/// Records (or refreshes) a worker process in `workers`: its id, its capabilities and when it
/// was last seen. Claims read it to know whether a GPU worker is alive.
pub async fn announce_worker(
    db: &Db,
    process: &str,
    host: &str,
    capabilities: &[String],
) -> Result<(), Error> {
    let now = now_ms();
    let gpu = capabilities.iter().any(|c| c == "gpu");
    sqlx::query(
        "INSERT INTO workers (id, host, capabilities, gpu, started_at, seen_at) \
         VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
    )
    .bind(process)
    .bind(host)
    .bind(capabilities.join(","))
    .bind(i64::from(gpu))
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Removes a worker process from `workers` (a clean shutdown; a crashed one just ages out).
pub async fn retire_worker(db: &Db, process: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM workers WHERE id = $1")
        .bind(process)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Worker processes seen within [`WORKER_ALIVE`]: (all, with a GPU), for `/metrics`.
pub async fn live_workers(db: &Db) -> Result<(i64, i64), Error> {
    let since = now_ms() - WORKER_ALIVE.as_millis() as i64;
    let (all, gpu): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), SUM(gpu) FROM workers WHERE seen_at >= $1")
            .bind(since)
            .fetch_one(db.pool())
            .await?;
    Ok((all, gpu.unwrap_or(0)))
}

/// Renews the lease and records progress. Returns `Some(cancel_requested)`, or `None` when the
/// lease is no longer this worker's (the job must stop without writing anything).
pub async fn heartbeat(
    db: &Db,
    claimed: &Claimed,
    lease: Duration,
    progress: f64,
    stage: &str,
) -> Result<Option<bool>, Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE jobs SET lease_expires_at = $1, progress = $2, stage = $3 \
         WHERE id = $4 AND lease_owner = $5 AND attempts = $6 AND status = 'running' \
         RETURNING cancel_requested",
    )
    .bind(now_ms() + lease.as_millis() as i64)
    .bind(progress)
    .bind(stage)
    .bind(&claimed.job.id)
    .bind(&claimed.worker)
    .bind(claimed.attempt())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(c,)| c != 0))
}

/// Marks the job succeeded inside the caller's transaction (which also stores the result).
/// Returns false when the lease was lost: the caller must roll back.
pub async fn complete(tx: &mut Tx, claimed: &Claimed) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE jobs SET status = 'succeeded', progress = 1, stage = 'done', finished_at = $1, \
             lease_owner = NULL, last_error_code = NULL, last_error = NULL \
         WHERE id = $2 AND lease_owner = $3 AND attempts = $4 AND status = 'running'",
    )
    .bind(now_ms())
    .bind(&claimed.job.id)
    .bind(&claimed.worker)
    .bind(claimed.attempt())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt. A `retry`able failure with attempts left goes back to the queue
/// after a back-off; otherwise the job and its resource are failed with the error kept.
pub async fn fail(
    db: &Db,
    claimed: &Claimed,
    code: &str,
    message: &str,
    retry: bool,
) -> Result<(), Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let again = retry && claimed.attempt() < claimed.job.max_attempts;
    let backoff_ms = 500 * (1_i64 << claimed.attempt().clamp(0, 10));
    let status = if again { QUEUED } else { FAILED };
    let updated = sqlx::query(
        "UPDATE jobs SET status = $1, run_at = $2, finished_at = $3, lease_owner = NULL, \
             last_error_code = $4, last_error = $5, stage = $6 \
         WHERE id = $7 AND lease_owner = $8 AND attempts = $9 AND status = 'running'",
    )
    .bind(status)
    .bind(now + backoff_ms)
    .bind((!again).then_some(now))
    .bind(code)
    .bind(message)
    .bind(if again { "waiting to retry" } else { "failed" })
    .bind(&claimed.job.id)
    .bind(&claimed.worker)
    .bind(claimed.attempt())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        let (rtype, rid) = (&claimed.job.resource_type, &claimed.job.resource_id);
        if again {
            set_resource_status(&mut tx, rtype, rid, QUEUED, None).await?;
        } else {
            set_resource_status(&mut tx, rtype, rid, FAILED, Some((code, message))).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Finishes a job whose cancel was honoured by its worker.
pub async fn finish_cancelled(db: &Db, claimed: &Claimed) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'cancelled', finished_at = $1, lease_owner = NULL, stage = 'cancelled' \
         WHERE id = $2 AND lease_owner = $3 AND attempts = $4 AND status = 'running'",
    )
    .bind(now_ms())
    .bind(&claimed.job.id)
    .bind(&claimed.worker)
    .bind(claimed.attempt())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        let job = &claimed.job;
        set_resource_status(
            &mut tx,
            &job.resource_type,
            &job.resource_id,
            CANCELLED,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Gives a job back to the queue without counting the attempt (graceful shutdown).
pub async fn release(db: &Db, claimed: &Claimed) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, \
             lease_expires_at = NULL, stage = 'queued', run_at = $1 \
         WHERE id = $2 AND lease_owner = $3 AND attempts = $4 AND status = 'running'",
    )
    .bind(now_ms())
    .bind(&claimed.job.id)
    .bind(&claimed.worker)
    .bind(claimed.attempt())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        let job = &claimed.job;
        set_resource_status(&mut tx, &job.resource_type, &job.resource_id, QUEUED, None).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Asks for a job to stop: a queued job is cancelled at once, a running one when its worker
/// next beats. Returns the job after the request; `Conflict` when it had already finished.
pub async fn request_cancel(db: &Db, job_id: &str, owner_id: &str) -> Result<JobRow, Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let row: Option<JobRow> = sqlx::query_as(
        "UPDATE jobs SET cancel_requested = 1, \
             status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END, \
             finished_at = CASE WHEN status = 'queued' THEN $1 ELSE finished_at END \
         WHERE id = $2 AND owner_id = $3 AND status IN ('queued', 'running') \
         RETURNING *",
    )
    .bind(now)
    .bind(job_id)
    .bind(owner_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        get(db, job_id, owner_id).await?;
        return Err(Error::Conflict("the job has already finished".into()));
    };
    if row.status == CANCELLED {
        set_resource_status(
            &mut tx,
            &row.resource_type,
            &row.resource_id,
            CANCELLED,
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(row)
}

/// A job of `owner_id` (another user's job is "not found").
pub async fn get(db: &Db, job_id: &str, owner_id: &str) -> Result<JobRow, Error> {
    sqlx::query_as("SELECT * FROM jobs WHERE id = $1 AND owner_id = $2")
        .bind(job_id)
        .bind(owner_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(Error::NotFound("job"))
}

/// Appends an event to a job's stream (SSE replay reads them back in order).
pub async fn append_event(
    db: &Db,
    job_id: &str,
    event: &str,
    data: &serde_json::Value,
) -> Result<i64, Error> {
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO job_events (job_id, seq, event, data, created_at) \
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = $1), $2, $3, $4) \
         RETURNING seq",
    )
    .bind(job_id)
    .bind(event)
    .bind(data.to_string())
    .bind(now_ms())
    .fetch_one(db.pool())
    .await?;
    Ok(seq)
}

/// Events of a job after `after_seq`, oldest first.
pub async fn events_after(
    db: &Db,
    job_id: &str,
    after_seq: i64,
) -> Result<Vec<(i64, String, String)>, Error> {
    Ok(sqlx::query_as(
        "SELECT seq, event, data FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT 500",
    )
    .bind(job_id)
    .bind(after_seq)
    .fetch_all(db.pool())
    .await?)
}

/// Queued and running jobs per queue, for `/metrics`.
pub async fn depth(db: &Db) -> Result<Vec<(String, String, i64)>, Error> {
    Ok(sqlx::query_as(
        "SELECT queue, status, COUNT(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY queue, status",
    )
    .fetch_all(db.pool())
    .await?)
}
