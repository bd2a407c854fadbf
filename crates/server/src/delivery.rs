//! Every message the server sends (sign-up codes, invitations, reset codes) goes through here.
//! Each is recorded durably in the database first (readable in local mode at
//! /_userpool/messages) and logged without its code. With `[smtp]` configured, an email also
//! waits in that table, the outbox, until the mail server has accepted it: a background task
//! sends due messages, retries with backoff while the server is down, and then forgets the code
//! (issue 5). With `[sms]` configured, text messages go the same way to SNS or a webhook.

use crate::clock::Clock;
use crate::config::{SmsSettings, SmtpSettings};
use crate::domain::calendar::DateTime;
use crate::error::ApiResult;
use crate::sms;
use crate::smtp::{self, Email};
use crate::store::{MessageRow, Store};
use crate::tls::TlsConnector;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use userpool_model::types::DeliveryMediumType;

/// How long a node holds a message it is sending; one attempt must end well within it.
const LEASE_MS: i64 = 120_000;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
/// A message still unsent after this long is given up: every code it could carry has expired
/// (the longest-lived, sign-up and attribute codes, last 24 hours).
const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Cognito's sender when a pool sends with its default email account.
const COGNITO_DEFAULT_FROM: &str = "no-reply@verificationemail.com";

pub struct Message {
    pub pool_id: String,
    /// The internal username of the recipient.
    pub username: String,
    /// The operation that sent it: `SignUp`, `AdminCreateUser`, `ForgotPassword`, ...
    pub purpose: &'static str,
    pub medium: DeliveryMediumType,
    pub destination: String,
    pub subject: Option<String>,
    pub body: String,
    /// The code or temporary password the message carries.
    pub code: Option<String>,
    /// The pool's EmailConfiguration: From and ReplyToEmailAddress.
    pub from: Option<String>,
    pub reply_to: Option<String>,
}

#[derive(Clone)]
pub struct Delivery {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Local mode keeps each message's code readable (/_userpool/messages); otherwise the stored
    /// message holds neither the code nor the text that carries it, so reading the database does
    /// not give live codes or temporary passwords (an email in the outbox keeps them until sent).
    keep_codes: bool,
    smtp: Option<SmtpSettings>,
    sms: Option<SmsSettings>,
    tls: Arc<TlsConnector>,
    wake: Arc<Notify>,
}

impl Delivery {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        keep_codes: bool,
        smtp: Option<SmtpSettings>,
        sms: Option<SmsSettings>,
        tls: Arc<TlsConnector>,
    ) -> Delivery {
        Delivery { store, clock, keep_codes, smtp, sms, tls, wake: Arc::new(Notify::new()) }
    }

    /// Whether messages of this medium wait in the outbox for a sink.
    fn has_sink(&self, medium: &str) -> bool {
        match medium {
            "EMAIL" => self.smtp.is_some(),
            _ => self.sms.is_some(),
        }
    }

    pub async fn send(&self, mut m: Message) -> ApiResult<()> {
        let outbox = self.has_sink(m.medium.as_str());
        if !self.keep_codes
            && !outbox
            && let Some(code) = m.code.take()
        {
            m.body = m.body.replace(&code, "{####}");
        }
        // Time-ordered ids keep messages of the same millisecond in the order they were sent.
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.clock.now_ms();
        self.store
            .insert_message(&MessageRow {
                id: id.clone(),
                pool_id: m.pool_id,
                username: m.username,
                purpose: m.purpose.to_string(),
                delivery_medium: m.medium.as_str().to_string(),
                destination: m.destination,
                subject: m.subject,
                body: m.body,
                code: m.code,
                created_at: now,
                send_after: outbox.then_some(now),
                sender: m.from,
                reply_to: m.reply_to,
                attempts: 0,
            })
            .await?;
        // The destination and the code stay out of the log.
        tracing::info!(message_id = id, purpose = m.purpose, medium = m.medium.as_str(), outbox, "message recorded");
        if outbox {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The outbox sender: runs until the process ends, when `[smtp]` or `[sms]` is configured.
    pub async fn run_outbox(self) {
        if self.smtp.is_none() && self.sms.is_none() {
            return;
        }
        loop {
            let sent = self.send_due().await;
            if sent == 0 {
                // New mail wakes the task at once; retries are found by the periodic look.
                let _ = tokio::time::timeout(Duration::from_millis(500), self.wake.notified()).await;
            }
        }
    }

    /// Sends what is due; returns how many messages it tried.
    async fn send_due(&self) -> usize {
        let due = match self.store.due_messages(self.clock.now_ms(), 20).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(cause = %e, "reading the outbox failed");
                return 0;
            }
        };
        let mut tried = 0;
        for (id, seen) in due {
            // The lease outlasts one attempt; another node takes the message only after it.
            let lease = self.clock.now_ms() + LEASE_MS;
            let message = match self.store.claim_message(&id, seen, lease).await {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(cause = %e, "claiming an outbox message failed");
                    continue;
                }
            };
            tried += 1;
            self.deliver(&message, lease).await;
        }
        tried
    }

    /// One attempt at one message, through the sink of its medium.
    async fn attempt(&self, m: &MessageRow) -> Result<(), String> {
        match (m.delivery_medium.as_str(), &self.smtp, &self.sms) {
            ("EMAIL", Some(settings), _) => {
                let from =
                    m.sender.clone().or_else(|| settings.from.clone()).unwrap_or_else(|| COGNITO_DEFAULT_FROM.into());
                let email = Email {
                    from: &from,
                    to: &m.destination,
                    reply_to: m.reply_to.as_deref(),
                    subject: m.subject.as_deref().unwrap_or_default(),
                    body: &m.body,
                    message_id: &m.id,
                    date: rfc5322_date(m.created_at),
                };
                smtp::send(settings, &self.tls, &email).await
            }
            ("SMS", _, Some(settings)) => {
                sms::send(settings, &self.tls, &m.destination, &m.body, &m.id, self.clock.now_ms()).await
            }
            (medium, _, _) => Err(format!("no {medium} sink is configured")),
        }
    }

    /// One attempt, then its result, recorded only while this node still holds the lease (a late
    /// result must not undo another node's).
    async fn deliver(&self, m: &MessageRow, lease: i64) {
        let started = std::time::Instant::now();
        let result = match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(m)).await {
            Ok(result) => result,
            Err(_) => Err("the attempt timed out".to_string()),
        };
        let now = self.clock.now_ms();
        let outcome = match result {
            Ok(()) => {
                tracing::info!(
                    message_id = m.id,
                    medium = m.delivery_medium,
                    ms = started.elapsed().as_millis(),
                    "message sent"
                );
                self.store.message_sent(&m.id, lease, &redacted(m), now).await
            }
            Err(error) if now - m.created_at > GIVE_UP_AFTER_MS => {
                tracing::error!(message_id = m.id, attempts = m.attempts + 1, error, "message given up");
                self.store.message_given_up(&m.id, lease, &redacted(m), &error).await
            }
            Err(error) => {
                let cap = match m.delivery_medium.as_str() {
                    "EMAIL" => self.smtp.as_ref().and_then(|s| s.retry_max_seconds),
                    _ => None,
                };
                let cap = i64::try_from(cap.unwrap_or(300).clamp(1, 3600)).unwrap_or(3600);
                let wait = 2i64.saturating_pow(u32::try_from(m.attempts.clamp(0, 30)).unwrap_or(30)).min(cap);
                tracing::warn!(
                    message_id = m.id,
                    attempt = m.attempts + 1,
                    retry_in_s = wait,
                    error,
                    "message not sent"
                );
                self.store.message_failed(&m.id, lease, &error, now + wait * 1000).await
            }
        };
        if let Err(e) = outcome {
            // The lease runs out and the message is tried again: at least once, never lost.
            tracing::error!(cause = %e, message_id = m.id, "recording the outbox result failed");
        }
    }
}

/// The text of a message without its code, as it is kept once the message is out of the outbox.
fn redacted(m: &MessageRow) -> String {
    match &m.code {
        Some(code) => m.body.replace(code.as_str(), "{####}"),
        None => m.body.clone(),
    }
}

/// `Wed, 02 Dec 2026 14:20:00 +0000`
fn rfc5322_date(ms: i64) -> String {
    let t = DateTime::from_epoch_ms(ms);
    let (weekday, month) = (t.weekday_name(), t.month_name());
    format!("{weekday}, {:02} {month} {} {:02}:{:02}:{:02} +0000", t.day, t.year, t.hour, t.minute, t.second)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(super::rfc5322_date(1_796_220_000_000), "Wed, 02 Dec 2026 14:00:00 +0000");
        assert_eq!(super::rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
    }
}
