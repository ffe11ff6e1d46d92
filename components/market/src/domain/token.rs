//! Random tokens: CSRF tokens, the one-time keys of forms, and the listing cache's
//! versions.

use crate::domain::error::AppError;

pub const TOKEN_BYTES: usize = 32;

/// 32 random bytes as 64 lower-case hex digits.
pub fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
