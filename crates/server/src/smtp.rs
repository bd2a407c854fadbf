//! A minimal SMTP client (RFC 5321) for the outbox: one message a connection, over plain TCP,
//! STARTTLS (RFC 3207) or implicit TLS (RFC 8314), with AUTH PLAIN when credentials are
//! configured.

use crate::config::{Security, SmtpSettings};
use crate::tls::{Io, TlsConnector};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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
        let token = STANDARD.encode(format!("\0{user}\0{}", password.as_str()));
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
