//! One-time codes: six digits from a CSPRNG, stored only as an HMAC under the server's code key,
//! compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub fn generate() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// The stored form: hex HMAC-SHA256 over the pool, the user and the code, so equal codes of
/// different users never share a digest.
pub fn digest(key: &[u8], pool_id: &str, sub: &str, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in [pool_id, sub, code] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    hex::encode(mac.finalize().into_bytes())
}

pub fn matches(key: &[u8], pool_id: &str, sub: &str, code: &str, stored: &str) -> bool {
    digest(key, pool_id, sub, code).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// `alice@example.com` → `a***@e***`; `+15555551234` → `+*******1234` (docs/cognito-facts.md#destination-masking).
pub fn mask_destination(attribute: &str, value: &str) -> String {
    if attribute == "email" {
        let (local, domain) = value.split_once('@').unwrap_or((value, ""));
        let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
        format!("{}***@{}***", first(local), first(domain))
    } else {
        let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
        let shown = digits.len().saturating_sub(4);
        let tail: String = digits[shown..].iter().collect();
        format!("+{}{tail}", "*".repeat(shown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_hashed_per_user() {
        for _ in 0..100 {
            let c = generate();
            assert!(c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()), "{c}");
        }
        let d = digest(b"k", "pool", "u1", "123456");
        assert!(matches(b"k", "pool", "u1", "123456", &d));
        assert!(!matches(b"k", "pool", "u1", "123457", &d));
        assert!(!matches(b"k", "pool", "u2", "123456", &d));
        assert!(!matches(b"other", "pool", "u1", "123456", &d));
    }

    #[test]
    fn masks() {
        assert_eq!(mask_destination("email", "alice@example.com"), "a***@e***");
        assert_eq!(mask_destination("phone_number", "+15555551234"), "+*******1234");
    }
}
