//! Server side of Amazon Cognito's SRP-6a variant (`USER_SRP_AUTH` → `PASSWORD_VERIFIER`), docs/cognito-facts.md#srp-constants.
//!
//! Cognito's SRP differs from RFC 5054 and from the `srp` crate in the group generator, `k`, `u`, `x`, the
//! key derivation and the proof (docs/decisions.md), so it is written out here. The flow is:
//!
//! 1. Whenever a password is set: `salt` = 16 random bytes, store `salt` and [`verifier`] (docs/cognito-facts.md#srp-verifier).
//! 2. `InitiateAuth(USER_SRP_AUTH)`: [`parse_public_a`] on `SRP_A`, then [`server_challenge`] with ≥ 32 random
//!    bytes; send `SALT` = [`hex_of`]`(salt)`, `SRP_B` = [`hex_of`]`(big_b)`, and keep `A`, `b`, `B` in the
//!    (encrypted) `SECRET_BLOCK` (docs/cognito-facts.md#srp-initiateauth).
//! 3. `RespondToAuthChallenge(PASSWORD_VERIFIER)`: [`parse_timestamp`], [`password_claim_key`],
//!    [`expected_signature`], [`signature_matches`] (docs/cognito-facts.md#srp-respondtoauthchallenge).
//!
//! All modular exponentiations use crypto-bigint's constant-time Montgomery arithmetic; the secret exponent `b`
//! is bounded by its byte length, which is public. Randomness is supplied by the caller.

use std::fmt;
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U256, U3072};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::calendar::{DateTime, MONTHS, WEEKDAYS, days_from_civil, days_in_month};

const LIMBS: usize = U3072::LIMBS;
type Residue = FixedMontyForm<LIMBS>;

/// Size of the group modulus N in bytes (3072 bits).
pub const N_BYTES: usize = 384;

/// Shortest accepted server secret `b` in bytes: docs/cognito-facts.md#srp-initiateauth asks for at least 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

/// N: the RFC 3526 3072-bit MODP prime (docs/cognito-facts.md#srp-constants). Cognito uses it with g = 2, not RFC 5054's g = 5.
const N_HEX: &str = concat!(
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404dd",
    "ef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b0bff5cb6f406b7ed",
    "ee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da48361c55d39a69163fa8fd24cf5f",
    "83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804f1746c08ca18217c32905e462e36ce3b",
    "e39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6955817183995497cea956ae515d2261898fa0510",
    "15728e5a8aaac42dad33170d04507a33a85521abdf1cba64ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7",
    "abf5ae8cdb0933d71e8c94e04a25619dcee3d2261ad2ee6bf12ffa06d98a0864d87602733ec86a64521f2b18177b200c",
    "bbe117577a615d6c770988c0bad946e208e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff",
);

/// The generator g = 2 (docs/cognito-facts.md#srp-constants).
const G: u8 = 2;

/// HKDF info string of Cognito's key derivation (docs/cognito-facts.md#srp-respondtoauthchallenge).
const HKDF_INFO: &[u8] = b"Caldera Derived Key";

/// Montgomery parameters for N, computed once (a `const` would be evaluated by the compiler's const evaluator,
/// which is slow for 3072-bit division).
static PARAMS: LazyLock<FixedMontyParams<LIMBS>> =
    LazyLock::new(|| FixedMontyParams::new(Odd::<U3072>::from_be_hex(N_HEX)));

/// k = H(padHex(N) ‖ padHex(g)) = H(0x00 ‖ N ‖ 0x02) (docs/cognito-facts.md#srp-constants). Padding g to 384 bytes, as RFC 5054 does, would be
/// wrong here; the unit tests pin the value docs/cognito-facts.md#srp-constants gives.
static K: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let n = U3072::from_be_hex(N_HEX);
    sha256(&[&pad_bytes(&minimal_bytes(&n)), &pad_bytes(&[G])])
});

/// SRP multiplier `k` as 32 big-endian bytes (docs/cognito-facts.md#srp-constants: `538282c4…b66d9ee6`).
pub fn k() -> [u8; 32] {
    *K
}

/// The pool name used in `x` and in the signature (docs/cognito-facts.md#srp-verifier): the part of the pool id after `_`
/// (`us-east-1_AbCdEf123` → `AbCdEf123`). Mirrors the clients' `poolId.split('_')[1]`.
pub fn pool_name(pool_id: &str) -> Option<&str> {
    pool_id.split('_').nth(1)
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding helpers
// ---------------------------------------------------------------------------------------------------------------

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&h.finalize());
    out
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Java `BigInteger.toByteArray()` of the non-negative big-endian integer `bytes`: no leading zero bytes, except one
/// 0x00 when the top bit is set (and `[0x00]` for zero). Every value Cognito hashes goes through this (docs/cognito-facts.md#srp-constants).
fn pad_bytes(bytes: &[u8]) -> Vec<u8> {
    let digits = strip_leading_zeros(bytes);
    let mut out = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b >= 0x80) {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// The clients' `padHex` (docs/cognito-facts.md#srp-constants) of the non-negative big-endian integer `bytes`: lowercase hex, even length, with a
/// `00` prefix when the first nibble would be 8–f. Leading zero bytes of the input do not matter.
/// `hexHash(padHex(a) ‖ padHex(b))` is therefore `SHA-256(pad(a) ‖ pad(b))` on bytes.
pub fn pad_hex(bytes: &[u8]) -> String {
    hex::encode(pad_bytes(bytes))
}

/// The hex Cognito sends for `SALT` and `SRP_B` (docs/cognito-facts.md#srp-verifier, docs/cognito-facts.md#srp-initiateauth): lowercase, minimal (no leading zero nibbles, so
/// possibly odd length), `"0"` for zero. Clients parse it as an integer and re-pad it, so this is the only form on
/// which pycognito (which pads the string as received) and amazon-cognito-identity-js (which pads the integer)
/// agree.
pub fn hex_of(bytes: &[u8]) -> String {
    let full = hex::encode(bytes);
    let minimal = full.trim_start_matches('0');
    if minimal.is_empty() { "0".to_owned() } else { minimal.to_owned() }
}

/// Big-endian bytes (any length, leading zeros allowed) → U3072; `None` if the value needs more than 3072 bits.
fn to_uint(bytes: &[u8]) -> Option<U3072> {
    let excess = bytes.len().saturating_sub(N_BYTES);
    if bytes[..excess].iter().any(|&b| b != 0) {
        return None;
    }
    let digits = &bytes[excess..];
    let mut buf = [0u8; N_BYTES];
    buf[N_BYTES - digits.len()..].copy_from_slice(digits);
    Some(U3072::from_be_slice(&buf))
}

/// Minimal big-endian bytes of `x` (empty for zero). Only applied to public values, the verifier and S, whose
/// lengths the protocol reveals anyway through padHex.
fn minimal_bytes(x: &U3072) -> Vec<u8> {
    strip_leading_zeros(x.to_be_bytes().as_slice()).to_vec()
}

fn residue(x: &U3072) -> Residue {
    Residue::new(x, &PARAMS)
}

/// Whether `x ≡ 0 (mod N)`. Variable time only in the yes/no answer, which the caller branches on anyway.
fn is_zero_mod_n(x: &U3072) -> bool {
    residue(x).retrieve().is_zero_vartime()
}

/// The server secret `b` as an exponent with its public bit bound. docs/cognito-facts.md#srp-initiateauth wants ≥ 256 bits; more than 3072 bits
/// would be pointless (and does not fit), so both ends are rejected.
fn secret_exponent(b: &[u8]) -> Option<(U3072, u32)> {
    if !(MIN_SECRET_BYTES..=N_BYTES).contains(&b.len()) {
        return None;
    }
    let bits = u32::try_from(b.len() * 8).ok()?;
    Some((to_uint(b)?, bits))
}

// ---------------------------------------------------------------------------------------------------------------
// Verifier (docs/cognito-facts.md#srp-verifier)
// ---------------------------------------------------------------------------------------------------------------

/// x = H(pad(salt) ‖ H(utf8(poolName ‖ userIdForSrp ‖ ":" ‖ password))) as a 256-bit integer (docs/cognito-facts.md#srp-verifier).
fn compute_x(pool_name: &str, user_id_for_srp: &str, password: &str, salt: &[u8]) -> U256 {
    let inner = sha256(&[pool_name.as_bytes(), user_id_for_srp.as_bytes(), b":", password.as_bytes()]);
    U256::from_be_slice(&sha256(&[&pad_bytes(salt), &inner]))
}

/// The password verifier v = g^x mod N (docs/cognito-facts.md#srp-verifier), as minimal big-endian bytes, to store next to `salt` whenever a
/// password is set. `pool_name` is the part of the pool id after `_` (see [`pool_name`]), `user_id_for_srp` the
/// internal username (the `sub` for email/phone-as-username pools), `salt` the stored random bytes (read as an
/// integer, so leading zero bytes do not change the result).
pub fn verifier(pool_name: &str, user_id_for_srp: &str, password: &str, salt: &[u8]) -> Vec<u8> {
    let x = compute_x(pool_name, user_id_for_srp, password, salt);
    minimal_bytes(&residue(&U3072::from(G)).pow(&x).retrieve())
}

// ---------------------------------------------------------------------------------------------------------------
// InitiateAuth (docs/cognito-facts.md#srp-initiateauth)
// ---------------------------------------------------------------------------------------------------------------

/// The server half of the first SRP step.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerChallenge {
    /// Secret exponent b (big-endian, exactly the caller's random bytes). Keep it only inside the encrypted
    /// `SECRET_BLOCK`; it is needed again by [`password_claim_key`].
    pub b: Vec<u8>,
    /// Public value B = (k·v + g^b) mod N, minimal big-endian bytes; send [`hex_of`]`(&big_b)` as `SRP_B`.
    pub big_b: Vec<u8>,
}

/// Hides `b` so that logging a challenge cannot leak it.
impl fmt::Debug for ServerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerChallenge").field("b", &"<redacted>").field("big_b", &hex_of(&self.big_b)).finish()
    }
}

/// Computes B = (k·v + g^b) mod N (docs/cognito-facts.md#srp-initiateauth) from the stored verifier and `b_random`, the caller's fresh random
/// bytes used as b (32 to 384 bytes; Cognito's clients use 128 for their own secret).
///
/// `None` if `b_random` has the wrong length, if the verifier needs more than 3072 bits or is 0 mod N (a corrupt
/// record), or if B mod N = 0, which docs/cognito-facts.md#srp-initiateauth forbids (then draw new random bytes).
pub fn server_challenge(verifier: &[u8], b_random: &[u8]) -> Option<ServerChallenge> {
    let (b, b_bits) = secret_exponent(b_random)?;
    let v = to_uint(verifier)?;
    if is_zero_mod_n(&v) {
        return None;
    }
    let k = residue(&to_uint(&K[..]).expect("32 bytes fit in 3072 bits"));
    let g_b = residue(&U3072::from(G)).pow_bounded_exp(&b, b_bits);
    let big_b = (k * residue(&v) + g_b).retrieve();
    if big_b.is_zero_vartime() {
        return None;
    }
    Some(ServerChallenge { b: b_random.to_vec(), big_b: minimal_bytes(&big_b) })
}

/// Hex of any length parity, with or without leading zeros, as at most 3072 bits of minimal big-endian bytes.
fn minimal_bytes_of_hex(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.trim_start_matches('0');
    if digits.len() > 2 * N_BYTES {
        return None;
    }
    if digits.len() % 2 == 1 { hex::decode(format!("0{digits}")).ok() } else { hex::decode(digits).ok() }
}

/// Parses the client's `SRP_A` (docs/cognito-facts.md#srp-initiateauth): hex in any case, any length parity, leading zeros allowed. Returns A as
/// minimal big-endian bytes, or `None` for empty or non-hex input, a value above 3072 bits, or A mod N = 0 (which
/// would let a client force S = 0). Map `None` to `InvalidParameterException`.
pub fn parse_public_a(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = minimal_bytes_of_hex(hex)?;
    if is_zero_mod_n(&to_uint(&bytes)?) {
        return None;
    }
    Some(bytes)
}

// ---------------------------------------------------------------------------------------------------------------
// RespondToAuthChallenge (docs/cognito-facts.md#srp-respondtoauthchallenge)
// ---------------------------------------------------------------------------------------------------------------

/// u = H(pad(A) ‖ pad(B)) (docs/cognito-facts.md#srp-respondtoauthchallenge); both sides hash the integers, so leading zero bytes of the inputs do not matter.
fn compute_u(a: &[u8], big_b: &[u8]) -> [u8; 32] {
    sha256(&[&pad_bytes(a), &pad_bytes(big_b)])
}

/// Server premaster secret S = (A·v^u)^b mod N, with u; `None` on any invalid input (see [`password_claim_key`]).
fn server_secret(a: &[u8], big_b: &[u8], b: &[u8], verifier: &[u8]) -> Option<(U3072, [u8; 32])> {
    let a_int = to_uint(a)?;
    to_uint(big_b)?;
    let v = to_uint(verifier)?;
    let (b, b_bits) = secret_exponent(b)?;
    if is_zero_mod_n(&a_int) || is_zero_mod_n(&v) {
        return None;
    }
    let u = compute_u(a, big_b);
    if u.iter().all(|&x| x == 0) {
        return None;
    }
    let v_u = residue(&v).pow(&U256::from_be_slice(&u));
    let s = (residue(&a_int) * v_u).pow_bounded_exp(&b, b_bits).retrieve();
    Some((s, u))
}

/// Cognito's HKDF (docs/cognito-facts.md#srp-respondtoauthchallenge): PRK = HMAC(key = pad(u), msg = pad(S)), OKM = HMAC(PRK, "Caldera Derived Key" ‖ 0x01),
/// K = OKM[..16]. Written out because it is one HMAC block; the `hkdf` crate is not needed.
fn derive_key(s: &U3072, u: &[u8; 32]) -> [u8; 16] {
    let prk = hmac_sha256(&pad_bytes(u), &[&pad_bytes(&minimal_bytes(s))]);
    let okm = hmac_sha256(&prk, &[HKDF_INFO, &[1]]);
    let mut key = [0u8; 16];
    key.copy_from_slice(&okm[..16]);
    key
}

/// The 16-byte key K that both sides derive (docs/cognito-facts.md#srp-respondtoauthchallenge), from A (as returned by [`parse_public_a`]), B and b (from
/// [`ServerChallenge`], recovered from the secret block) and the stored verifier.
///
/// `None` (→ `NotAuthorizedException`) if a value needs more than 3072 bits, if A or v is 0 mod N, if b has the
/// wrong length, or if u = 0 (docs/cognito-facts.md#srp-respondtoauthchallenge).
pub fn password_claim_key(a: &[u8], big_b: &[u8], b: &[u8], verifier: &[u8]) -> Option<[u8; 16]> {
    let (s, u) = server_secret(a, big_b, b, verifier)?;
    Some(derive_key(&s, &u))
}

/// The `PASSWORD_CLAIM_SIGNATURE` the client must send, as raw bytes (docs/cognito-facts.md#srp-respondtoauthchallenge):
/// HMAC-SHA256(K, utf8(poolName) ‖ utf8(userIdForSrp) ‖ secret_block ‖ utf8(timestamp)).
/// `secret_block` is the base64-*decoded* `PASSWORD_CLAIM_SECRET_BLOCK`; `timestamp` should be the canonical
/// re-formatting of the client's `TIMESTAMP` (see [`parse_timestamp`]).
pub fn expected_signature(
    key: &[u8; 16],
    pool_name: &str,
    user_id_for_srp: &str,
    secret_block: &[u8],
    timestamp: &str,
) -> [u8; 32] {
    hmac_sha256(key, &[pool_name.as_bytes(), user_id_for_srp.as_bytes(), secret_block, timestamp.as_bytes()])
}

/// Whether the client's base64 `PASSWORD_CLAIM_SIGNATURE` equals `expected` (docs/cognito-facts.md#srp-respondtoauthchallenge). The byte comparison is
/// constant time; input that is not canonical padded base64 or not 32 bytes long is simply `false` (its length and
/// shape are not secret).
pub fn signature_matches(expected: &[u8; 32], claimed_base64: &str) -> bool {
    match BASE64.decode(claimed_base64) {
        Ok(claimed) if claimed.len() == expected.len() => bool::from(claimed.as_slice().ct_eq(expected.as_slice())),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// TIMESTAMP (docs/cognito-facts.md#srp-respondtoauthchallenge): Java `EEE MMM d HH:mm:ss z yyyy`, English, UTC
// ---------------------------------------------------------------------------------------------------------------

/// Formats Unix seconds the way Cognito's clients sign them (docs/cognito-facts.md#srp-respondtoauthchallenge): `Tue Mar 5 07:04:09 UTC 2024`: English
/// names, UTC, day of month not zero-padded, time fields zero-padded, 4-digit year (proleptic Gregorian).
pub fn format_timestamp(epoch_seconds: i64) -> String {
    let t = DateTime::from_epoch_seconds(epoch_seconds);
    let (weekday, month) = (t.weekday_name(), t.month_name());
    format!("{weekday} {month} {} {:02}:{:02}:{:02} UTC {:04}", t.day, t.hour, t.minute, t.second, t.year)
}

/// Up to `max_len` ASCII digits (at least one) → number.
fn parse_digits(s: &str, max_len: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_name(s: &str, names: &[&str]) -> Option<usize> {
    names.iter().position(|n| n.eq_ignore_ascii_case(s))
}

/// Parses a `TIMESTAMP` to Unix seconds, accepting what Java's `EEE MMM d HH:mm:ss z yyyy` parser accepts in
/// practice: single spaces, English names in any case, 1–2 digit day/hour/minute/second, zone `UTC` or `GMT`,
/// 4-digit year, a real calendar date. The weekday must be a weekday name but is not checked against the date.
///
/// `None` → `InvalidParameterException` "TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy in english."
///
/// Cognito evidently signs its own re-formatting of the parsed time, so a zero-padded day (`Mar 05`) or a wrong
/// weekday parses but then fails as `NotAuthorizedException` "Incorrect username or password." (docs/cognito-facts.md#srp-respondtoauthchallenge). The caller
/// reproduces this by passing `format_timestamp(t)` (not the client's string) to [`expected_signature`], or,
/// equivalently and cheaper, by treating `format_timestamp(t) != timestamp` as a wrong signature. The freshness
/// window (docs/cognito-facts.md#srp-respondtoauthchallenge) is also the caller's check.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let mut fields = s.split(' ');
    let mut next = || fields.next();
    let (weekday, month, day, time, zone, year) = (next()?, next()?, next()?, next()?, next()?, next()?);
    if fields.next().is_some() {
        return None;
    }
    parse_name(weekday, &WEEKDAYS)?;
    let month = u32::try_from(parse_name(month, &MONTHS)? + 1).ok()?;
    if year.len() != 4 {
        return None;
    }
    let year = i64::from(parse_digits(year, 4)?);
    let day = parse_digits(day, 2)?;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut hms = time.split(':');
    let (h, m, sec) = (parse_digits(hms.next()?, 2)?, parse_digits(hms.next()?, 2)?, parse_digits(hms.next()?, 2)?);
    if hms.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    if zone != "UTC" && zone != "GMT" {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + i64::from(h * 3600 + m * 60 + sec))
}

// ---------------------------------------------------------------------------------------------------------------
// Client side, for the benchmark and the tests
// ---------------------------------------------------------------------------------------------------------------

/// The client half, computed as pycognito (`get_password_authentication_key`) and
/// amazon-cognito-identity-js compute it: A = g^a, S = (B − k·g^x)^(a + u·x) mod N with the exponent
/// taken over the integers, then the same key derivation. The benchmark signs in with it; the unit
/// tests check it against the server half.
pub struct SrpClient {
    a: U3072,
    big_a: Vec<u8>,
}

impl SrpClient {
    /// `a_bytes`: the client's secret, 32 to 128 random bytes as the real clients use (more would
    /// let a + u·x overflow 3072 bits).
    pub fn new(a_bytes: &[u8]) -> Option<SrpClient> {
        if !(MIN_SECRET_BYTES..=128).contains(&a_bytes.len()) {
            return None;
        }
        let a = to_uint(a_bytes)?;
        let big_a = minimal_bytes(&residue(&U3072::from(G)).pow(&a).retrieve());
        Some(SrpClient { a, big_a })
    }

    /// `SRP_A` for InitiateAuth.
    pub fn public_a_hex(&self) -> String {
        hex_of(&self.big_a)
    }

    fn secret(&self, pool_name: &str, user: &str, password: &str, salt: &[u8], big_b: &[u8]) -> (U3072, [u8; 32]) {
        let u = compute_u(&self.big_a, big_b);
        let x = compute_x(pool_name, user, password, salt);
        let g = residue(&U3072::from(G));
        let k = residue(&to_uint(&k()).expect("32 bytes fit in 3072 bits"));
        let base = residue(&to_uint(big_b).unwrap_or(U3072::ZERO)) - k * g.pow(&x);
        // a < 2^1024 and u·x < 2^512, so the integer sum fits in 3072 bits without wrapping.
        let ux: crypto_bigint::U512 = U256::from_be_slice(&u).concatenating_mul(&x);
        let exponent = self.a.wrapping_add(&ux.resize::<LIMBS>());
        (base.pow(&exponent).retrieve(), u)
    }

    /// `PASSWORD_CLAIM_SIGNATURE` for a PASSWORD_VERIFIER challenge, from its parameters as sent:
    /// `SALT` and `SRP_B` in hex, `SECRET_BLOCK` in base64. `None` if they do not parse.
    pub fn signature(
        &self,
        pool_id: &str,
        challenge: &ChallengeParameters<'_>,
        password: &str,
        timestamp: &str,
    ) -> Option<String> {
        let salt = minimal_bytes_of_hex(challenge.salt)?;
        let big_b = minimal_bytes_of_hex(challenge.srp_b)?;
        let block = BASE64.decode(challenge.secret_block).ok()?;
        let (pool, user) = (pool_name(pool_id).unwrap_or(pool_id), challenge.user_id_for_srp);
        let (s, u) = self.secret(pool, user, password, &salt, &big_b);
        Some(BASE64.encode(expected_signature(&derive_key(&s, &u), pool, user, &block, timestamp)))
    }
}

/// The PASSWORD_VERIFIER challenge's parameters, as InitiateAuth sends them.
pub struct ChallengeParameters<'a> {
    pub salt: &'a str,
    pub srp_b: &'a str,
    pub secret_block: &'a str,
    pub user_id_for_srp: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    // docs/cognito-facts.md#srp-test-vector inputs.
    const POOL_ID: &str = "us-east-1_AbCdEf123";
    const USER: &str = "alice";
    const PASSWORD: &str = "Passw0rd!";
    const SALT_HEX: &str = "3fb3cb028b0e4aaeabce3b573699a322";
    const TIMESTAMP: &str = "Tue Mar 5 07:04:09 UTC 2024";
    // docs/cognito-facts.md#srp-test-vector outputs.
    const X_HEX: &str = "c74c3235a44686efb5c78163fe5af80a91de9774db122d140de88d8ba6a52bac";
    const U_HEX: &str = "354fdd1ec51528677446d9315c3930be4d8686b7682d3d79a734530a879727e3";
    const K_KEY_HEX: &str = "a722fb22585727fe376544c31e1f28b2";
    const SIGNATURE: &str = "j8g736NQJD3kpe63tPuPvYyx2LZoQU2dkncWEbLQkx8=";
    // docs/cognito-facts.md#srp-constants.
    const K_HEX: &str = "538282c4354742d7cbbde2359fcf67f9f5b3a6b08791e5011b43b8a5b66d9ee6";
    // Verifier for the docs/cognito-facts.md#srp-test-vector inputs as printed by pycognito 2024.5.1 with its own helpers
    // (`pow(g, hex_to_long(hex_hash(pad_hex(salt) + hash_sha256(...))), N)`).
    const V_HEX_PYCOGNITO: &str = concat!(
        "9b34e55258157729c342e157eea6b3c2ceba4b5cd887cb105e99169d0454d17ef6ac388019e1c686562148cf8a6dfa44",
        "8686eca9e65fa758b8af75293b58d38e73d1c93e468f50d1db004220c3bbd82f9ed9f4dcda5b2bbd76c87f098203ffbf",
        "acf29ae3bca4e89c53f68f9cc49181a27ef2cb02fb06e1ee9e82720bc1aaaab007d34e2012378c5e41a29bc7ba7c542a",
        "00466d31e3f16f5838cf6e2469c26654d71f1fc11001c1a495ccf72e8f36312e8f5b705d903c0f9a202d7249612bf384",
        "bbb46e58432990c38f18cfd66c34497365e5b2f17345901d3ae6606ca120dd157b65d92971d7c24945040ece43b5521c",
        "4de5659ebcac7ee3da2a8f3f72e52c18adacdb900f1de9c2c0829eb342fc458f25f2ba459c07a57f6bba512fb3a40358",
        "ed87867ff0dced22a330c5b5124627a754410304ebf04692b2a1642bae1c426ae89e8d7f7a8f0bc1a3a671eec02ac6f9",
        "5ec804b67dbefdd73dc8836e40cef3ef8c9f3220df6e45c06ff4c52d84dce18072905aa359d87732752b028f8e192a5f",
    );

    fn secret_block() -> Vec<u8> {
        b"opaque-server-state".to_vec()
    }

    fn salt() -> Vec<u8> {
        hex::decode(SALT_HEX).unwrap()
    }

    /// The client's signature for a challenge made of these values.
    fn client_signature(client: &SrpClient, password: &str, salt: &[u8], big_b: &[u8]) -> String {
        let (salt, big_b, block) = (hex_of(salt), hex_of(big_b), BASE64.encode(secret_block()));
        let challenge = ChallengeParameters { salt: &salt, srp_b: &big_b, secret_block: &block, user_id_for_srp: USER };
        client.signature(POOL_ID, &challenge, password, TIMESTAMP).unwrap()
    }

    fn g() -> Residue {
        residue(&U3072::from(G))
    }

    #[test]
    fn k_matches_spec() {
        assert_eq!(hex::encode(k()), K_HEX);
        // The classic bug: padding g to the width of N gives a different k.
        let n = U3072::from_be_hex(N_HEX);
        let mut wide_g = [0u8; N_BYTES];
        wide_g[N_BYTES - 1] = G;
        assert_ne!(sha256(&[&minimal_bytes(&n), &wide_g]), k());
    }

    #[test]
    fn pad_hex_follows_java_to_byte_array() {
        assert_eq!(pad_hex(&[]), "00");
        assert_eq!(pad_hex(&[0, 0]), "00");
        assert_eq!(pad_hex(&[0x7f]), "7f");
        assert_eq!(pad_hex(&[0x00, 0x7f]), "7f");
        assert_eq!(pad_hex(&[0x80]), "0080");
        assert_eq!(pad_hex(&[0x08]), "08");
        assert_eq!(pad_hex(&[0x0a, 0xbc]), "0abc");
        assert_eq!(pad_hex(&[0xff, 0x01]), "00ff01");
        let n = pad_hex(&hex::decode(N_HEX).unwrap());
        assert_eq!(n.len(), 2 + 2 * N_BYTES);
        assert!(n.starts_with("00ffff"));
    }

    #[test]
    fn hex_of_is_minimal_lowercase() {
        assert_eq!(hex_of(&[]), "0");
        assert_eq!(hex_of(&[0, 0]), "0");
        assert_eq!(hex_of(&[0x0a, 0xbc]), "abc");
        assert_eq!(hex_of(&[0x00, 0x3f, 0xB3]), "3fb3");
        assert_eq!(hex_of(&salt()), SALT_HEX);
    }

    #[test]
    fn pool_name_is_the_part_after_the_underscore() {
        assert_eq!(pool_name(POOL_ID), Some("AbCdEf123"));
        assert_eq!(pool_name("nounderscore"), None);
    }

    #[test]
    fn spec_test_vector_11_5() {
        let pool = pool_name(POOL_ID).unwrap();
        let x = compute_x(pool, USER, PASSWORD, &salt());
        assert_eq!(hex::encode(x.to_be_bytes().as_slice()), X_HEX);

        let v = verifier(pool, USER, PASSWORD, &salt());
        assert_eq!(hex_of(&v), V_HEX_PYCOGNITO);
        assert_eq!(to_uint(&v).unwrap(), g().pow(&x).retrieve());

        let b_random = [0xbbu8; 32];
        let challenge = server_challenge(&v, &b_random).unwrap();
        assert_eq!(challenge.b, b_random);

        let client = SrpClient::new(&[0xaau8; 32]).unwrap();
        let a = parse_public_a(&hex_of(&client.big_a)).unwrap();
        assert_eq!(a, client.big_a);

        let (client_s, client_u) = client.secret(pool, USER, PASSWORD, &salt(), &challenge.big_b);
        let (server_s, server_u) = server_secret(&a, &challenge.big_b, &challenge.b, &v).unwrap();
        assert_eq!(hex::encode(server_u), U_HEX);
        assert_eq!(client_u, server_u);
        assert_eq!(client_s, server_s, "client S must equal server S");

        let key = password_claim_key(&a, &challenge.big_b, &challenge.b, &v).unwrap();
        assert_eq!(hex::encode(key), K_KEY_HEX);
        assert_eq!(derive_key(&client_s, &client_u), key);

        // SECRET_BLOCK travels as base64; the signature covers the decoded bytes.
        let block = BASE64.decode(BASE64.encode(secret_block())).unwrap();
        let expected = expected_signature(&key, pool, USER, &block, TIMESTAMP);
        assert_eq!(BASE64.encode(expected), SIGNATURE);
        assert_eq!(client_signature(&client, PASSWORD, &salt(), &challenge.big_b), SIGNATURE);
        assert!(signature_matches(&expected, SIGNATURE));
        assert_eq!(parse_timestamp(TIMESTAMP).map(format_timestamp).as_deref(), Some(TIMESTAMP));
    }

    #[test]
    fn wrong_password_gives_a_different_signature() {
        let pool = pool_name(POOL_ID).unwrap();
        let v = verifier(pool, USER, PASSWORD, &salt());
        assert_ne!(v, verifier(pool, USER, "Passw0rd?", &salt()));
        assert_ne!(v, verifier(pool, "bob", PASSWORD, &salt()));
        assert_ne!(v, verifier("Other", USER, PASSWORD, &salt()));
        let challenge = server_challenge(&v, &[0xbb; 32]).unwrap();
        let client = SrpClient::new(&[0xaa; 32]).unwrap();
        let key = password_claim_key(&client.big_a, &challenge.big_b, &challenge.b, &v).unwrap();
        let expected = expected_signature(&key, pool, USER, &secret_block(), TIMESTAMP);
        let wrong = client_signature(&client, "Passw0rd?", &salt(), &challenge.big_b);
        assert_ne!(wrong, SIGNATURE);
        assert!(!signature_matches(&expected, &wrong));
        // The signature also binds the timestamp and the secret block.
        assert_ne!(expected, expected_signature(&key, pool, USER, &secret_block(), "Tue Mar 5 07:04:10 UTC 2024"));
        assert_ne!(expected, expected_signature(&key, pool, USER, b"other-state", TIMESTAMP));
    }

    #[test]
    fn full_size_secrets_and_leading_zero_salt_agree() {
        // 128-byte a and b like the real clients, and a salt whose first byte is zero (sent as 30 hex digits).
        let salt = hex::decode("00b3cb028b0e4aaeabce3b573699a322").unwrap();
        assert_eq!(hex_of(&salt).len(), 30);
        let pool = pool_name(POOL_ID).unwrap();
        let v = verifier(pool, USER, PASSWORD, &salt);
        assert_eq!(v, verifier(pool, USER, PASSWORD, &salt[1..]));
        let b: Vec<u8> = (0..128u8).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        let challenge = server_challenge(&v, &b).unwrap();
        let a: Vec<u8> = (0..128u8).map(|i| i.wrapping_mul(101).wrapping_add(7)).collect();
        let client = SrpClient::new(&a).unwrap();
        let big_a = parse_public_a(&hex_of(&client.big_a).to_uppercase()).unwrap();
        let (client_s, _) = client.secret(pool, USER, PASSWORD, &salt, &challenge.big_b);
        let (server_s, _) = server_secret(&big_a, &challenge.big_b, &challenge.b, &v).unwrap();
        assert_eq!(client_s, server_s);
        let key = password_claim_key(&big_a, &challenge.big_b, &challenge.b, &v).unwrap();
        let expected = expected_signature(&key, pool, USER, &secret_block(), TIMESTAMP);
        let claimed = client_signature(&client, PASSWORD, &salt, &challenge.big_b);
        assert!(signature_matches(&expected, &claimed));
    }

    #[test]
    fn public_a_is_validated() {
        let n_hex = N_HEX;
        assert_eq!(parse_public_a(""), None);
        assert_eq!(parse_public_a("0"), None);
        assert_eq!(parse_public_a("0000"), None);
        assert_eq!(parse_public_a("xyz"), None);
        assert_eq!(parse_public_a("12g4"), None);
        assert_eq!(parse_public_a(" abc"), None);
        assert_eq!(parse_public_a("+abc"), None);
        assert_eq!(parse_public_a(n_hex), None, "A = N");
        assert_eq!(parse_public_a(&n_hex.to_uppercase()), None, "A = N, upper case");
        assert_eq!(parse_public_a(&format!("000{n_hex}")), None, "A = N with leading zeros");
        assert_eq!(parse_public_a(&format!("1{}", "0".repeat(2 * N_BYTES))), None, "2^3072 does not fit");
        assert_eq!(parse_public_a("abc"), Some(vec![0x0a, 0xbc]));
        assert_eq!(parse_public_a("00ABc"), Some(vec![0x0a, 0xbc]));
        // A = N + 1 is 1 mod N: accepted, as docs/cognito-facts.md#srp-initiateauth only rejects A mod N = 0.
        let n_plus_1 = U3072::from_be_hex(N_HEX).wrapping_add(&U3072::ONE);
        assert!(parse_public_a(&hex_of(&minimal_bytes(&n_plus_1))).is_some());
    }

    #[test]
    fn key_rejects_degenerate_inputs() {
        let pool = pool_name(POOL_ID).unwrap();
        let v = verifier(pool, USER, PASSWORD, &salt());
        let challenge = server_challenge(&v, &[0xbb; 32]).unwrap();
        let n = hex::decode(N_HEX).unwrap();
        let (b, big_b) = (&challenge.b, &challenge.big_b);
        assert_eq!(password_claim_key(&[], big_b, b, &v), None, "A = 0");
        assert_eq!(password_claim_key(&[0, 0], big_b, b, &v), None, "A = 0");
        assert_eq!(password_claim_key(&n, big_b, b, &v), None, "A = N");
        let mut too_long = vec![1u8];
        too_long.extend_from_slice(&n);
        assert_eq!(password_claim_key(&too_long, big_b, b, &v), None, "A above 3072 bits");
        assert_eq!(password_claim_key(&[2], big_b, &b[..31], &v), None, "b too short");
        assert_eq!(password_claim_key(&[2], big_b, b, &[]), None, "v = 0");
        assert!(password_claim_key(&[2], big_b, b, &v).is_some());
    }

    #[test]
    fn server_challenge_rejects_degenerate_inputs() {
        let pool = pool_name(POOL_ID).unwrap();
        let v = verifier(pool, USER, PASSWORD, &salt());
        assert!(server_challenge(&v, &[0xbb; 31]).is_none(), "b shorter than 256 bits");
        assert!(server_challenge(&v, &[0xbb; 385]).is_none(), "b longer than N");
        assert!(server_challenge(&[], &[0xbb; 32]).is_none(), "v = 0");
        // Leading zero bytes of the stored verifier do not matter.
        let mut padded = vec![0u8; 3];
        padded.extend_from_slice(&v);
        assert_eq!(server_challenge(&padded, &[0xbb; 32]), server_challenge(&v, &[0xbb; 32]));
        // A verifier chosen so that k·v = −g^b makes B = 0, which must be refused.
        let b = [0x5au8; 32];
        let g_b = g().pow(&U256::from_be_slice(&b));
        let k_inv = residue(&to_uint(&k()).unwrap()).invert().into_option().unwrap();
        let evil_v = minimal_bytes(&(-(g_b * k_inv)).retrieve());
        assert!(server_challenge(&evil_v, &b).is_none());
        // Debug output never shows b.
        let c = server_challenge(&v, &b).unwrap();
        assert!(!format!("{c:?}").contains("5a5a"));
    }

    #[test]
    fn signature_comparison() {
        let expected = [7u8; 32];
        let good = BASE64.encode(expected);
        assert!(signature_matches(&expected, &good));
        let mut other = expected;
        other[31] ^= 1;
        assert!(!signature_matches(&expected, &BASE64.encode(other)));
        assert!(!signature_matches(&expected, &BASE64.encode([7u8; 31])));
        assert!(!signature_matches(&expected, &BASE64.encode([7u8; 33])));
        assert!(!signature_matches(&expected, "not base64!"));
        assert!(!signature_matches(&expected, ""));
        assert!(!signature_matches(&expected, good.trim_end_matches('=')));
    }

    const DATES: [(i64, &str); 12] = [
        (1_709_622_249, "Tue Mar 5 07:04:09 UTC 2024"),
        (0, "Thu Jan 1 00:00:00 UTC 1970"),
        (951_868_799, "Tue Feb 29 23:59:59 UTC 2000"),
        (1_709_208_000, "Thu Feb 29 12:00:00 UTC 2024"),
        (4_107_542_401, "Mon Mar 1 00:00:01 UTC 2100"),
        (946_684_799, "Fri Dec 31 23:59:59 UTC 1999"),
        (2_147_483_648, "Tue Jan 19 03:14:08 UTC 2038"),
        (1_795_341_900, "Sun Nov 22 10:05:00 UTC 2026"),
        (253_402_300_799, "Fri Dec 31 23:59:59 UTC 9999"),
        (-1, "Wed Dec 31 23:59:59 UTC 1969"),
        (-2_203_887_477, "Thu Mar 1 01:02:03 UTC 1900"),
        (1_677_542_400, "Tue Feb 28 00:00:00 UTC 2023"),
    ];

    #[test]
    fn timestamps_format_and_parse() {
        // Expected strings from Python's datetime/calendar.timegm, formatted like pycognito.
        for (epoch, text) in DATES {
            assert_eq!(format_timestamp(epoch), text, "{epoch}");
            assert_eq!(parse_timestamp(text), Some(epoch), "{text}");
        }
        // The civil-date arithmetic does not overflow anywhere in the i64 range.
        // Expected values from Python's datetime after removing whole 400-year cycles (146 097 days each).
        assert_eq!(format_timestamp(i64::MIN), "Sun Jan 27 08:29:52 UTC -292277022657");
        assert_eq!(format_timestamp(i64::MAX), "Sun Dec 4 15:30:07 UTC 292277026596");
    }

    #[test]
    fn every_day_round_trips() {
        // Walk 1900-01-01 .. 2401-01-01 day by day with an independent month-length table.
        let mut epoch = -2_208_988_800; // 1900-01-01 00:00:00 UTC, a Monday
        let mut weekday = 1;
        for year in 1900..=2400i64 {
            let feb = if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 { 29 } else { 28 };
            for (month, len) in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31].into_iter().enumerate() {
                for day in 1..=len {
                    let t = epoch + 13 * 3600 + 7 * 60 + 5;
                    let text = format!("{} {} {day} 13:07:05 UTC {year}", WEEKDAYS[weekday], MONTHS[month]);
                    assert_eq!(format_timestamp(t), text);
                    assert_eq!(parse_timestamp(&text), Some(t));
                    epoch += 86_400;
                    weekday = (weekday + 1) % 7;
                }
            }
        }
        assert_eq!(format_timestamp(epoch), "Mon Jan 1 00:00:00 UTC 2401");
    }

    #[test]
    fn non_canonical_timestamps_parse_but_do_not_round_trip() {
        let t = parse_timestamp(TIMESTAMP).unwrap();
        for sloppy in [
            "Tue Mar 05 07:04:09 UTC 2024", // zero-padded day
            "Wed Mar 5 07:04:09 UTC 2024",  // wrong weekday
            "tue mar 5 07:04:09 UTC 2024",  // lower case names
            "Tue Mar 5 7:4:9 UTC 2024",     // unpadded time
            "Tue Mar 5 07:04:09 GMT 2024",  // GMT zone
        ] {
            assert_eq!(parse_timestamp(sloppy), Some(t), "{sloppy}");
            assert_ne!(format_timestamp(t), sloppy, "the caller detects it by re-formatting");
        }
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "Tue Mar 5 07:04:09 UTC",
            "Tue Mar 5 07:04:09 UTC 2024 ",
            "Tue  Mar 5 07:04:09 UTC 2024",
            "Tue Mar 5 07:04:09 PST 2024",
            "Tue Mar 5 07:04:09 UTC 24",
            "Tue Mar 5 07:04:09 UTC 02024",
            "Tue Mar 5 07:04 UTC 2024",
            "Tue Mar 5 07:04:09:00 UTC 2024",
            "Tue Mar 5 24:00:00 UTC 2024",
            "Tue Mar 5 07:60:00 UTC 2024",
            "Tue Mar 5 07:04:60 UTC 2024",
            "Tue Mar 0 07:04:09 UTC 2024",
            "Tue Mar 32 07:04:09 UTC 2024",
            "Tue Mar 005 07:04:09 UTC 2024",
            "Thu Feb 29 07:04:09 UTC 2023",
            "Tue Feb 30 07:04:09 UTC 2024",
            "Mon Feb 29 07:04:09 UTC 2100",
            "Tuesday Mar 5 07:04:09 UTC 2024",
            "Tue March 5 07:04:09 UTC 2024",
            "Tue Mar +5 07:04:09 UTC 2024",
            "2024-03-05T07:04:09Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        assert!(parse_timestamp("Tue Feb 29 07:04:09 UTC 2000").is_some());
    }
}
