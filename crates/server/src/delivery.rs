//! Every message the server sends (sign-up codes, invitations, reset codes) goes through here.
//! Today each one is recorded durably in the database (readable in local mode at
//! /_userpool/messages) and logged without its code; SMTP and SMS sinks plug in behind `send`
//! (issue 5).

use crate::clock::Clock;
use crate::error::ApiResult;
use crate::store::{MessageRow, Store};
use std::sync::Arc;
use userpool_model::types::DeliveryMediumType;

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
}

#[derive(Clone)]
pub struct Delivery {
    store: Store,
    clock: Arc<dyn Clock>,
    /// Local mode keeps each message's code readable (/_userpool/messages); otherwise the stored
    /// message holds neither the code nor the text that carries it, so reading the database does
    /// not give live codes or temporary passwords.
    keep_codes: bool,
}

impl Delivery {
    pub fn new(store: Store, clock: Arc<dyn Clock>, keep_codes: bool) -> Delivery {
        Delivery { store, clock, keep_codes }
    }

    pub async fn send(&self, mut m: Message) -> ApiResult<()> {
        if !self.keep_codes
            && let Some(code) = m.code.take()
        {
            m.body = m.body.replace(&code, "{####}");
        }
        // Time-ordered ids keep messages of the same millisecond in the order they were sent.
        let id = uuid::Uuid::now_v7().to_string();
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
                created_at: self.clock.now_ms(),
            })
            .await?;
        // The destination and the code stay out of the log.
        tracing::info!(message_id = id, purpose = m.purpose, medium = m.medium.as_str(), "message recorded");
        Ok(())
    }
}
