//! In-process workers: each takes a job from the queue, runs it with a heartbeat beside it, and
//! records how it ended. On shutdown a worker stops taking jobs, gives its running job a grace
//! period, and otherwise releases the lease so another process (or the next start) runs it.

pub mod compose;
pub mod queue;
pub mod train;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

use crate::http::ApiContext;
use queue::Claimed;

/// How workers and event streams learn that something happened without polling the database
/// in a tight loop (they still poll slowly, so a job enqueued by another process is found).
pub struct Signals {
    /// A job was enqueued.
    pub new_job: Notify,
    /// A job changed (progress, event, end); carries its id.
    pub job_changed: broadcast::Sender<String>,
    /// Training jobs running now in this process.
    pub training_now: AtomicUsize,
    /// Turns true when the server shuts down: workers stop claiming, event streams end.
    pub shutdown: watch::Sender<bool>,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            new_job: Notify::new(),
            job_changed: broadcast::channel(1024).0,
            training_now: AtomicUsize::new(0),
            shutdown: watch::channel(false).0,
        }
    }
}

impl Signals {
    /// Tells event streams that `job_id` changed.
    pub fn changed(&self, job_id: &str) {
        let _ = self.job_changed.send(job_id.to_string());
    }
}

/// How a job body ended when it did not succeed.
#[derive(Debug)]
pub enum JobFailure {
    /// Failed with a code and message for the user; `retry` when another attempt may work.
    Failed {
        code: &'static str,
        message: String,
        retry: bool,
    },
    /// Stopped because the user cancelled it.
    Cancelled,
    /// The lease was lost (another worker owns the job now): write nothing.
    LeaseLost,
}

impl JobFailure {
    /// A failure that retrying will not fix.
    pub fn permanent(code: &'static str, message: impl Into<String>) -> JobFailure {
        JobFailure::Failed {
            code,
            message: message.into(),
            retry: false,
        }
    }

    /// A failure of the machinery (database, blob store) that another attempt may not meet.
    pub fn transient(message: impl Into<String>) -> JobFailure {
        JobFailure::Failed {
            code: "internal",
            message: message.into(),
            retry: true,
        }
    }
}

impl From<crate::http::error::Error> for JobFailure {
    fn from(e: crate::http::error::Error) -> Self {
        tracing::error!(error = %e, "job step failed");
        JobFailure::transient("an internal error stopped the job; it will be retried")
    }
}

/// What a running job shares with its heartbeat: progress to report, and whether to stop.
#[derive(Default)]
pub struct JobControl {
    /// (fraction done, stage text), written by the job body, read by the heartbeat.
    progress: Mutex<(f64, String)>,
    /// Set by the heartbeat when the user cancelled; blocking work checks it between steps.
    pub cancel: AtomicBool,
    /// Set by the heartbeat when the lease was lost.
    pub lease_lost: AtomicBool,
}

impl JobControl {
    /// Records progress for the next heartbeat.
    pub fn set(&self, fraction: f64, stage: &str) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        *p = (fraction.clamp(0.0, 1.0), stage.to_string());
    }

    fn get(&self) -> (f64, String) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the job should stop now, and why.
    pub fn stop_reason(&self) -> Option<JobFailure> {
        if self.lease_lost.load(Ordering::Relaxed) {
            Some(JobFailure::LeaseLost)
        } else if self.cancel.load(Ordering::Relaxed) {
            Some(JobFailure::Cancelled)
        } else {
            None
        }
    }
}

/// Starts `count` workers, and beside them a task that keeps this process's row in the
/// `workers` table fresh (capabilities, last seen) so claims can route training jobs to GPU
/// workers. They run until [`Signals::shutdown`] turns true.
pub fn spawn_workers(ctx: &ApiContext, count: usize) -> Vec<JoinHandle<()>> {
    if count == 0 {
        return Vec::new();
    }
    let host = host_name();
    let process = format!("{host}-{}", &uuid::Uuid::new_v4().to_string()[..8]);
    let mut handles: Vec<JoinHandle<()>> = (0..count)
        .map(|i| {
            let ctx = ctx.clone();
            let worker = format!("{process}-w{i}");
            let shutdown = ctx.signals.shutdown.subscribe();
            tokio::spawn(async move { worker_loop(ctx, worker, shutdown).await })
        })
        .collect();
    let ctx = ctx.clone();
    let shutdown = ctx.signals.shutdown.subscribe();
    handles.push(tokio::spawn(async move {
        presence_loop(ctx, process, host, shutdown).await
    }));
    handles
}

/// This machine's name, for worker ids and the `workers` table.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Announces this worker process every [`queue::ANNOUNCE_EVERY`] until shutdown, then retires
/// it (a crashed process just stops being seen and ages out).
async fn presence_loop(
    ctx: ApiContext,
    process: String,
    host: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let capabilities = &ctx.config.capabilities;
    loop {
        if let Err(e) = queue::announce_worker(&ctx.db, &process, &host, capabilities).await {
            tracing::warn!(%process, error = %e, "announcing the worker process failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(queue::ANNOUNCE_EVERY) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    if let Err(e) = queue::retire_worker(&ctx.db, &process).await {
        tracing::warn!(%process, error = %e, "retiring the worker process failed");
    }
}

/// How often an idle worker looks at the queue even without a signal.
const IDLE_POLL: Duration = Duration::from_millis(500);

async fn worker_loop(ctx: ApiContext, worker: String, mut shutdown: watch::Receiver<bool>) {
    tracing::info!(%worker, "worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimant = queue::Claimant {
            worker: &worker,
            lease: ctx.config.lease,
            allow_train: ctx.signals.training_now.load(Ordering::Relaxed) < MAX_TRAINING_AT_ONCE,
            gpu: ctx.config.capabilities.iter().any(|c| c == "gpu"),
        };
        match queue::claim_as(&ctx.db, claimant).await {
            Ok(Some(claimed)) => {
                let is_train = claimed.job.queue == queue::TRAIN;
                if is_train {
                    ctx.signals.training_now.fetch_add(1, Ordering::Relaxed);
                }
                run_claimed(&ctx, claimed, &mut shutdown).await;
                if is_train {
                    ctx.signals.training_now.fetch_sub(1, Ordering::Relaxed);
                }
            }
            Ok(None) => {
                tokio::select! {
                    _ = ctx.signals.new_job.notified() => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(%worker, error = %e, "claiming a job failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    tracing::info!(%worker, "worker stopped");
}

/// Training jobs one process runs at once (each uses every core).
const MAX_TRAINING_AT_ONCE: usize = 1;

async fn run_claimed(ctx: &ApiContext, claimed: Claimed, shutdown: &mut watch::Receiver<bool>) {
    let started = Instant::now();
    let job_id = claimed.job.id.clone();
    tracing::info!(job = %job_id, queue = %claimed.job.queue, attempt = claimed.attempt(), "job claimed");
    ctx.signals.changed(&job_id);
    let control = Arc::new(JobControl::default());
    let beat = tokio::spawn(heartbeat_loop(
        ctx.clone(),
        claimed.clone(),
        control.clone(),
    ));

    let body = async {
        match claimed.job.queue.as_str() {
            queue::COMPOSE => compose::run(ctx, &claimed, &control).await,
            queue::TRAIN => train::run(ctx, &claimed, &control).await,
            other => Err(JobFailure::permanent(
                "unknown_queue",
                format!("no worker knows the '{other}' queue"),
            )),
        }
    };
    tokio::pin!(body);
    let mut shutting_down = *shutdown.borrow();
    let outcome = loop {
        if shutting_down {
            // Finish within the grace period, or hand the job back.
            match tokio::time::timeout(ctx.config.shutdown_grace, &mut body).await {
                Ok(outcome) => break Some(outcome),
                Err(_) => break None,
            }
        }
        tokio::select! {
            outcome = &mut body => break Some(outcome),
            _ = shutdown.changed() => shutting_down = true,
        }
    };
    beat.abort();

    let kind = claimed.job.queue.clone();
    let result = match outcome {
        None => {
            tracing::warn!(job = %job_id, "shutting down: job released for a later run");
            control.cancel.store(true, Ordering::Relaxed);
            ctx.metrics
                .job_finished(&kind, "released", started.elapsed());
            queue::release(&ctx.db, &claimed).await
        }
        Some(Ok(())) => {
            tracing::info!(job = %job_id, ms = started.elapsed().as_millis() as u64, "job succeeded");
            ctx.metrics
                .job_finished(&kind, queue::SUCCEEDED, started.elapsed());
            Ok(())
        }
        Some(Err(JobFailure::LeaseLost)) => {
            tracing::warn!(job = %job_id, "lease lost: another worker owns the job now");
            ctx.metrics
                .job_finished(&kind, "lease_lost", started.elapsed());
            Ok(())
        }
        Some(Err(JobFailure::Cancelled)) => {
            tracing::info!(job = %job_id, "job cancelled");
            ctx.metrics
                .job_finished(&kind, queue::CANCELLED, started.elapsed());
            queue::finish_cancelled(&ctx.db, &claimed).await
        }
        Some(Err(JobFailure::Failed {
            code,
            message,
            retry,
        })) => {
            tracing::warn!(job = %job_id, %code, %message, retry, "job attempt failed");
            ctx.metrics
                .job_finished(&kind, queue::FAILED, started.elapsed());
            queue::fail(&ctx.db, &claimed, code, &message, retry).await
        }
    };
    if let Err(e) = result {
        // The lease will expire and the job come back; nothing is lost.
        tracing::error!(job = %job_id, error = %e, "recording the job's end failed");
    }
    let final_state = queue::get(&ctx.db, &job_id, &claimed.job.owner_id).await;
    if let Ok(row) = final_state {
        let data = serde_json::json!({"job_id": row.id, "status": row.status});
        let _ = queue::append_event(&ctx.db, &job_id, "status", &data).await;
    }
    ctx.signals.changed(&job_id);
}

async fn heartbeat_loop(ctx: ApiContext, claimed: Claimed, control: Arc<JobControl>) {
    // Renew the lease at least three times per lease; report progress changes sooner (at most
    // four times a second) so event streams stay live.
    let renew_every = ctx.config.lease / 3;
    let tick = renew_every.clamp(Duration::from_millis(50), Duration::from_millis(250));
    let mut last_sent = (-1.0, String::new());
    let mut last_beat = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = control.get();
        if now == last_sent && last_beat.elapsed() < renew_every {
            continue;
        }
        match queue::heartbeat(&ctx.db, &claimed, ctx.config.lease, now.0, &now.1).await {
            Ok(Some(cancel)) => {
                last_beat = Instant::now();
                if cancel {
                    control.cancel.store(true, Ordering::Relaxed);
                }
                if now != last_sent {
                    ctx.signals.changed(&claimed.job.id);
                }
                last_sent = now;
            }
            Ok(None) => {
                control.lease_lost.store(true, Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::warn!(job = %claimed.job.id, error = %e, "heartbeat failed"),
        }
    }
}
