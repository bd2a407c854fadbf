//! Secrets at rest (docs/operating.md#secrets-at-rest): with a master key configured, the token
//! signing keys and the code HMAC key are stored sealed with AES-256-GCM, each bound to its place
//! by the associated data, so whoever reads the database cannot sign tokens or forge codes. A
//! check value sealed under the master key makes a start with another key (or none) fail
//! instead of running on secrets it cannot read.

use crate::store::Store;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// How a sealed value starts; anything else is stored in clear (local mode, or from before).
const PREFIX: &str = "sealed:v1:";
/// The server secret that proves which master key sealed the database.
const CHECK: &str = "master-key-check";
const CHECK_VALUE: &str = "userpool";
/// The purpose (associated data) of a sealed signing key: bound to its pool and key id, so a
/// sealed key copied into another row does not open.
pub fn signing_key_purpose(pool_id: &str, kid: &str) -> String {
    format!("signing-key/{pool_id}/{kid}")
}
/// The name, and purpose, of the code HMAC key.
pub const CODE_KEY: &str = "code-hmac-key";

/// Seals and opens values under the master key; without one, values pass through in clear.
pub struct Sealer(Option<LessSafeKey>);

impl Sealer {
    pub fn new(master_key: Option<&[u8]>) -> Result<Sealer, String> {
        let Some(bytes) = master_key else { return Ok(Sealer(None)) };
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| "the master key must be 32 bytes".to_string())?;
        Ok(Sealer(Some(LessSafeKey::new(key))))
    }

    pub fn is_sealing(&self) -> bool {
        self.0.is_some()
    }

    pub fn seal(&self, purpose: &str, plain: &str) -> String {
        let Some(key) = &self.0 else { return plain.to_string() };
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = plain.as_bytes().to_vec();
        // Sealing only fails for inputs of gigabytes.
        if key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(purpose.as_bytes()), &mut sealed)
            .is_err()
        {
            return plain.to_string();
        }
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// A stored value in clear. Under a master key every value must be sealed: one in clear in a
    /// sealed database was put there by someone else, and is refused. Without a key, values are
    /// in clear, and a sealed one cannot be read.
    pub fn open(&self, purpose: &str, stored: &str) -> Result<String, String> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else {
            if self.is_sealing() {
                return Err(format!("a {purpose} is stored in clear in a sealed database"));
            }
            return Ok(stored.to_string());
        };
        let Some(key) = &self.0 else {
            return Err("the database is sealed: start with its master key (--master-key-file)".into());
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| format!("a sealed {purpose} is damaged"))?;
        if bytes.len() < NONCE_LEN {
            return Err(format!("a sealed {purpose} is damaged"));
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| format!("a sealed {purpose} is damaged"))?;
        let mut body = body.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut body)
            .map_err(|_| "the database is sealed under another master key".to_string())?;
        String::from_utf8(plain.to_vec()).map_err(|_| format!("a sealed {purpose} is damaged"))
    }
}

/// At start: checks that the database is sealed under this master key (or under none), seals
/// what is still in clear when a key is configured, and returns the code HMAC key in clear.
pub async fn open_server_secrets(store: &Store, sealer: &Sealer) -> Result<Vec<u8>, String> {
    let db = |e: crate::store::StoreError| format!("database: {e}");
    let first_sealing = match store.find_server_secret(CHECK).await.map_err(db)? {
        Some(check) if sealer.open(CHECK, &check)? != CHECK_VALUE => {
            return Err("the database is sealed under another master key".into());
        }
        Some(_) => false,
        None => sealer.is_sealing(),
    };
    if first_sealing {
        // The first start with a master key seals what was stored in clear before, then marks
        // the database sealed. Later, a value in clear is refused, never sealed.
        let clear = |k: &str| !k.starts_with(PREFIX);
        store
            .reseal_signing_keys(|pool, kid, key| {
                Ok(if clear(key) { sealer.seal(&signing_key_purpose(pool, kid), key) } else { key.to_string() })
            })
            .await
            .map_err(db)??;
        if let Some(stored) = store.find_server_secret(CODE_KEY).await.map_err(db)?.filter(|s| clear(s)) {
            store.set_server_secret(CODE_KEY, &sealer.seal(CODE_KEY, &stored)).await.map_err(db)?;
        }
        store.set_server_secret(CHECK, &sealer.seal(CHECK, CHECK_VALUE)).await.map_err(db)?;
    }
    let stored = store
        .server_secret(CODE_KEY, || sealer.seal(CODE_KEY, &hex::encode(rand::random::<[u8; 32]>())))
        .await
        .map_err(db)?;
    let code_key = sealer.open(CODE_KEY, &stored)?;
    hex::decode(code_key).map_err(|e| format!("stored code key: {e}"))
}

/// `userpool rotate-master-key`: every sealed secret opened with the current key and sealed with
/// the new one, in one transaction each for the signing keys and the server secrets.
pub async fn reseal(store: &Store, current: &Sealer, new: &Sealer) -> Result<(), String> {
    let db = |e: crate::store::StoreError| format!("database: {e}");
    store
        .reseal_signing_keys(|pool, kid, key| {
            let purpose = signing_key_purpose(pool, kid);
            Ok(new.seal(&purpose, &current.open(&purpose, key)?))
        })
        .await
        .map_err(db)??;
    for name in [CODE_KEY, CHECK] {
        if let Some(stored) = store.find_server_secret(name).await.map_err(db)? {
            let plain = if name == CHECK { CHECK_VALUE.to_string() } else { current.open(name, &stored)? };
            store.set_server_secret(name, &new.seal(name, &plain)).await.map_err(db)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_their_key_and_purpose() {
        let a = Sealer::new(Some(&[1; 32])).unwrap();
        let b = Sealer::new(Some(&[2; 32])).unwrap();
        let none = Sealer::new(None).unwrap();
        let purpose = signing_key_purpose("us-east-1_p", "kid");
        let sealed = a.seal(&purpose, "secret");
        assert!(sealed.starts_with(PREFIX) && !sealed.contains("secret"));
        assert_ne!(sealed, a.seal(&purpose, "secret"), "a fresh nonce each time");
        assert_eq!(a.open(&purpose, &sealed).unwrap(), "secret");
        assert_eq!(b.open(&purpose, &sealed).unwrap_err(), "the database is sealed under another master key");
        assert!(a.open(CODE_KEY, &sealed).is_err(), "bound to its purpose");
        assert!(a.open(&signing_key_purpose("us-east-1_q", "kid"), &sealed).is_err(), "bound to its row");
        assert!(none.open(&purpose, &sealed).unwrap_err().contains("--master-key-file"));
        assert_eq!(none.seal(CODE_KEY, "clear"), "clear");
        assert!(a.open(CODE_KEY, "clear").unwrap_err().contains("in clear"), "a sealed database has no clear values");
        assert_eq!(none.open(CODE_KEY, "clear").unwrap(), "clear");
        assert!(Sealer::new(Some(&[1; 16])).is_err());
    }
}
