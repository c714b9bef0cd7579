//! Name normalisation: accents folded, case, punctuation, particles.
//!
//! Every string value goes through [`prepare`] once, before any comparison,
//! so the comparators work on short ASCII byte strings.

/// Particles that glue to the following token in Arabic, Berber, French,
/// Spanish, Dutch… names: "Abd el Kader" → "abdelkader", "Ben Ali" → "benali".
/// They are also dropped to build the *core* form ("de la Fontaine" → "fontaine").
pub const PARTICLES: &[&str] = &[
    "abd", "abdel", "abdul", "el", "al", "ul", "ben", "bin", "ibn", "bou", "ould", "ait", "de", "du", "des", "da", "di", "do", "dos", "das", "del", "della",
    "la", "le", "les", "van", "von", "der", "den", "ter", "d", "l", "y", "st", "ste", "saint", "sainte", "mac", "mc", "o",
];

/// Particles which, when dropped for the core form, must not leave an empty name
/// and which carry meaning mostly as a prefix (ben/ould/abd…): only the purely
/// "article-like" ones are removed from the core form.
const CORE_DROP: &[&str] =
    &["el", "al", "ul", "de", "du", "des", "da", "di", "do", "dos", "das", "del", "della", "la", "le", "les", "van", "von", "der", "den", "ter", "d", "l", "y"];

/// Fold one character to lowercase ASCII (possibly several letters, e.g. "œ" → "oe").
/// Latin letters with diacritics (French, Romanian, Turkish, Polish, Vietnamese
/// base letters…) and basic Cyrillic are covered; other characters are kept
/// lowercased as they are.
pub fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let s: &str = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'ạ' | 'ả' | 'ấ' | 'ầ' | 'ẩ' | 'ẫ' | 'ậ' | 'ắ' | 'ằ' | 'ẳ' | 'ẵ' | 'ặ' | 'À' | 'Á' | 'Â' | 'Ã'
        | 'Ä' | 'Å' | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' | 'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "c",
        'ď' | 'đ' | 'ð' | 'Ď' | 'Đ' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' | 'ẹ' | 'ẻ' | 'ẽ' | 'ế' | 'ề' | 'ể' | 'ễ' | 'ệ' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę'
        | 'Ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' | 'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "g",
        'ĥ' | 'ħ' | 'Ĥ' | 'Ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' | 'ị' | 'ỉ' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "i",
        'ĵ' | 'Ĵ' => "j",
        'ķ' | 'Ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' | 'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' | 'ơ' | 'ọ' | 'ỏ' | 'ố' | 'ồ' | 'ổ' | 'ỗ' | 'ộ' | 'ớ' | 'ờ' | 'ở' | 'ỡ' | 'ợ' | 'Ò' | 'Ó' | 'Ô'
        | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ŏ' | 'Ő' | 'Ơ' => "o",
        'œ' | 'Œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' | 'Ŕ' | 'Ŗ' | 'Ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' | 'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' | 'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' | 'ư' | 'ụ' | 'ủ' | 'ứ' | 'ừ' | 'ử' | 'ữ' | 'ự' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ũ' | 'Ū' | 'Ŭ'
        | 'Ů' | 'Ű' | 'Ų' | 'Ư' => "u",
        'ý' | 'ÿ' | 'ŷ' | 'ỳ' | 'ỹ' | 'Ý' | 'Ÿ' | 'Ŷ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        // Apostrophes and dashes of every kind become separators.
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2010}' | '\u{2011}' | '\u{2013}' | '\u{2014}' => " ",
        // Basic Cyrillic, simple French-friendly transliteration.
        'а' | 'А' => "a",
        'б' | 'Б' => "b",
        'в' | 'В' => "v",
        'г' | 'Г' => "g",
        'д' | 'Д' => "d",
        'е' | 'Е' | 'э' | 'Э' => "e",
        'ё' | 'Ё' => "io",
        'ж' | 'Ж' => "j",
        'з' | 'З' => "z",
        'и' | 'И' | 'й' | 'Й' | 'і' | 'І' => "i",
        'ї' | 'Ї' => "i",
        'к' | 'К' => "k",
        'л' | 'Л' => "l",
        'м' | 'М' => "m",
        'н' | 'Н' => "n",
        'о' | 'О' => "o",
        'п' | 'П' => "p",
        'р' | 'Р' => "r",
        'с' | 'С' => "s",
        'т' | 'Т' => "t",
        'у' | 'У' => "ou",
        'ф' | 'Ф' => "f",
        'х' | 'Х' => "kh",
        'ц' | 'Ц' => "ts",
        'ч' | 'Ч' => "tch",
        'ш' | 'Ш' => "ch",
        'щ' | 'Щ' => "chtch",
        'ъ' | 'Ъ' | 'ь' | 'Ь' => "",
        'ы' | 'Ы' => "y",
        'ю' | 'Ю' => "iou",
        'я' | 'Я' => "ia",
        'є' | 'Є' => "ie",
        _ => {
            for l in c.to_lowercase() {
                out.push(l);
            }
            return;
        }
    };
    out.push_str(s);
}

/// Lowercase, fold accents, turn punctuation into spaces, collapse spaces.
/// "  Abd-el-KADER " → "abd el kader"; "Ionuț" → "ionut"; "N'Diaye" → "n diaye".
pub fn normalize(s: &str) -> String {
    let mut folded = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, &mut folded);
    }
    let mut out = String::with_capacity(folded.len());
    let mut pending_space = false;
    for c in folded.chars() {
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// Tokens of a normalised string with particles glued to the next token:
/// "abd el kader" → ["abdelkader"], "ben ali mohamed" → ["benali", "mohamed"].
/// A trailing particle stays a token of its own.
pub fn glued_tokens(norm: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut acc = String::new();
    for t in norm.split(' ').filter(|t| !t.is_empty()) {
        acc.push_str(t);
        if !PARTICLES.contains(&t) {
            out.push(std::mem::take(&mut acc));
        }
    }
    if !acc.is_empty() {
        out.push(acc);
    }
    out
}

/// Core tokens: article-like particles dropped ("de la fontaine" → ["fontaine"],
/// "el amrani" → ["amrani"]). Never empty when the input is not.
pub fn core_tokens(norm: &str) -> Vec<String> {
    let all: Vec<&str> = norm.split(' ').filter(|t| !t.is_empty()).collect();
    let kept: Vec<String> = all.iter().filter(|t| !CORE_DROP.contains(t)).map(|t| t.to_string()).collect();
    if kept.is_empty() {
        all.iter().map(|t| t.to_string()).collect()
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(normalize("Ionuț"), "ionut");
        assert_eq!(normalize("ȘTEFAN"), "stefan");
        assert_eq!(normalize("François-Xavier"), "francois xavier");
        assert_eq!(normalize("Œdipe"), "oedipe");
        assert_eq!(normalize("  Abd-el-KADER "), "abd el kader");
        assert_eq!(normalize("N’Diaye"), "n diaye");
        assert_eq!(normalize("Çağlar Yıldız"), "caglar yildiz");
        assert_eq!(normalize("Łukasz"), "lukasz");
        assert_eq!(normalize("Наталья"), "natalia");
        assert_eq!(normalize("--"), "");
    }

    #[test]
    fn glues_particles() {
        assert_eq!(glued_tokens("abd el kader"), vec!["abdelkader"]);
        assert_eq!(glued_tokens("ben ali"), vec!["benali"]);
        assert_eq!(glued_tokens("mohamed ben ali"), vec!["mohamed", "benali"]);
        assert_eq!(glued_tokens("de"), vec!["de"]);
        assert_eq!(core_tokens("jean de la fontaine"), vec!["jean", "fontaine"]);
        assert_eq!(core_tokens("el amrani"), vec!["amrani"]);
        assert_eq!(core_tokens("de la"), vec!["de", "la"]);
    }
}
