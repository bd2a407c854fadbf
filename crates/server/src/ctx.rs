//! The context every operation and service receives: the components, built once at start and
//! passed explicitly (no global state). Nothing here knows about HTTP or about operations.

use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::Delivery;
use crate::hashing::PasswordHasher;
use crate::keys::KeyCache;
use crate::metrics::Metrics;
use crate::quota::RateQuota;
use crate::sealing::Sealer;
use crate::store::Store;
use crate::tls::TlsConnector;
use crate::triggers::TriggerRunner;
use crate::waf::Waf;
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
    /// Seals secrets at rest under the master key, when one is configured.
    pub sealer: Sealer,
    /// The UserAccountRecovery request quota.
    pub recovery_quota: RateQuota,
    /// The UserAuthentication request quota, and RespondToAuthChallenge's (three times as many).
    pub auth_quota: RateQuota,
    pub challenge_quota: RateQuota,
    /// Parsed token signing keys.
    pub keys: KeyCache,
    pub metrics: Arc<Metrics>,
    /// TLS for outgoing connections (mail, webhooks, Lambda).
    pub tls: Arc<TlsConnector>,
    /// Runs the Lambda triggers pools name.
    pub triggers: TriggerRunner,
    /// The pools' web ACLs.
    pub waf: Waf,
}

impl Ctx {
    pub async fn new(settings: Settings, clock: Arc<dyn Clock>) -> Result<Ctx, String> {
        let store = Store::connect(&settings.database_url).await.map_err(|e| format!("database: {e}"))?;
        let hasher = PasswordHasher::with_queue(settings.hashing, settings.hash_concurrency, settings.hash_queue)?;
        let sealer = Sealer::new(settings.master_key.as_deref().map(Vec::as_slice))?;
        let code_key = crate::sealing::open_server_secrets(&store, &sealer).await?;
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
        let waf = Waf::new(&settings.waf, settings.trusted_proxy_hops)?;
        let recovery_quota = RateQuota::new(settings.recovery.rate_limit_per_second);
        let auth_rate = settings.recovery.auth_rate_limit_per_second;
        let (auth_quota, challenge_quota) = (RateQuota::new(auth_rate), RateQuota::new(auth_rate.saturating_mul(3)));
        Ok(Ctx {
            settings,
            store,
            hasher,
            clock,
            delivery,
            code_key,
            sealer,
            recovery_quota,
            auth_quota,
            challenge_quota,
            keys: KeyCache::default(),
            metrics,
            tls,
            triggers,
            waf,
        })
    }
}
