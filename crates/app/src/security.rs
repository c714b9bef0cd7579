//! Credential primitives: argon2id password hashes, the password policy, TOTP,
//! recovery codes and opaque random tokens (stored only as SHA-256).

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// argon2id with OWASP's parameters: 19 MiB, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"))
}

/// Hashes a password into a PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// [`hash_password`] on a blocking thread: argon2id takes tens of
/// milliseconds of CPU and 19 MiB, which must not hold the threads that
/// answer other requests.
pub async fn hash_password_off_thread(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| anyhow::anyhow!("password hashing: {e}"))?
}

/// [`verify_password`] on a blocking thread (against [`dummy_hash`] when
/// there is no stored hash, so that the time taken does not tell).
pub async fn verify_password_off_thread(password: String, phc: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            verify_password(&password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("password check: {e}"))
}

/// A hash to compare against when the account does not exist, so that timing
/// does not reveal which e-mails have accounts.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password, only for timing").unwrap_or_default())
}

/// Why a new password is refused. One message each in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than 12 characters.
    TooShort,
    /// More than 128 characters.
    TooLong,
    /// Common, breached-looking or built from the context (name, e-mail, veille…).
    TooCommon,
}

impl PasswordProblem {
    /// Message key.
    pub fn key(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password.too_short",
            PasswordProblem::TooLong => "password.too_long",
            PasswordProblem::TooCommon => "password.too_common",
        }
    }
    /// The message in a language (the minimum length through the plural rule).
    pub fn message(self, lang: crate::Lang) -> String {
        match self {
            PasswordProblem::TooShort => lang.tn(self.key(), MIN_PASSWORD_CHARS as i64, &[("min", &MIN_PASSWORD_CHARS.to_string())]),
            _ => lang.t(self.key()),
        }
    }
}

/// Minimum length (ASVS 6.2.1 with veille's 12).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a new password: length, then an offline strength estimate that
/// knows common passwords and the context words. No composition rules.
pub fn check_new_password(password: &str, context: &[&str]) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > 128 {
        return Err(PasswordProblem::TooLong);
    }
    let mut words: Vec<&str> = vec!["veille", "maraude", "samusocial", "paris", "signalement"];
    words.extend_from_slice(context);
    // A password made of the context words plus a few characters is guessable
    // whatever the estimator says.
    let mut rest = password.to_lowercase();
    for w in &words {
        for part in w.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|p| p.len() >= 3) {
            rest = rest.replace(part, "");
        }
    }
    if rest.chars().filter(|c| c.is_alphanumeric()).count() < 8 {
        return Err(PasswordProblem::TooCommon);
    }
    let estimate = zxcvbn::zxcvbn(password, &words);
    if (estimate.score() as u8) < 3 {
        return Err(PasswordProblem::TooCommon);
    }
    Ok(())
}

/// A random opaque token (256 bits, URL-safe).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a token, hex: what is stored instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison of two texts.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// TOTP: RFC 6238, SHA-1, 6 digits, 30-second steps.
pub mod totp {
    use totp_rs::{Algorithm, Secret, TOTP};

    /// A new random secret, base32.
    pub fn new_secret() -> String {
        Secret::generate_secret().to_encoded().to_string()
    }

    fn totp(secret_b32: &str, account: &str) -> Option<TOTP> {
        let bytes = Secret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
        TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes, Some("veille".into()), account.to_owned()).into()
    }

    /// The `otpauth://` URI for authenticator apps.
    pub fn uri(secret_b32: &str, account: &str) -> String {
        totp(secret_b32, account).map(|t| t.get_url()).unwrap_or_default()
    }

    /// The code for a time step (tests and demo use).
    pub fn code_at(secret_b32: &str, step: i64) -> String {
        totp(secret_b32, "").map(|t| t.generate((step.max(0) as u64) * 30)).unwrap_or_default()
    }

    /// The time step of a Unix time in seconds.
    pub fn step_of(unix_seconds: i64) -> i64 {
        unix_seconds.div_euclid(30)
    }

    /// The step (current, previous or next, for clock drift) whose code is `code`.
    pub fn matching_step(secret_b32: &str, code: &str, unix_seconds: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let now = step_of(unix_seconds);
        [now, now - 1, now + 1].into_iter().find(|s| super::same(&code_at(secret_b32, *s), &code))
    }
}

/// Ten one-time recovery codes like `k7m2-x9qa-4f`.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..10)
        .map(|_| {
            let raw: String = (0..10).map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char).collect();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..10])
        })
        .collect()
}

/// Normalises a typed recovery code before hashing.
pub fn normalise_recovery_code(input: &str) -> String {
    let raw: String = input.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    if raw.len() == 10 {
        format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..10])
    } else {
        raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_parameters_meet_owasp() {
        let phc = hash_password("a long enough passphrase").unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let m: u32 = parsed.params.get_decimal("m").unwrap();
        let t: u32 = parsed.params.get_decimal("t").unwrap();
        assert!(m >= 19 * 1024, "memory {m} KiB");
        assert!(t >= 2, "iterations {t}");
        assert!(verify_password("a long enough passphrase", &phc));
        assert!(!verify_password("a long enough passphrasE", &phc));
    }

    #[test]
    fn password_policy() {
        assert_eq!(check_new_password("short", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(check_new_password("password1234", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(check_new_password("maraudeveille2026", &[]), Err(PasswordProblem::TooCommon));
        assert_eq!(check_new_password("camille.dupont2026", &["camille.dupont@exemple.fr", "camille", "dupont"]), Err(PasswordProblem::TooCommon));
        assert_eq!(check_new_password(&"x".repeat(129), &[]), Err(PasswordProblem::TooLong));
        // No composition rules: a long lower-case passphrase is fine.
        assert_eq!(check_new_password("tortue verte sous le pont neuf", &[]), Ok(()));
    }

    #[test]
    fn totp_accepts_current_and_adjacent_steps_only() {
        let secret = totp::new_secret();
        let now = 1_790_000_000;
        let step = totp::step_of(now);
        assert_eq!(totp::matching_step(&secret, &totp::code_at(&secret, step), now), Some(step));
        assert_eq!(totp::matching_step(&secret, &totp::code_at(&secret, step - 1), now), Some(step - 1));
        assert_eq!(totp::matching_step(&secret, &totp::code_at(&secret, step - 3), now), None);
        assert_eq!(totp::matching_step(&secret, "12345", now), None);
        assert_eq!(totp::matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalise() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        let set: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(set.len(), 10);
        let typed = codes[0].replace('-', " ").to_uppercase();
        assert_eq!(normalise_recovery_code(&typed), codes[0]);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
