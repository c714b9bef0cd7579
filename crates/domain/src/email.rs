//! E-mail addresses of staff and reporters.

/// A syntactically plausible e-mail address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was typed.
    #[error("empty")]
    Empty,
    /// Longer than 254 characters.
    #[error("too long")]
    TooLong,
    /// Not of the form name@domain.tld.
    #[error("malformed")]
    Malformed,
}

impl EmailAddress {
    /// Parses and normalises an address.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.split_once('@').ok_or(EmailError::Malformed)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"@".contains(c);
        if local.is_empty()
            || local.len() > 64
            || local.chars().any(bad_char)
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.chars().any(|c| !(c.is_alphanumeric() || c == '-' || c == '.'))
        {
            return Err(EmailError::Malformed);
        }
        Ok(Self(s))
    }
    /// The address text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for EmailAddress {
    // Addresses are personal data: never printed whole in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress(<redacted>)")
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(EmailAddress::parse("  Camille.Dupont@Exemple.FR ").unwrap().as_str(), "camille.dupont@exemple.fr");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "   ", "nobody", "a@b", "@exemple.fr", "a b@exemple.fr", "a@exemple..fr", "a@.fr", "a@exemple.fr."] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn debug_never_shows_the_address() {
        let e = EmailAddress::parse("secret.person@exemple.fr").unwrap();
        assert!(!format!("{e:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") { let _ = EmailAddress::parse(&s); }

        #[test]
        fn parse_is_idempotent(local in "[a-z0-9._-]{1,20}", domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}") {
            let e = EmailAddress::parse(&format!("{local}@{domain}")).unwrap();
            prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
        }
    }
}
