//! A minimal SMTP client (RFC 5321) for the outbox: one message a connection, over plain TCP,
//! STARTTLS (RFC 3207) or implicit TLS (RFC 8314), with AUTH PLAIN when credentials are
//! configured.

use crate::tls::{Io, TlsConnector};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How the connection to the mail server is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain TCP: a relay on the same machine or a trusted network.
    #[default]
    Plain,
    /// Plain TCP upgraded with STARTTLS before anything else is sent (port 587, or 25).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender when the pool's EmailConfiguration names none.
    pub from: Option<String>,
    /// The longest wait between two attempts at a message (default 300 s).
    pub retry_max_seconds: Option<u64>,
}

const fn default_port() -> u16 {
    25
}

impl SmtpSettings {
    /// Credentials go together, and never in clear text over the network: AUTH over plain SMTP
    /// is allowed to a relay on this machine only.
    pub fn check(&self) -> Result<(), String> {
        if self.username.is_some() != self.password.is_some() {
            return Err("[smtp]: username and password go together".into());
        }
        let loopback = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if self.username.is_some() && self.security == Security::Plain && !loopback {
            return Err(
                "[smtp]: a password would cross the network in clear text; set security to starttls or tls".into()
            );
        }
        Ok(())
    }
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

pub struct Email<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub reply_to: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
    pub date: String,
}

const TIMEOUT: Duration = Duration::from_secs(30);

struct Session {
    stream: BufReader<Box<dyn Io>>,
}

impl Session {
    /// The server's reply: its code once it is the expected class, else an error with the text.
    async fn reply(&mut self, expected: u16) -> Result<(), String> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(TIMEOUT, self.stream.read_line(&mut line))
                .await
                .map_err(|_| "the SMTP server did not answer in time".to_string())?
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the SMTP server closed the connection".into());
            }
            text.push_str(line.trim_end());
            // "250-..." continues a reply, "250 ..." ends it.
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
            text.push(' ');
        }
        let code: u16 = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code / 100 == expected / 100 { Ok(()) } else { Err(format!("SMTP: {text}")) }
    }

    async fn command(&mut self, line: &str, expected: u16) -> Result<(), String> {
        self.stream.get_mut().write_all(format!("{line}\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        self.reply(expected).await
    }
}

/// Header values cannot carry line breaks (header injection); text that is not ASCII is
/// encoded as RFC 2047 asks.
fn header(value: &str) -> String {
    let flat = value.replace(['\r', '\n'], " ");
    if flat.is_ascii() { flat } else { format!("=?UTF-8?B?{}?=", STANDARD.encode(flat)) }
}

/// The address of `Name <address>`, for the envelope.
fn envelope_address(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => &mailbox[start + 1..end],
        _ => mailbox.trim(),
    }
}

/// Sends one message; Ok once the server has accepted it (the reply to the final dot).
pub async fn send(settings: &SmtpSettings, tls: &TlsConnector, email: &Email<'_>) -> Result<(), String> {
    let address = format!("{}:{}", settings.host, settings.port);
    let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(&address))
        .await
        .map_err(|_| format!("connecting to {address} timed out"))?
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    let mut stream: Box<dyn Io> = Box::new(tcp);
    if settings.security == Security::Tls {
        stream = tls.wrap(&settings.host, stream).await?;
    }
    let mut s = Session { stream: BufReader::new(stream) };
    s.reply(220).await?;
    s.command("EHLO userpool", 250).await?;
    if settings.security == Security::Starttls {
        s.command("STARTTLS", 220).await?;
        // Nothing the server sent before the upgrade may be trusted after it (RFC 3207 §4.2).
        let plain = s.stream.into_inner();
        s = Session { stream: BufReader::new(tls.wrap(&settings.host, plain).await?) };
        s.command("EHLO userpool", 250).await?;
    }
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        let token = STANDARD.encode(format!("\0{user}\0{password}"));
        s.command(&format!("AUTH PLAIN {token}"), 235).await?;
    }
    // The recipient is an attribute value: used as it is, and refused if it could end the
    // address or the command early.
    if email.to.contains(['<', '>', '\r', '\n']) {
        return Err("the recipient is not a plain address".into());
    }
    s.command(&format!("MAIL FROM:<{}>", envelope_address(email.from).replace(['\r', '\n', '<', '>'], "")), 250)
        .await?;
    s.command(&format!("RCPT TO:<{}>", email.to), 250).await?;
    s.command("DATA", 354).await?;
    let mut data = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@userpool>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        header(email.from),
        email.to,
        header(email.subject),
        email.date,
        email.message_id
    );
    if let Some(reply_to) = email.reply_to {
        data.push_str(&format!("Reply-To: {}\r\n", header(reply_to)));
    }
    data.push_str("\r\n");
    // Every line break becomes CRLF; a lone CR is a break too (a bare CR before a dot could end
    // the message early on a lenient server).
    let body = email.body.replace("\r\n", "\n").replace('\r', "\n");
    for line in body.lines() {
        // Dot-stuffing: a line that starts with a dot gets another one (RFC 5321 §4.5.2).
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    s.stream.get_mut().write_all(data.as_bytes()).await.map_err(|e| e.to_string())?;
    s.reply(250).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = s.command("QUIT", 221).await;
    Ok(())
}
