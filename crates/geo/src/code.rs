//! [`TerritoryCode`]: the identifier of a territory (usually an INSEE code).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::GeoError;

/// Maximum length of a territory code, in characters.
const MAX_LEN: usize = 32;

/// The code of a territory: non-empty, at most 32 characters, only ASCII
/// letters, digits, `_` and `-`. INSEE commune codes are 5 characters such as
/// `75118` or `2A004`.
///
/// A value of this type is valid by construction ([`FromStr`], serde).
/// It serialises as a plain JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TerritoryCode(String);

impl TerritoryCode {
    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Why `s` is not a valid code, if it is not.
    fn problem(s: &str) -> Option<&'static str> {
        if s.is_empty() {
            Some("a code must not be empty")
        } else if s.chars().count() > MAX_LEN {
            Some("a code must be at most 32 characters long")
        } else if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            Some("a code may only contain ASCII letters, digits, '_' and '-'")
        } else {
            None
        }
    }

    /// Validates `s`, returning the reason for rejection.
    pub(crate) fn parse_reason(s: &str) -> Result<Self, &'static str> {
        match Self::problem(s) {
            Some(reason) => Err(reason),
            None => Ok(Self(s.to_owned())),
        }
    }
}

impl FromStr for TerritoryCode {
    type Err = GeoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_reason(s).map_err(|reason| GeoError::InvalidCode { value: s.to_owned(), reason })
    }
}

impl TryFrom<String> for TerritoryCode {
    type Error = GeoError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match Self::problem(&s) {
            Some(reason) => Err(GeoError::InvalidCode { value: s, reason }),
            None => Ok(Self(s)),
        }
    }
}

impl From<TerritoryCode> for String {
    fn from(code: TerritoryCode) -> String {
        code.0
    }
}

impl fmt::Display for TerritoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TerritoryCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_insee_codes() {
        for s in ["75118", "2A004", "2B033", "93066", "zone_nord-2", "a"] {
            let code: TerritoryCode = s.parse().unwrap();
            assert_eq!(code.as_str(), s);
            assert_eq!(code.to_string(), s);
            assert_eq!(AsRef::<str>::as_ref(&code), s);
        }
        assert!(TerritoryCode::from_str(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn rejects_bad_codes_with_reasons() {
        let cases = [
            ("", "must not be empty"),
            (&*"x".repeat(33), "at most 32 characters"),
            ("75 118", "only contain"),
            ("75118\n", "only contain"),
            ("Paris/18", "only contain"),
            ("é", "only contain"),
        ];
        for (input, expected) in cases {
            let err = TerritoryCode::from_str(input).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(expected), "{input:?}: {msg}");
            assert!(msg.starts_with("invalid territory code"), "{msg}");
        }
    }

    #[test]
    fn serde_is_a_plain_validated_string() {
        let code: TerritoryCode = "2A004".parse().unwrap();
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"2A004\"");
        let back: TerritoryCode = serde_json::from_str("\"2A004\"").unwrap();
        assert_eq!(back, code);
        let err = serde_json::from_str::<TerritoryCode>("\"75 118\"").unwrap_err();
        assert!(err.to_string().contains("invalid territory code"), "{err}");
        assert!(serde_json::from_str::<TerritoryCode>("75118").is_err());
    }
}
