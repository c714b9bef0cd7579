//! The message catalogues of veille (French first, English second) in
//! `locales/`, and [`Lang`], the language every layer speaks to the user in:
//! the application layer words mails and field errors with it, the web layer
//! its pages.

rust_i18n::i18n!("locales", fallback = "fr");

use serde::{Deserialize, Serialize};

/// A language of the interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// French, the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// The code (`fr`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
    /// Parses a code; anything else is French.
    pub fn from_code(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Fr
        }
    }
    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }
    /// Translates a key.
    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }
    /// Translates a counted message: the key's `one` or `other` form by the
    /// language's plural rule (French: 0 and 1 are singular; English: only 1),
    /// with `%{count}` and the other arguments replaced.
    pub fn tn(self, key: &str, count: i64, args: &[(&str, &str)]) -> String {
        let form = if self.is_singular(count) { "one" } else { "other" };
        let n = count.to_string();
        let mut all: Vec<(&str, &str)> = vec![("count", n.as_str())];
        all.extend_from_slice(args);
        self.tf(&format!("{key}.{form}"), &all)
    }
    /// Whether `count` takes the singular form in this language.
    pub fn is_singular(self, count: i64) -> bool {
        match self {
            Lang::Fr => count == 0 || count == 1 || count == -1,
            Lang::En => count == 1 || count == -1,
        }
    }
    /// Translates a key with `%{name}` arguments.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut text = self.t(key);
        for (name, value) in args {
            text = text.replace(&format!("%{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Some(map) = value.as_object() {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if v.is_object() {
                    keys(v, &path, out);
                } else {
                    out.insert(path);
                }
            }
        }
    }

    /// Every key of a language, from all its files: `locales/{lang}.yml` and
    /// `locales/{domain}.{lang}.yml` (rust-i18n merges them the same way). A key
    /// defined in two files is refused: one of them would silently win.
    fn catalogue(lang: &str) -> BTreeSet<String> {
        let dir = format!("{}/locales", env!("CARGO_MANIFEST_DIR"));
        let mut out = BTreeSet::new();
        let mut files = 0;
        for path in walk(&dir) {
            let stem = std::path::Path::new(&path).file_stem().and_then(|s| s.to_str()).unwrap_or("").to_owned();
            if !path.ends_with(".yml") || stem.rsplit('.').next() != Some(lang) {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            let mut these = BTreeSet::new();
            keys(&value, "", &mut these);
            let twice: Vec<_> = these.intersection(&out).cloned().collect();
            assert!(twice.is_empty(), "{path} defines keys already defined in another {lang} file: {twice:?}");
            out.extend(these);
        }
        assert!(files > 0, "no catalogue for {lang}");
        out
    }

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let (fr, en) = (catalogue("fr"), catalogue("en"));
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(only_fr.is_empty() && only_en.is_empty(), "only in fr: {only_fr:?}; only in en: {only_en:?}");
    }

    #[test]
    fn every_key_used_in_code_and_templates_exists() {
        let fr = catalogue("fr");
        let crates = format!("{}/..", env!("CARGO_MANIFEST_DIR"));
        let re_call = ["t(\"", "tf(\"", "tn(\"", "tnf(\""];
        let mut missing = Vec::new();
        let mut files = Vec::new();
        // The crates that speak to people: the application layer (mails,
        // field errors) and the web adapter (pages).
        for name in ["app", "web"] {
            let krate = std::path::Path::new(&crates).join(name);
            for dir in ["src", "templates"] {
                let d = krate.join(dir);
                if d.is_dir() {
                    files.extend(walk(d.to_str().unwrap()));
                }
            }
        }
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for pat in re_call {
                for (i, _) in text.match_indices(pat) {
                    let rest = &text[i + pat.len()..];
                    if let Some(end) = rest.find('"') {
                        let key = if pat.starts_with("tn") { format!("{}.one", &rest[..end]) } else { rest[..end].to_owned() };
                        if key.contains('.') && !key.starts_with('/') && !key.ends_with('.') && !fr.contains(&key) {
                            missing.push(format!("{f}: {key}"));
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "keys missing from the catalogue: {missing:#?}");
    }

    fn walk(dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(p.to_str().unwrap()));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
        out
    }

    /// Words that end like a plural and are not one (units, invariable words).
    const NOT_PLURAL: &[&str] = &["Mo", "MB", "fois", "mois", "plus", "cas", "jours/semaines", "is", "was", "has", "minutes/hours", "as", "access", "process"];

    /// Placeholders that are not counts (names, links, dates…); every other one is.
    const NOT_COUNTS: &[&str] = &[
        "link",
        "reference",
        "organisation",
        "value",
        "when",
        "detail",
        "time",
        "team",
        "file",
        "date",
        "where",
        "what",
        "territory",
        "status",
        "source",
        "line",
        "kind",
        "id",
        "expected",
        "day",
        "code",
        "base",
        "answer",
        "year",
        "name",
        "structures",
        "services",
        "encounters",
        "total",
        "new",
        "known",
        "unidentified",
    ];

    /// The words right after the count in a text, when the count stands alone.
    fn words_after(text: &str, n: i64) -> Vec<String> {
        let n = n.to_string();
        let mut out = Vec::new();
        let tokens: Vec<&str> = text.split_whitespace().collect();
        for pair in tokens.windows(2) {
            let number = pair[0].trim_start_matches(|c: char| !c.is_ascii_digit());
            if number == n && pair[0].chars().last().is_some_and(|c| c.is_ascii_digit()) {
                out.push(pair[1].trim_end_matches(|c: char| !c.is_alphanumeric()).to_owned());
            }
        }
        out
    }

    /// Every message of both catalogues rendered with every placeholder set to
    /// 0, 1 and 2 (a counted message through `tn` and its plural rule): no
    /// "1 rencontres", no "0 reports" in English, no lazy "(s)".
    #[test]
    fn every_message_with_a_count_agrees_with_it_in_both_languages() {
        let mut bad = Vec::new();
        for lang in [Lang::Fr, Lang::En] {
            let keys = catalogue(lang.code());
            let counted: BTreeSet<&str> = keys.iter().filter_map(|k| k.strip_suffix(".one")).filter(|base| keys.contains(&format!("{base}.other"))).collect();
            assert!(counted.len() >= 20, "{} counted messages", counted.len());
            for n in [0_i64, 1, 2] {
                let value = n.to_string();
                for key in &keys {
                    let (name, text) = match key.rsplit_once('.') {
                        Some((base, "one")) if counted.contains(base) => (base.to_owned(), lang.tn(base, n, &[])),
                        Some((base, "other")) if counted.contains(base) => continue,
                        _ => (key.clone(), lang.t(key)),
                    };
                    let mut text = text;
                    while let Some(start) = text.find("%{") {
                        let Some(len) = text[start..].find('}') else { break };
                        let name = &text[start + 2..start + len];
                        let v = if NOT_COUNTS.contains(&name) { "Xy" } else { value.as_str() };
                        text.replace_range(start..start + len + 1, v);
                    }
                    if text.contains("(s)") || text.contains("(es)") {
                        bad.push(format!("{}: {name}: lazy plural: {text}", lang.code()));
                    }
                    for word in words_after(&text, n) {
                        let plural_looking = word.len() > 2 && (word.ends_with('s') || word.ends_with('x')) && !NOT_PLURAL.contains(&word.as_str());
                        if lang.is_singular(n) && plural_looking {
                            bad.push(format!("{}: {name} with {n}: \"{n} {word}\" in {text:?}", lang.code()));
                        }
                    }
                }
            }
            // In French the plural form with 2 is not the singular one.
            for base in counted.iter().filter(|_| lang == Lang::Fr) {
                let (one, two) = (lang.tn(base, 1, &[]), lang.tn(base, 2, &[]));
                if one.replace('1', "2") == two {
                    bad.push(format!("{}: {base}: the same words for 1 and 2: {two:?}", lang.code()));
                }
            }
        }
        assert!(bad.is_empty(), "{} messages disagree with their count:\n{}", bad.len(), bad.join("\n"));
    }

    #[test]
    fn french_counts_zero_as_singular_english_as_plural() {
        assert_eq!(Lang::Fr.tn("home.waiting", 0, &[]), "0 nouveau signalement à accuser réception");
        assert_eq!(Lang::En.tn("home.waiting", 0, &[]), "0 new reports to acknowledge");
        assert_eq!(Lang::Fr.tn("home.waiting", 2, &[]), "2 nouveaux signalements à accuser réception");
    }

    #[test]
    fn translates_and_falls_back() {
        assert_eq!(Lang::Fr.t("nav.logout"), "Se déconnecter");
        assert_eq!(Lang::En.t("nav.logout"), "Log out");
        assert_eq!(Lang::from_code("en-GB"), Lang::En);
        assert_eq!(Lang::from_code("de"), Lang::Fr);
    }
}
