//! `NextToken`/`PaginationToken`: the last key of the previous page, base64url.

use crate::api_error;
use crate::error::ApiResult;
use base64::Engine;

/// Reads and writes `NextToken`/`PaginationToken`: the last key of the previous page, base64.
pub fn decode_token(token: Option<&str>) -> ApiResult<Option<String>> {
    token
        .map(|t| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| api_error!(InvalidParameterException, "Invalid pagination token"))
        })
        .transpose()
}

pub fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode_token(Some(&encode_token("us-east-1_x"))).unwrap().as_deref(), Some("us-east-1_x"));
        assert!(decode_token(Some("!!")).is_err());
    }
}
