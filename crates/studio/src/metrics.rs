//! Counters for `/metrics` in the Prometheus text format. A handful of series do not need a
//! metrics crate: each is a map behind a mutex, rendered on scrape.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The server's counters.
pub struct Metrics {
    /// When the server started (uptime gauge).
    started: Instant,
    /// Requests by (route class, status code).
    http: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Finished job attempts by (queue, outcome): (count, total seconds).
    jobs: Mutex<BTreeMap<(String, String), (u64, f64)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            http: Mutex::new(BTreeMap::new()),
            jobs: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, class: &'static str, status: u16) {
        let mut m = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((class, status)).or_default() += 1;
    }

    /// Counts one finished job attempt.
    pub fn job_finished(&self, queue: &str, outcome: &str, took: Duration) {
        let mut m = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let e = m
            .entry((queue.to_string(), outcome.to_string()))
            .or_default();
        e.0 += 1;
        e.1 += took.as_secs_f64();
    }

    /// The text exposition, with the gauges read at scrape time passed in.
    pub fn render(&self, queue_depth: &[(String, String, i64)], models: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP orchestrion_uptime_seconds Seconds since the server started."
        );
        let _ = writeln!(out, "# TYPE orchestrion_uptime_seconds gauge");
        let _ = writeln!(
            out,
            "orchestrion_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP orchestrion_models_loaded Genre models ready to compose."
        );
        let _ = writeln!(out, "# TYPE orchestrion_models_loaded gauge");
        let _ = writeln!(out, "orchestrion_models_loaded {models}");
        let _ = writeln!(
            out,
            "# HELP orchestrion_http_requests_total Answered HTTP requests."
        );
        let _ = writeln!(out, "# TYPE orchestrion_http_requests_total counter");
        for ((class, status), n) in self.http.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(
                out,
                "orchestrion_http_requests_total{{route=\"{class}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP orchestrion_jobs_total Finished job attempts by outcome."
        );
        let _ = writeln!(out, "# TYPE orchestrion_jobs_total counter");
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        for ((queue, outcome), (n, _)) in jobs.iter() {
            let _ = writeln!(
                out,
                "orchestrion_jobs_total{{queue=\"{queue}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP orchestrion_job_seconds Time spent in job attempts."
        );
        let _ = writeln!(out, "# TYPE orchestrion_job_seconds summary");
        for ((queue, outcome), (n, secs)) in jobs.iter() {
            let _ = writeln!(
                out,
                "orchestrion_job_seconds_sum{{queue=\"{queue}\",outcome=\"{outcome}\"}} {secs:.6}"
            );
            let _ = writeln!(
                out,
                "orchestrion_job_seconds_count{{queue=\"{queue}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP orchestrion_queue_depth Unfinished jobs by queue and status."
        );
        let _ = writeln!(out, "# TYPE orchestrion_queue_depth gauge");
        for (queue, status, n) in queue_depth {
            let _ = writeln!(
                out,
                "orchestrion_queue_depth{{queue=\"{queue}\",status=\"{status}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counted_series() {
        let m = Metrics::default();
        m.request("api", 200);
        m.request("api", 200);
        m.job_finished("compose", "succeeded", Duration::from_millis(1500));
        let text = m.render(&[("compose".into(), "queued".into(), 3)], 2);
        assert!(text.contains("orchestrion_http_requests_total{route=\"api\",status=\"200\"} 2"));
        assert!(text.contains("orchestrion_jobs_total{queue=\"compose\",outcome=\"succeeded\"} 1"));
        assert!(
            text.contains(
                "orchestrion_job_seconds_sum{queue=\"compose\",outcome=\"succeeded\"} 1.5"
            )
        );
        assert!(text.contains("orchestrion_queue_depth{queue=\"compose\",status=\"queued\"} 3"));
        assert!(text.contains("orchestrion_models_loaded 2"));
    }
}
