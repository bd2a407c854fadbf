//! `GET /metrics` in Prometheus' text format (issue 5): API requests by operation and outcome with
//! their latency, trigger calls by trigger and outcome with their latency, and the mail outbox's
//! depth and age (read from the database at scrape time, so every node reports the shared
//! outbox). Counters are this node's since it started.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// (labels) → histogram; the labels are already rendered (`operation="X",error="Y"`).
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<String, Histogram>>,
    triggers: Mutex<BTreeMap<String, Histogram>>,
}

/// A label value as Prometheus quotes it.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn record(map: &Mutex<BTreeMap<String, Histogram>>, labels: String, seconds: f64) {
    map.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(labels).or_default().observe(seconds);
}

impl Metrics {
    /// One API request; `error` is the error type, or None for a success.
    pub fn request(&self, operation: &str, error: Option<&str>, seconds: f64) {
        let labels = format!("operation=\"{}\",error=\"{}\"", quoted(operation), quoted(error.unwrap_or("")));
        record(&self.requests, labels, seconds);
    }

    /// One trigger call; `outcome` is `ok` or the error type it became.
    pub fn trigger(&self, trigger: &str, outcome: &str, seconds: f64) {
        let labels = format!("trigger=\"{}\",outcome=\"{}\"", quoted(trigger), quoted(outcome));
        record(&self.triggers, labels, seconds);
    }

    /// The exposition text; `outbox` is (messages waiting, age of the oldest in seconds).
    pub fn render(&self, outbox: (i64, f64)) -> String {
        let mut out = String::new();
        let families = [
            ("userpool_requests", "API requests by operation and error type (empty: success)", &self.requests),
            ("userpool_trigger_calls", "Lambda trigger calls by trigger and outcome", &self.triggers),
        ];
        for (name, help, map) in families {
            let map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let _ = writeln!(out, "# HELP {name}_seconds {help}, with their latency.");
            let _ = writeln!(out, "# TYPE {name}_seconds histogram");
            for (labels, h) in map.iter() {
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "{name}_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
                }
                let _ = writeln!(out, "{name}_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{name}_seconds_sum{{{labels}}} {}", h.sum);
                let _ = writeln!(out, "{name}_seconds_count{{{labels}}} {}", h.count);
            }
        }
        let _ = writeln!(
            out,
            "# HELP userpool_outbox_messages Messages (emails and texts) waiting in the outbox or being sent."
        );
        let _ = writeln!(out, "# TYPE userpool_outbox_messages gauge");
        let _ = writeln!(out, "userpool_outbox_messages {}", outbox.0);
        let _ = writeln!(
            out,
            "# HELP userpool_outbox_oldest_age_seconds Age of the oldest message in the outbox (0: none)."
        );
        let _ = writeln!(out, "# TYPE userpool_outbox_oldest_age_seconds gauge");
        let _ = writeln!(out, "userpool_outbox_oldest_age_seconds {}", outbox.1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_quoted() {
        let m = Metrics::default();
        m.request("ForgotPassword", None, 0.003);
        m.request("ForgotPassword", None, 0.2);
        m.request("ConfirmForgotPassword", Some("CodeMismatchException"), 0.02);
        m.trigger("Pre\"SignUp", "ok", 7.0);
        let text = m.render((2, 1.5));
        assert!(
            text.contains("userpool_requests_seconds_bucket{operation=\"ForgotPassword\",error=\"\",le=\"0.005\"} 1")
        );
        assert!(
            text.contains("userpool_requests_seconds_bucket{operation=\"ForgotPassword\",error=\"\",le=\"0.25\"} 2")
        );
        assert!(text.contains(
            "userpool_requests_seconds_count{operation=\"ConfirmForgotPassword\",error=\"CodeMismatchException\"} 1"
        ));
        assert!(
            text.contains("userpool_trigger_calls_seconds_bucket{trigger=\"Pre\\\"SignUp\",outcome=\"ok\",le=\"5\"} 0")
        );
        assert!(
            text.contains(
                "userpool_trigger_calls_seconds_bucket{trigger=\"Pre\\\"SignUp\",outcome=\"ok\",le=\"+Inf\"} 1"
            )
        );
        assert!(
            text.contains("userpool_outbox_messages 2\n") && text.contains("userpool_outbox_oldest_age_seconds 1.5\n")
        );
    }
}
