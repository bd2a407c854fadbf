//! Identifier formats: pool ids `us-east-1_AbC123xyZ`; client ids of 26 and client secrets of 52
//! characters from `0-9a-v` (base32hex, as every captured real id is); `sub` UUIDs.

use rand::Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE32HEX: &[u8] = b"0123456789abcdefghijklmnopqrstuv";

fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

pub fn user_pool_id(region: &str) -> String {
    format!("{region}_{}", random_string(ALNUM, 9))
}

pub fn client_id() -> String {
    random_string(BASE32HEX, 26)
}

pub fn client_secret() -> String {
    random_string(BASE32HEX, 52)
}

pub fn sub() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The part of a pool id after `_`: SRP's "pool name", used in `x` and in the signature
/// (`us-east-1_AbCdEf123` → `AbCdEf123`, as the clients' `poolId.split('_')[1]`). Every pool id
/// this server makes has one; another id is used whole.
pub fn pool_name_of(pool_id: &str) -> &str {
    pool_id.split('_').nth(1).unwrap_or(pool_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let id = user_pool_id("eu-west-1");
        assert!(id.starts_with("eu-west-1_") && id.len() == "eu-west-1_".len() + 9, "{id}");
        assert_eq!(pool_name_of(&id).len(), 9);
        let c = client_id();
        assert!(c.len() == 26 && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(client_secret().len(), 52);
        assert_ne!(client_id(), client_id());
    }
}
