//! Closed sets of coded values: one enum per vocabulary, its stable codes
//! (stored in the database, used in message keys and the API), parsing, and
//! binding as text.

/// A text that is not one of the codes of a vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not one of the known codes")]
pub struct UnknownCode;

/// Declares a closed set of coded values: the enum, `ALL`, `code()` (stored
/// in the database, used in message keys) and `from_code()`.
#[macro_export]
#[doc(hidden)]
macro_rules! codes {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $code)] $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Parses a code.
            pub fn from_code(code: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.code() == code)
            }
            /// Every code, in display order.
            pub fn codes() -> Vec<&'static str> {
                $name::ALL.iter().map(|v| v.code()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.code()) }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::codes::UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::from_code(s).ok_or($crate::codes::UnknownCode)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool { self.code() == other }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool { self.code() == *other }
        }

        $crate::bind_as_text!($name);
    };
}
