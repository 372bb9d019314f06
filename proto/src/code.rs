//! The one-time session code a person reads over the phone: a routing part the relay allocates, then a
//! secret part the host draws and never sends to the relay. Digits only, shown in groups of three.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// Digits in the secret part. 10^6 codes: one guess in a million per attempt, and each code allows one.
pub const SECRET_DIGITS: usize = 6;
/// The routing part is 3 to 6 digits, so a whole code is 9 to 12.
pub const MIN_ROUTING_DIGITS: usize = 3;
pub const MAX_ROUTING_DIGITS: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CodeError {
    #[error("a code holds only digits (spaces and dashes between groups are fine)")]
    NotDigits,
    #[error("a code has {min} to {max} digits; this one has {len}")]
    WrongLength { len: usize, min: usize, max: usize },
    #[error("the system random number generator failed: {0}")]
    Random(String),
}

/// The routing part: the relay's handle for a waiting host. Not secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoutingCode(String);

impl RoutingCode {
    /// Accepts 3 to 6 ASCII digits.
    pub fn new(digits: &str) -> Result<Self, CodeError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits);
        }
        if !(MIN_ROUTING_DIGITS..=MAX_ROUTING_DIGITS).contains(&digits.len()) {
            return Err(CodeError::WrongLength {
                len: digits.len(),
                min: MIN_ROUTING_DIGITS,
                max: MAX_ROUTING_DIGITS,
            });
        }
        Ok(Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Routing codes are not secret, but a whole code is: keep both out of logs by default.
impl fmt::Debug for RoutingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoutingCode(..)")
    }
}

/// The secret part, drawn by the host from the OS CSPRNG. Zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretCode([u8; SECRET_DIGITS]);

impl SecretCode {
    /// Draws a fresh secret from the OS CSPRNG, uniformly over all 10^6 values.
    pub fn generate() -> Result<Self, CodeError> {
        let mut digits = [0u8; SECRET_DIGITS];
        for digit in &mut digits {
            *digit = b'0' + uniform_digit()?;
        }
        Ok(Self(digits))
    }

    /// The secret's ASCII digits: the PAKE password.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCode(..)")
    }
}

fn uniform_digit() -> Result<u8, CodeError> {
    loop {
        let mut byte = [0u8; 1];
        getrandom::getrandom(&mut byte).map_err(|e| CodeError::Random(e.to_string()))?;
        // 250 = 25 * 10: rejecting 250..=255 keeps every digit equally likely.
        if byte[0] < 250 {
            return Ok(byte[0] % 10);
        }
    }
}

/// A whole code: routing digits then secret digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCode {
    pub routing: RoutingCode,
    pub secret: SecretCode,
}

impl SessionCode {
    pub fn new(routing: RoutingCode, secret: SecretCode) -> Self {
        Self { routing, secret }
    }

    /// Parses what a person typed: digits with optional spaces or dashes anywhere.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let (min, max) = (
            MIN_ROUTING_DIGITS + SECRET_DIGITS,
            MAX_ROUTING_DIGITS + SECRET_DIGITS,
        );
        // Zeroed on every return path, and never grown past its capacity (a reallocation would leave
        // a copy of the secret behind): digits past `max` are only counted.
        let mut digits = Zeroizing::new(String::with_capacity(max));
        let mut count = 0usize;
        for c in text.chars() {
            match c {
                '0'..='9' => {
                    count += 1;
                    if count <= max {
                        digits.push(c);
                    }
                }
                ' ' | '-' | '\t' => {}
                _ => return Err(CodeError::NotDigits),
            }
        }
        if !(min..=max).contains(&count) {
            return Err(CodeError::WrongLength {
                len: count,
                min,
                max,
            });
        }
        let split = digits.len() - SECRET_DIGITS;
        let routing = RoutingCode::new(&digits[..split])?;
        let mut secret = [0u8; SECRET_DIGITS];
        secret.copy_from_slice(&digits.as_bytes()[split..]);
        Ok(Self {
            routing,
            secret: SecretCode(secret),
        })
    }

    /// All digits without separators.
    fn digits(&self) -> String {
        let mut s = self.routing.0.clone();
        s.extend(self.secret.0.iter().map(|&b| char::from(b)));
        s
    }
}

/// Groups of three from the left, e.g. `482 193 715`; a 10 or 11 digit code ends in a shorter group.
impl fmt::Display for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = self.digits();
        for (i, chunk) in digits.as_bytes().chunks(3).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            // Chunks of ASCII digits are valid UTF-8.
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        digits.zeroize();
        Ok(())
    }
}

impl fmt::Debug for SessionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionCode(..)")
    }
}

impl FromStr for SessionCode {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_in_groups_of_three_and_parses_back() {
        let code = SessionCode::parse("482-193 715").expect("valid");
        assert_eq!(code.routing.as_str(), "482");
        assert_eq!(code.secret.as_bytes(), b"193715");
        assert_eq!(code.to_string(), "482 193 715");
        assert_eq!(SessionCode::parse(&code.to_string()), Ok(code));
        let long = SessionCode::parse("123456789012").expect("valid");
        assert_eq!(long.routing.as_str(), "123456");
        assert_eq!(long.to_string(), "123 456 789 012");
    }

    #[test]
    fn rejects_letters_and_wrong_lengths() {
        assert_eq!(SessionCode::parse("48a 193 715"), Err(CodeError::NotDigits));
        assert!(matches!(
            SessionCode::parse("12345678"),
            Err(CodeError::WrongLength { len: 8, .. })
        ));
        assert!(matches!(
            SessionCode::parse("1234567890123"),
            Err(CodeError::WrongLength { len: 13, .. })
        ));
        assert!(matches!(
            SessionCode::parse(&"7".repeat(40)),
            Err(CodeError::WrongLength { len: 40, .. })
        ));
    }

    #[test]
    fn generated_secrets_are_digits_and_vary() {
        let a = SecretCode::generate().expect("rng");
        let b = SecretCode::generate().expect("rng");
        assert!(a.as_bytes().iter().all(u8::is_ascii_digit));
        // One chance in a million of a false failure per pair; draw a few to make it negligible.
        let c = SecretCode::generate().expect("rng");
        assert!(a != b || b != c);
    }
}
