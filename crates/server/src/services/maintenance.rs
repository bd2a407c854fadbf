//! Periodic upkeep that no request does: expired counters of unknown names are deleted.

use crate::ctx::Ctx;
use crate::services::codes::HOUR_MS;
use std::time::Duration;

/// How often upkeep runs (and once at start).
const EVERY: Duration = Duration::from_secs(300);

/// Runs until the task is aborted. A counter window is an hour at the most, so a counter whose
/// window started more than an hour ago counts nothing any more.
pub async fn run(ctx: std::sync::Arc<Ctx>) {
    loop {
        match ctx.store.prune_name_counters(ctx.clock.now_ms() - HOUR_MS).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired counters of unknown names removed"),
            Err(e) => tracing::warn!(cause = %e, "pruning counters failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
