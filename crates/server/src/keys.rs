//! Token signing keys: RSA-2048 key pairs kept PKCS#8-encoded in the store, RS256 signatures,
//! JWKS entries, and the node's cache of parsed active keys. Which key a pool uses, and when keys
//! are created or rotated, is `services::tokens`' business.

use crate::error::{ApiError, ApiResult};
use crate::store::KeyRow;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TokenUse {
    Id,
    Access,
}

impl TokenUse {
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

/// How long a retired key stays in the JWKS: the longest an ID or access token can live (one
/// day, the maximum of AccessTokenValidity and IdTokenValidity).
pub const RETIRED_KEY_KEPT_MS: i64 = 86_400_000;

/// How long a parsed active key is used before the store is read again.
const KEY_CACHE_MS: i64 = 60_000;

pub struct SigningKey {
    pub kid: String,
    pair: KeyPair,
}

impl SigningKey {
    pub fn parse(row: &KeyRow) -> ApiResult<SigningKey> {
        let der = STANDARD.decode(&row.private_key).map_err(ApiError::internal)?;
        let pair = KeyPair::from_pkcs8(&der).map_err(|e| ApiError::internal(format!("stored signing key: {e}")))?;
        Ok(SigningKey { kid: row.kid.clone(), pair })
    }

    /// A new active key's row. RSA key generation is slow (tens of milliseconds): callers run it
    /// off the async threads.
    pub fn generate(token_use: TokenUse) -> ApiResult<KeyRow> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| ApiError::internal("RSA key generation failed"))?;
        let der = pair.as_der().map_err(|_| ApiError::internal("PKCS#8 encoding failed"))?;
        let kid = STANDARD.encode(rand::random::<[u8; 24]>());
        Ok(KeyRow {
            kid,
            token_use: token_use.as_str().into(),
            private_key: STANDARD.encode(der.as_ref()),
            active: true,
        })
    }

    fn public_components(&self) -> PublicKeyComponents<Vec<u8>> {
        PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key())
    }

    /// The key's entry in a JWKS document.
    pub fn jwk(&self) -> Value {
        let c = self.public_components();
        json!({"alg": "RS256", "e": URL_SAFE_NO_PAD.encode(&c.e), "kid": self.kid, "kty": "RSA",
               "n": URL_SAFE_NO_PAD.encode(&c.n), "use": "sig"})
    }

    /// A compact JWS of the claims.
    pub fn sign(&self, claims: &Value) -> ApiResult<String> {
        let header = json!({"kid": self.kid, "alg": "RS256"});
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| ApiError::internal("RS256 signing failed"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Whether `signature` is this key's RS256 signature of `signed` (`header.payload`).
    pub fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        self.public_components().verify(&RSA_PKCS1_2048_8192_SHA256, signed, signature).is_ok()
    }
}

/// Parsed active keys by pool and when they were read, so a sign-in does not read and parse them
/// each time. Entries are re-read after `KEY_CACHE_MS`, so a rotation made by another node (or by
/// `userpool rotate-keys`) takes effect here within that time; until then this node signs with the
/// retired key, which the JWKS still lists.
#[derive(Default)]
pub struct KeyCache(Mutex<CachedKeys>);

/// Each pool's parsed active key per use, with when it was read.
type CachedKeys = HashMap<(String, TokenUse), (Arc<SigningKey>, i64)>;

impl KeyCache {
    pub fn get(&self, pool_id: &str, token_use: TokenUse, now_ms: i64) -> Option<Arc<SigningKey>> {
        let cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (key, read_at) = cache.get(&(pool_id.to_string(), token_use))?;
        (now_ms - read_at < KEY_CACHE_MS).then(|| Arc::clone(key))
    }

    pub fn insert(&self, pool_id: &str, token_use: TokenUse, key: Arc<SigningKey>, read_at_ms: i64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((pool_id.to_string(), token_use), (key, read_at_ms));
    }

    /// After a rotation on this node: the next use reads the new keys.
    pub fn forget_pool(&self, pool_id: &str) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).retain(|(pool, _), _| pool != pool_id);
    }
}
