//! The context every operation and service receives: the components, built once at start and
//! passed explicitly (no global state). Nothing here knows about HTTP or about operations.

use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::Delivery;
use crate::hashing::PasswordHasher;
use crate::keys::KeyCache;
use crate::metrics::Metrics;
use crate::quota::RateQuota;
use crate::store::Store;
use crate::tls::TlsConnector;
use crate::triggers::TriggerRunner;
use std::sync::Arc;

/// Everything an operation may use, built once at start and passed explicitly.
pub struct Ctx {
    pub settings: Settings,
    pub store: Store,
    pub hasher: PasswordHasher,
    pub clock: Arc<dyn Clock>,
    pub delivery: Delivery,
    /// HMAC key for one-time codes, generated at first start and kept with the data.
    pub code_key: Vec<u8>,
    /// The UserAccountRecovery request quota.
    pub recovery_quota: RateQuota,
    /// Parsed token signing keys.
    pub keys: KeyCache,
    pub metrics: Arc<Metrics>,
    /// TLS for outgoing connections (mail, webhooks, Lambda).
    pub tls: Arc<TlsConnector>,
    /// Runs the Lambda triggers pools name.
    pub triggers: TriggerRunner,
}

impl Ctx {
    pub async fn new(settings: Settings, clock: Arc<dyn Clock>) -> Result<Ctx, String> {
        let store = Store::connect(&settings.database_url).await.map_err(|e| format!("database: {e}"))?;
        let hasher = PasswordHasher::new(settings.hashing, settings.hash_concurrency)?;
        let code_key = store
            .server_secret("code-hmac-key", || hex::encode(rand::random::<[u8; 32]>()))
            .await
            .map_err(|e| format!("database: {e}"))?;
        let code_key = hex::decode(code_key).map_err(|e| format!("stored code key: {e}"))?;
        let tls = Arc::new(TlsConnector::new(settings.tls_ca_file.clone()));
        let metrics = Arc::new(Metrics::default());
        let triggers = TriggerRunner::new(
            settings.triggers.clone(),
            settings.region.clone(),
            Arc::clone(&tls),
            Arc::clone(&clock),
            Arc::clone(&metrics),
        );
        let delivery = Delivery::new(
            store.clone(),
            Arc::clone(&clock),
            settings.test_endpoints,
            settings.smtp.clone(),
            settings.sms.clone(),
            Arc::clone(&tls),
        );
        let recovery_quota = RateQuota::new(settings.recovery.rate_limit_per_second);
        Ok(Ctx {
            settings,
            store,
            hasher,
            clock,
            delivery,
            code_key,
            recovery_quota,
            keys: KeyCache::default(),
            metrics,
            tls,
            triggers,
        })
    }
}
