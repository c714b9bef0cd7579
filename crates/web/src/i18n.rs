//! The interface's languages: the catalogues live in `veille-i18n`.

pub use veille_i18n::Lang;
