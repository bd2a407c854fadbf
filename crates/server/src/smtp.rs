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
    /// The server's reply: its text once its code is of the expected class, else an error.
    async fn reply(&mut self, expected: u16) -> Result<String, String> {
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
        if code / 100 == expected / 100 { Ok(text) } else { Err(format!("SMTP: {text}")) }
    }

    async fn command(&mut self, line: &str, expected: u16) -> Result<String, String> {
        self.stream.get_mut().write_all(format!("{line}\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        self.reply(expected).await
    }
}

/// The longest line SMTP carries, without its CRLF (RFC 5322 §2.1.1).
const MAX_LINE_OCTETS: usize = 998;

/// Unstructured header text (a subject, a display name) as a header may carry it: line breaks
/// become spaces (no header injection), and text that is not ASCII becomes RFC 2047 encoded
/// words of at most 75 characters, folded onto continuation lines.
fn encoded_text(value: &str) -> String {
    let flat = value.replace(['\r', '\n'], " ");
    if flat.is_ascii() {
        return flat;
    }
    // 45 bytes of UTF-8 are 60 characters of base64: with `=?UTF-8?B?` and `?=`, 72.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in flat.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    words.join("\r\n ")
}

/// A mailbox header (`From`, `Reply-To`): only the display name may be encoded; the address
/// stays as it is, or mail servers could not read it (RFC 2047 §5).
fn mailbox(value: &str) -> String {
    let flat = value.replace(['\r', '\n'], " ");
    match (flat.rfind('<'), flat.rfind('>')) {
        (Some(start), Some(end)) if start < end => {
            let name = flat[..start].trim().trim_matches('"');
            let address = &flat[start..=end];
            if name.is_empty() {
                address.to_string()
            } else if name.is_ascii() {
                format!("{} {address}", flat[..start].trim())
            } else {
                format!("{} {address}", encoded_text(name))
            }
        }
        _ => flat.trim().to_string(),
    }
}

/// The message as DATA sends it, dot-stuffed and ending with the final dot. The body goes as
/// 8-bit text when the server takes it (8BITMIME, or plain ASCII) and no line is longer than
/// SMTP allows; otherwise as base64.
fn message(email: &Email<'_>, eight_bit_ok: bool) -> String {
    // Every line break becomes CRLF; a lone CR is a break too (a bare CR before a dot could end
    // the message early on a lenient server).
    let body = email.body.replace("\r\n", "\n").replace('\r', "\n");
    let fits = body.lines().all(|l| l.len() <= MAX_LINE_OCTETS);
    let encoding = match (body.is_ascii(), fits) {
        (true, true) => "7bit",
        (false, true) if eight_bit_ok => "8bit",
        _ => "base64",
    };
    let mut data = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@userpool>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {encoding}\r\n",
        mailbox(email.from),
        email.to,
        encoded_text(email.subject),
        email.date,
        email.message_id
    );
    if let Some(reply_to) = email.reply_to {
        data.push_str(&format!("Reply-To: {}\r\n", mailbox(reply_to)));
    }
    data.push_str("\r\n");
    let lines: Vec<String> = if encoding == "base64" {
        let crlf = body.lines().collect::<Vec<_>>().join("\r\n");
        let encoded = STANDARD.encode(crlf.as_bytes());
        // 76 characters a line (RFC 2045 §6.8); base64 has no dots to stuff.
        encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect()
    } else {
        body.lines().map(str::to_string).collect()
    };
    for line in lines {
        // Dot-stuffing: a line that starts with a dot gets another one (RFC 5321 §4.5.2).
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(&line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    data
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
    let mut extensions = s.command("EHLO userpool", 250).await?;
    if settings.security == Security::Starttls {
        s.command("STARTTLS", 220).await?;
        // Nothing the server sent before the upgrade may be trusted after it (RFC 3207 §4.2).
        let plain = s.stream.into_inner();
        s = Session { stream: BufReader::new(tls.wrap(&settings.host, plain).await?) };
        extensions = s.command("EHLO userpool", 250).await?;
    }
    // "250-8BITMIME": the server takes 8-bit bodies (RFC 6152).
    let eight_bit_ok =
        extensions.split_whitespace().any(|w| w.get(4..).is_some_and(|x| x.eq_ignore_ascii_case("8BITMIME")));
    if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
        let token = STANDARD.encode(format!("\0{user}\0{}", password.as_str()));
        s.command(&format!("AUTH PLAIN {token}"), 235).await?;
    }
    // The recipient is an attribute value: used as it is, and refused if it could end the
    // address or the command early.
    if email.to.contains(['<', '>', '\r', '\n']) {
        return Err("the recipient is not a plain address".into());
    }
    let data = message(email, eight_bit_ok);
    let body_type = if data.contains("Content-Transfer-Encoding: 8bit\r\n") { " BODY=8BITMIME" } else { "" };
    let sender = envelope_address(email.from).replace(['\r', '\n', '<', '>'], "");
    s.command(&format!("MAIL FROM:<{sender}>{body_type}"), 250).await?;
    s.command(&format!("RCPT TO:<{}>", email.to), 250).await?;
    s.command("DATA", 354).await?;
    s.stream.get_mut().write_all(data.as_bytes()).await.map_err(|e| e.to_string())?;
    s.reply(250).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = s.command("QUIT", 221).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email<'a>(from: &'a str, subject: &'a str, body: &'a str) -> Email<'a> {
        Email {
            from,
            to: "bob@example.com",
            reply_to: None,
            subject,
            body,
            message_id: "m1",
            date: "Wed, 02 Dec 2026 14:00:00 +0000".into(),
        }
    }

    fn header<'a>(data: &'a str, name: &str) -> &'a str {
        let start = data.find(&format!("{name}: ")).expect("header present") + name.len() + 2;
        let rest = &data[start..];
        // A folded header goes on over lines that start with a space.
        let mut end = 0;
        for line in rest.split_inclusive("\r\n") {
            if end > 0 && !line.starts_with(' ') {
                break;
            }
            end += line.len();
        }
        rest[..end].trim_end()
    }

    #[test]
    fn only_the_display_name_is_encoded() {
        let data = message(&email("Bäckerei Müller <shop@example.com>", "Code", "1"), true);
        let from = header(&data, "From");
        assert!(from.starts_with("=?UTF-8?B?") && from.ends_with(" <shop@example.com>"), "{from}");
        assert_eq!(
            header(&message(&email("Shop <shop@example.com>", "s", "1"), true), "From"),
            "Shop <shop@example.com>"
        );
        assert_eq!(header(&message(&email("shop@example.com", "s", "1"), true), "From"), "shop@example.com");
    }

    #[test]
    fn long_encoded_subjects_are_folded_into_short_words() {
        let subject = "Ihr Bestätigungscode für das Kundenkonto bei der Bäckerei Müller ist da";
        let data = message(&email("a@example.com", subject, "1"), true);
        let value = header(&data, "Subject");
        let words: Vec<&str> = value.split("\r\n ").collect();
        assert!(words.len() > 1, "{value}");
        let mut decoded = Vec::new();
        for word in &words {
            assert!(word.len() <= 75 && word.starts_with("=?UTF-8?B?") && word.ends_with("?="), "{word}");
            decoded.extend(STANDARD.decode(&word[10..word.len() - 2]).unwrap());
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), subject);
    }

    #[test]
    fn bodies_go_as_8bit_only_when_they_may() {
        let te = |data: &str| header(data, "Content-Transfer-Encoding").to_string();
        assert_eq!(te(&message(&email("a@example.com", "s", "Code 123456"), false)), "7bit");
        assert_eq!(te(&message(&email("a@example.com", "s", "Code für 123456"), true)), "8bit");
        // No 8BITMIME: non-ASCII text is base64.
        let data = message(&email("a@example.com", "s", "Code für 123456"), false);
        assert_eq!(te(&data), "base64");
        let body = data.split("\r\n\r\n").nth(1).unwrap().trim_end_matches("\r\n.\r\n");
        let decoded = STANDARD.decode(body.replace("\r\n", "")).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "Code für 123456");
        // A line longer than SMTP carries is base64 too, in lines of 76.
        let long = "x".repeat(2000);
        let data = message(&email("a@example.com", "s", &long), true);
        assert_eq!(te(&data), "base64");
        assert!(data.split("\r\n").all(|l| l.len() <= MAX_LINE_OCTETS));
    }

    #[test]
    fn lines_are_dot_stuffed_and_breaks_are_crlf() {
        let data = message(&email("a@example.com", "s", ".hidden\rnext\n.\nend"), true);
        assert!(data.ends_with("\r\n\r\n..hidden\r\nnext\r\n..\r\nend\r\n.\r\n"), "{data:?}");
    }
}
