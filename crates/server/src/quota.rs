//! Cognito's per-category request quotas (TooManyRequestsException `Rate exceeded`), counted per
//! pool in fixed one-second windows. Each node counts its own requests: N nodes behind a load
//! balancer together allow N times the limit (docs/operating.md#several-nodes-on-postgresql).

use crate::api_error;
use crate::error::ApiResult;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateQuota {
    per_second: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateQuota {
    /// `per_second` 0 turns the quota off.
    pub fn new(per_second: u32) -> RateQuota {
        RateQuota { per_second, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts a request for the pool; `Rate exceeded` past the limit in the current second.
    pub fn check(&self, pool_id: &str, now_ms: i64) -> ApiResult<()> {
        if self.per_second == 0 {
            return Ok(());
        }
        let second = now_ms.div_euclid(1000);
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() > 10_000 {
            windows.retain(|_, (s, _)| *s == second);
        }
        let entry = windows.entry(pool_id.to_string()).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        if entry.1 >= self.per_second {
            return Err(api_error!(TooManyRequestsException, "Rate exceeded"));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_pool_per_second() {
        let q = RateQuota::new(2);
        assert!(q.check("a", 1_000).is_ok() && q.check("a", 1_500).is_ok());
        assert_eq!(q.check("a", 1_999).unwrap_err().message(), "Rate exceeded");
        assert!(q.check("b", 1_999).is_ok(), "pools are counted apart");
        assert!(q.check("a", 2_000).is_ok(), "a new second starts afresh");
        let off = RateQuota::new(0);
        assert!((0..1000).all(|_| off.check("a", 1).is_ok()));
    }
}
