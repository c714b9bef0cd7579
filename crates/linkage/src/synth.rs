//! Synthetic person records with known truth, for tests and benchmarks.
//!
//! Every person is invented. Two profiles:
//!
//! * [`Profile::Street`] (the default): records typed by different teams about
//!   people without papers, like the held-out set of issue 18 —
//!   transliterations and spelling variants, nickname-only records, first and
//!   last names swapped *and* misspelled together, given name only with an
//!   estimated age, ages instead of birth years (± 5 years), a phone on about
//!   one record in eight, and many namesakes: names are drawn from a
//!   Zipf-like list of common names mixed with rare invented ones, the mix
//!   calibrated so that about half of the pairs of records agreeing exactly
//!   on first and last name are two different people (`namesake_share`).
//! * [`Profile::Classic`]: the earlier generator (name variant groups,
//!   birth years and dates, few namesakes).

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const GIVEN_M: &[&[&str]] = &[
    &["Mohamed", "Mohammed", "Muhammad", "Mohamad", "Mouhamed", "Mohammad"],
    &["Abdelkader", "Abd el Kader", "Abdel Kader", "Abd al-Qadir", "Abdelkadir"],
    &["Abdallah", "Abdellah", "Abd Allah", "Abdullah"],
    &["Abderrahmane", "Abderahmane", "Abd er Rahmane", "Abdurrahman"],
    &["Youssef", "Yusuf", "Youcef", "Yousef", "Youssouf"],
    &["Ahmed", "Ahmad", "Hmed"],
    &["Mustapha", "Moustapha", "Mustafa", "Moustafa"],
    &["Karim", "Kareem", "Carim"],
    &["Rachid", "Rachide", "Rashid", "Rached"],
    &["Khaled", "Khalid", "Kaled"],
    &["Djamel", "Jamel", "Djamal", "Jamal"],
    &["Ouassim", "Wassim", "Wasim"],
    &["Oualid", "Walid", "Waleed"],
    &["Hocine", "Hossein", "Houssine", "Hussein"],
    &["Brahim", "Ibrahim", "Ibrahima"],
    &["Said", "Saïd", "Saeed"],
    &["Omar", "Omer", "Oumar"],
    &["Ali", "Aly"],
    &["Mamadou", "Mamadu", "Mammadou"],
    &["Moussa", "Musa", "Mousa"],
    &["Amadou", "Ahmadou", "Amadu"],
    &["Boubacar", "Boubakar", "Aboubacar", "Abubakar"],
    &["Souleymane", "Suleiman", "Soulaymane", "Sulayman"],
    &["Ousmane", "Usman", "Othmane", "Osman"],
    &["Seydou", "Seidou", "Saidou"],
    &["Ionuț", "Ionut"],
    &["Ștefan", "Stefan", "Stephan"],
    &["Gheorghe", "Georghe", "George"],
    &["Mihai", "Mihail", "Mihaï"],
    &["Constantin", "Costantin", "Konstantin"],
    &["Vasile", "Vasilé", "Vassile"],
    &["Oleksandr", "Aleksandr", "Alexandre", "Olexandr", "Alexander"],
    &["Dmytro", "Dmitri", "Dimitri", "Dmitry"],
    &["Sergueï", "Sergei", "Serhiy", "Sergey"],
    &["Andriy", "Andrei", "Andreï", "Andrey"],
    &["Volodymyr", "Vladimir", "Wladimir"],
    &["Krzysztof", "Kristof", "Krzystof"],
    &["Łukasz", "Lukasz", "Lucas"],
    &["Jean-Pierre", "Jean Pierre", "Jean-Piere"],
    &["François", "Francois", "Franck"],
    &["Jérôme", "Jerome", "Jérome"],
    &["Philippe", "Philipe", "Filip"],
    &["Christophe", "Cristophe", "Kristof"],
    &["Stéphane", "Stephane", "Stefane"],
    &["Thierry", "Thiery", "Tierry"],
    &["Ahmad Shah", "Ahmadshah", "Ahmed Shah"],
    &["Gulbuddin", "Golbuddin", "Gulbudin"],
    &["Habibullah", "Habiboullah", "Habib Ullah"],
    &["Tesfaye", "Tesfay", "Tesfai"],
    &["Yohannes", "Yohanes", "Johannes"],
    &["Mehmet", "Mehmed", "Mehmat"],
    &["Hüseyin", "Huseyin", "Husseyin"],
    &["Murat", "Mourad", "Murad"],
    &["Nguyen Van Minh", "Van Minh", "Minh"],
    &["Thanh", "Tan", "Thañh"],
    &["Dragan", "Dragane"],
    &["Samir", "Sameer", "Smir"],
    &["Nabil", "Nabile", "Nebil"],
    &["Kamel", "Kamal", "Kemal"],
    &["Hamza", "Hamsa", "Hamzah"],
    &["Bilal", "Bilel", "Billal"],
    &["Idriss", "Idris", "Driss"],
];

const GIVEN_F: &[&[&str]] = &[
    &["Fatima", "Fatma", "Fatimah", "Fatoumata"],
    &["Aïcha", "Aicha", "Aisha", "Aysha", "Aïssa"],
    &["Khadija", "Khadidja", "Kadija", "Hadija"],
    &["Meriem", "Myriam", "Mariam", "Maryam", "Meryem"],
    &["Nadia", "Nadiya", "Nadja"],
    &["Samira", "Sameera", "Smira"],
    &["Leïla", "Leila", "Layla", "Leyla"],
    &["Zineb", "Zeineb", "Zaynab", "Zainab"],
    &["Hawa", "Awa", "Hawwa"],
    &["Aminata", "Aminatou", "Amina"],
    &["Mariama", "Mariamma", "Mariame"],
    &["Kadiatou", "Kadiatu", "Khadiatou"],
    &["Ioana", "Ionela", "Ioanna"],
    &["Mădălina", "Madalina"],
    &["Elena", "Eléna", "Helena"],
    &["Nataliya", "Natalia", "Natalya", "Nathalie"],
    &["Olena", "Elena", "Olena"],
    &["Oksana", "Oxana", "Oksanna"],
    &["Małgorzata", "Malgorzata", "Malgorzatta"],
    &["Marie-Claude", "Marie Claude", "Marie-Claud"],
    &["Françoise", "Francoise", "Françoise"],
    &["Hélène", "Helene", "Hélene"],
    &["Nathalie", "Natalie", "Nathaly"],
    &["Sandrine", "Sandrin", "Sandrine"],
    &["Stéphanie", "Stephanie", "Stefanie"],
    &["Saliha", "Salha", "Saleha"],
    &["Yasmine", "Yasmina", "Jasmine", "Yasmin"],
    &["Hayat", "Hayet", "Hayate"],
    &["Fatoumata Binta", "Binta", "Fatoumata-Binta"],
    &["Mebrat", "Mebrahtu", "Mebreth"],
    &["Senait", "Senayt", "Sennait"],
    &["Gulnaz", "Golnaz", "Gulnas"],
    &["Ayşe", "Ayse", "Aysé"],
    &["Thi Lan", "Lan", "Thi-Lan"],
    &["Rositsa", "Rositza", "Rosica"],
];

const FAMILY_GROUPS: &[&[&str]] = &[
    &["Benali", "Ben Ali", "Ben-Ali", "Bennali"],
    &["Benmohamed", "Ben Mohamed", "Ben Mohammed"],
    &["Boumediene", "Boumedienne", "Boumedien", "Boumédiène"],
    &["Abdallah", "Abdellah", "Abd Allah"],
    &["Kaddour", "Kadour", "Qaddour"],
    &["Haddad", "Hadad", "Haddade"],
    &["El Amrani", "Amrani", "El-Amrani", "Elamrani"],
    &["Ait Ahmed", "Aït Ahmed", "Ait-Ahmed", "Aitahmed"],
    &["Ould Mohamed", "Ould Mohammed", "Ould-Mohamed"],
    &["Cherif", "Chérif", "Sherif", "Charif"],
    &["Chaoui", "Chaoui", "Shaoui"],
    &["Djebbar", "Jebbar", "Djebar"],
    &["Diallo", "Dialo", "Djallo"],
    &["Traoré", "Traore", "Traoure"],
    &["Coulibaly", "Koulibaly", "Kulibali", "Coulibali"],
    &["Keïta", "Keita", "Kéita"],
    &["Konaté", "Konate", "Konatte"],
    &["Cissé", "Cisse", "Sissé", "Cissè"],
    &["Touré", "Toure", "Tourè"],
    &["N'Diaye", "Ndiaye", "N Diaye", "Diaye"],
    &["Popescu", "Popesco", "Popescou"],
    &["Ionescu", "Ionesco", "Ionescou"],
    &["Dumitru", "Dumitrou", "Dimitru"],
    &["Ștefănescu", "Stefanescu", "Stefanesco"],
    &["Kowalski", "Kovalski", "Kowalsky"],
    &["Shevchenko", "Chevtchenko", "Schewtschenko", "Shevtchenko"],
    &["Kovalenko", "Kowalenko", "Kovalenco"],
    &["Ivanov", "Ivanoff", "Iwanow"],
    &["Nguyễn", "Nguyen", "Nguyen"],
    &["Trần", "Tran", "Tranh"],
    &["Yılmaz", "Yilmaz", "Yilmas"],
    &["Öztürk", "Ozturk", "Oztürk"],
    &["Dupont", "Dupond", "Du Pont"],
    &["Lefèvre", "Lefebvre", "Lefevre", "Lefebre"],
    &["de la Fontaine", "Delafontaine", "Fontaine", "De La Fontaine"],
    &["Le Goff", "Legoff", "Le-Goff"],
    &["Rahimi", "Rahimy", "Rahemi"],
    &["Ahmadzai", "Ahmadzaï", "Ahmadzay"],
    &["Tesfamariam", "Tesfa Mariam", "Tesfamarian"],
    &["Gebremedhin", "Gebre Medhin", "Ghebremedhin"],
];

const FRENCH: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Blanc",
    "Guérin",
    "Boyer",
    "Garnier",
    "Chevalier",
    "François",
    "Legrand",
    "Gauthier",
    "Perrin",
];

const ROOTS_AR: &[&str] = &[
    "hadj", "medi", "ziane", "kaci", "rahmani", "mansour", "cherif", "slimani", "belkacem", "saadi", "brahimi", "yahia", "larbi", "touati", "meziane",
    "ferhat", "aissa", "hamidi", "bouzid", "amara", "benaissa", "mokrani", "zerrouki", "ghezali", "khelifi", "taleb", "laid", "bensaid", "chabane", "nasri",
    "aouadi", "rezki",
];
const PREF_AR: &[&str] = &["", "", "Ben ", "Bou", "El ", "Ait ", "Ould ", "Ben"];
const ROOTS_RO: &[&str] = &[
    "pop",
    "ion",
    "dumitr",
    "stan",
    "gheorgh",
    "radu",
    "marin",
    "tudor",
    "florea",
    "constantin",
    "vasil",
    "lazar",
    "munteanu",
    "craciun",
    "nistor",
    "barbu",
    "petr",
    "mihail",
    "dobr",
    "sandu",
];
const SUF_RO: &[&str] = &["escu", "eanu", "ache", "oiu", "a"];
const ROOTS_SL: &[&str] = &[
    "koval", "shevch", "bondar", "tkach", "kravch", "oliynyk", "moroz", "lysen", "petr", "ivan", "kuzmin", "sokol", "volkov", "nowak", "wisniew", "wojcik",
    "kaminsk", "lewandow", "zielin", "szyman",
];
const SUF_SL: &[&str] = &["enko", "uk", "ov", "ova", "ski", "ska", "ych", "iak"];
const ONSETS: &[&str] = &["b", "d", "f", "g", "k", "l", "m", "n", "s", "t", "r", "z", "ch", "dj", "kh", "ou", "sa", "mb", "nd", "tr"];
const NUCLEI: &[&str] = &["a", "e", "i", "o", "ou", "ai", "é"];
const NICKNAMES: &[&str] = &[
    "Momo",
    "Le Grand",
    "Tonton",
    "Bébert",
    "Le Roumain",
    "Petit Ali",
    "Mimi",
    "La Puce",
    "Djo",
    "Papy",
    "Le Gitan",
    "Coco",
    "Fanfan",
    "Le Grec",
    "Nounou",
    "Titi",
    "Bouba",
    "Kiki",
    "Le Rouquin",
    "Doudou",
    "Jojo",
    "Le Chauve",
    "Tata",
    "Le Marseillais",
    "Zizou",
    "Le Chinois",
    "La Mamie",
    "Bob",
    "Rasta",
    "Le Géant",
    "Pépé",
    "La Fouine",
    "Ptit Loup",
    "Sissi",
    "Le Prof",
    "Blanche",
    "Ours",
    "Capitaine",
    "Manu",
    "Lulu",
];

#[derive(Clone)]
struct Person {
    given_group: Vec<String>,
    family_group: Vec<String>,
    nicknames: Vec<String>,
    year: i32,
    month: u32,
    day: u32,
    gender: &'static str,
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A transliteration-style variant: one rewrite rule that applies.
fn translit_variant(s: &str, rng: &mut StdRng) -> String {
    const RULES: &[(&str, &str)] = &[
        ("ou", "u"),
        ("u", "ou"),
        ("ss", "s"),
        ("s", "ss"),
        ("dj", "j"),
        ("j", "dj"),
        ("ch", "sh"),
        ("sh", "ch"),
        ("k", "q"),
        ("c", "k"),
        ("y", "i"),
        ("i", "y"),
        ("e", "a"),
        ("ph", "f"),
        ("f", "ph"),
        ("ll", "l"),
        ("l", "ll"),
        ("mm", "m"),
        ("m", "mm"),
        ("dd", "d"),
        ("tt", "t"),
        ("ei", "ai"),
        ("é", "e"),
        ("ï", "i"),
    ];
    let lower = s.to_lowercase();
    let applicable: Vec<&(&str, &str)> = RULES.iter().filter(|(a, _)| lower.contains(a)).collect();
    match applicable.choose(rng) {
        None => s.to_string(),
        Some((a, b)) => {
            let positions: Vec<usize> = lower.match_indices(a).map(|(i, _)| i).collect();
            let p = positions[rng.gen_range(0..positions.len())];
            let mut out = String::new();
            out.push_str(&lower[..p]);
            out.push_str(b);
            out.push_str(&lower[p + a.len()..]);
            out.split(' ').map(cap).collect::<Vec<_>>().join(" ")
        }
    }
}

/// One keyboard-style typo.
fn typo(s: &str, rng: &mut StdRng) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = rng.gen_range(1..c.len());
    let letters = "abcdefghijklmnoprstuvz";
    let rnd = letters.chars().nth(rng.gen_range(0..letters.len())).unwrap_or('e');
    match rng.gen_range(0..4) {
        0 => {
            c.remove(i);
        }
        1 => c.insert(i, rnd),
        2 => c[i] = rnd,
        _ => c.swap(i - 1, i),
    }
    c.into_iter().collect()
}

fn strip_accents(s: &str) -> String {
    crate::normalize::normalize(s).split(' ').map(cap).collect::<Vec<_>>().join(" ")
}

fn syllable_name(rng: &mut StdRng) -> String {
    let n = rng.gen_range(2..=3);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(ONSETS.choose(rng).unwrap_or(&"m"));
        s.push_str(NUCLEI.choose(rng).unwrap_or(&"a"));
    }
    if rng.gen_bool(0.5) {
        s.push_str(["r", "n", "l", "m", "t", "ne", "ri", "ba", "ko"].choose(rng).unwrap_or(&"n"));
    }
    cap(&s)
}

fn family_group(rng: &mut StdRng) -> Vec<String> {
    // Surnames are diverse: a few curated variant groups, many generated ones.
    let base: String = match rng.gen_range(0..100) {
        0..=7 => {
            return FAMILY_GROUPS.choose(rng).unwrap_or(&FAMILY_GROUPS[0]).iter().map(|s| s.to_string()).collect();
        }
        8..=14 => FRENCH.choose(rng).unwrap_or(&"Martin").to_string(),
        15..=29 => {
            let p = PREF_AR.choose(rng).unwrap_or(&"");
            let r = ROOTS_AR.choose(rng).unwrap_or(&"kaci");
            if p.ends_with(' ') || p.is_empty() {
                format!("{p}{}", cap(r))
            } else {
                format!("{p}{r}")
            }
        }
        30..=39 => cap(&format!("{}{}", ROOTS_RO.choose(rng).unwrap_or(&"pop"), SUF_RO.choose(rng).unwrap_or(&"escu"))),
        40..=49 => cap(&format!("{}{}", ROOTS_SL.choose(rng).unwrap_or(&"koval"), SUF_SL.choose(rng).unwrap_or(&"enko"))),
        _ => syllable_name(rng),
    };
    let mut g = vec![base.clone()];
    for _ in 0..2 {
        g.push(translit_variant(&base, rng));
    }
    if base.contains(' ') {
        g.push(base.replace(' ', ""));
        g.push(base.replace(' ', "-"));
    }
    g
}

fn person(rng: &mut StdRng) -> Person {
    let male = rng.gen_bool(0.7);
    let groups = if male { GIVEN_M } else { GIVEN_F };
    let given_group: Vec<String> = if rng.gen_bool(0.7) {
        groups.choose(rng).unwrap_or(&groups[0]).iter().map(|s| s.to_string()).collect()
    } else {
        let b = syllable_name(rng);
        vec![b.clone(), translit_variant(&b, rng)]
    };
    let n_nick = match rng.gen_range(0..10) {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    };
    let nicknames = (0..n_nick)
        .map(|_| {
            if rng.gen_bool(0.5) {
                NICKNAMES.choose(rng).unwrap_or(&"Momo").to_string()
            } else {
                // Many nicknames are personal: a short form of a random word.
                syllable_name(rng)
            }
        })
        .collect();
    Person {
        given_group,
        family_group: family_group(rng),
        nicknames,
        year: rng.gen_range(1940..=2006),
        month: rng.gen_range(1..=12),
        day: rng.gen_range(1..=28),
        gender: if male { "M" } else { "F" },
    }
}

fn noisy_name(group: &[String], rng: &mut StdRng, canonical: bool) -> String {
    let mut s = if canonical || rng.gen_bool(0.55) { group[0].clone() } else { group.choose(rng).unwrap_or(&group[0]).clone() };
    if !canonical {
        if rng.gen_bool(0.12) {
            s = translit_variant(&s, rng);
        }
        if rng.gen_bool(0.10) {
            s = typo(&s, rng);
        }
        if rng.gen_bool(0.3) {
            s = strip_accents(&s);
        }
        if rng.gen_bool(0.2) {
            s = s.to_uppercase();
        } else if rng.gen_bool(0.05) {
            s = s.to_lowercase();
        }
    }
    s
}

struct Row {
    given: String,
    family: String,
    aliases: String,
    year: String,
    date: String,
    gender: String,
}

fn record(p: &Person, rng: &mut StdRng, first: bool) -> Row {
    let mut given = noisy_name(&p.given_group, rng, first);
    let mut family = noisy_name(&p.family_group, rng, first);
    if !first && rng.gen_bool(0.08) {
        std::mem::swap(&mut given, &mut family);
    }
    let nick_only = rng.gen_bool(0.04) && !p.nicknames.is_empty();
    if nick_only || rng.gen_bool(0.07) {
        given.clear();
    }
    if nick_only || rng.gen_bool(0.15) {
        family.clear();
    }
    let mut aliases: Vec<String> = Vec::new();
    for n in &p.nicknames {
        if nick_only || rng.gen_bool(0.6) {
            aliases.push(if rng.gen_bool(0.05) { typo(n, rng) } else { n.clone() });
        }
    }
    let year = match rng.gen_range(0..100) {
        0..=59 => Some(p.year),
        60..=79 => Some(p.year + if rng.gen_bool(0.5) { 1 } else { -1 }),
        80..=86 => Some(p.year + rng.gen_range(-3..=3)),
        _ => None,
    };
    let date = if rng.gen_bool(0.25) {
        let (mut m, mut d) = (p.month, p.day);
        if d <= 12 && rng.gen_bool(0.12) {
            std::mem::swap(&mut m, &mut d);
        }
        if rng.gen_bool(0.04) {
            d = (d % 28) + 1;
        }
        if rng.gen_bool(0.5) {
            format!("{:04}-{:02}-{:02}", p.year, m, d)
        } else {
            format!("{:02}/{:02}/{:04}", d, m, p.year)
        }
    } else {
        String::new()
    };
    let gender = match rng.gen_range(0..100) {
        0..=88 => p.gender.to_string(),
        89..=97 => String::new(),
        _ => {
            if p.gender == "M" {
                "F".into()
            } else {
                "M".into()
            }
        }
    };
    Row { given, family, aliases: aliases.join("|"), year: year.map(|y| y.to_string()).unwrap_or_default(), date, gender }
}

// ---------------------------------------------------------------------------
// Public API

/// Which kind of records to invent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// Street records: namesakes, given-name-only records with estimated
    /// ages, swapped and misspelled names, phones on one record in eight.
    #[default]
    Street,
    /// The earlier generator (kept for comparisons over time).
    Classic,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        match s {
            "street" => Ok(Profile::Street),
            "classic" => Ok(Profile::Classic),
            other => Err(format!("unknown profile '{other}' (street, classic)")),
        }
    }
}

/// Generation settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub records: usize,
    pub seed: u64,
    pub profile: Profile,
    /// Street profile: target share of different people among the pairs of
    /// records that agree exactly on given and family name.
    pub namesake_share: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options { records: 10_000, seed: 1, profile: Profile::Street, namesake_share: 0.5 }
    }
}

/// One invented record; empty strings are missing values. `entity` is the truth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthRecord {
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    /// Nicknames separated by `|`.
    pub aliases: String,
    pub birth_year: String,
    /// An estimated age in years, given on `recorded_on`.
    pub age: String,
    /// The date the record was typed (YYYY-MM-DD).
    pub recorded_on: String,
    pub phone: String,
    pub birth_date: String,
    pub gender: String,
    pub entity: usize,
}

/// CSV columns, in order (the last one, `entity`, is the truth).
pub const COLUMNS: [&str; 11] = ["id", "given_name", "family_name", "aliases", "birth_year", "age", "recorded_on", "phone", "birth_date", "gender", "entity"];

impl SynthRecord {
    /// As an engine record (every column but `entity`).
    pub fn to_record(&self) -> crate::Record {
        let mut r = crate::Record::new(self.id.clone());
        for (k, v) in [
            ("given_name", &self.given_name),
            ("family_name", &self.family_name),
            ("aliases", &self.aliases),
            ("birth_year", &self.birth_year),
            ("age", &self.age),
            ("recorded_on", &self.recorded_on),
            ("phone", &self.phone),
            ("birth_date", &self.birth_date),
            ("gender", &self.gender),
        ] {
            if !v.is_empty() {
                r = r.with(k, v.as_str());
            }
        }
        r
    }
    fn cells(&self) -> [String; 11] {
        [
            self.id.clone(),
            self.given_name.clone(),
            self.family_name.clone(),
            self.aliases.clone(),
            self.birth_year.clone(),
            self.age.clone(),
            self.recorded_on.clone(),
            self.phone.clone(),
            self.birth_date.clone(),
            self.gender.clone(),
            format!("e{}", self.entity),
        ]
    }
}

/// Write records as CSV with a header line ([`COLUMNS`]).
pub fn write_csv<W: std::io::Write>(rows: &[SynthRecord], out: W) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for r in rows {
        w.write_record(r.cells())?;
    }
    w.flush()?;
    Ok(())
}

/// Records per person: mostly one, some people met many times.
fn copies(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..100) {
        0..=54 => 1,
        55..=79 => 2,
        80..=91 => 3,
        92..=97 => 4,
        _ => rng.gen_range(5..=8),
    }
}

/// Invent records (see [`Profile`]). Ids are `r0`, `r1`… in a shuffled order.
pub fn generate(opts: &Options) -> Vec<SynthRecord> {
    let mut rows = match opts.profile {
        Profile::Classic => classic(opts.records, opts.seed),
        Profile::Street => street_calibrated(opts.records, opts.seed, opts.namesake_share),
    };
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
    rows.shuffle(&mut rng);
    for (i, r) in rows.iter_mut().enumerate() {
        r.id = format!("r{i}");
    }
    rows
}

fn classic(n: usize, seed: u64) -> Vec<SynthRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n);
    let mut entity = 0usize;
    while rows.len() < n {
        let p = person(&mut rng);
        let k = copies(&mut rng);
        for j in 0..k.min(n - rows.len()) {
            let r = record(&p, &mut rng, j == 0);
            rows.push(SynthRecord {
                given_name: r.given,
                family_name: r.family,
                aliases: r.aliases,
                birth_year: r.year,
                birth_date: r.date,
                gender: r.gender,
                entity,
                ..Default::default()
            });
        }
        entity += 1;
    }
    rows
}

/// Pairs of records agreeing exactly on given and family name (after
/// normalisation): (same person, different people).
pub fn exact_name_pairs(rows: &[SynthRecord]) -> (u64, u64) {
    use std::collections::HashMap;
    let mut by_name: HashMap<(String, String), HashMap<usize, u64>> = HashMap::new();
    for r in rows {
        let g = crate::normalize::normalize(&r.given_name).replace(' ', "");
        let f = crate::normalize::normalize(&r.family_name).replace(' ', "");
        if g.is_empty() || f.is_empty() {
            continue;
        }
        *by_name.entry((g, f)).or_default().entry(r.entity).or_insert(0) += 1;
    }
    let (mut same, mut all) = (0u64, 0u64);
    for ents in by_name.values() {
        let k: u64 = ents.values().sum();
        all += k * (k.saturating_sub(1)) / 2;
        same += ents.values().map(|c| c * c.saturating_sub(1) / 2).sum::<u64>();
    }
    (same, all - same)
}

fn street_calibrated(n: usize, seed: u64, target: f64) -> Vec<SynthRecord> {
    let share = |rows: &[SynthRecord]| {
        let (same, diff) = exact_name_pairs(rows);
        if same + diff == 0 {
            0.0
        } else {
            diff as f64 / (same + diff) as f64
        }
    };
    let full = street(n, seed, 1.0);
    if share(&full) <= target {
        COMMON_SHARE.store(1000, std::sync::atomic::Ordering::Relaxed);
        return full;
    }
    // The share of namesakes grows with the share of common names: bisect.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut best = full;
    for _ in 0..9 {
        let mid = (lo + hi) / 2.0;
        let rows = street(n, seed, mid);
        if share(&rows) > target {
            hi = mid;
        } else {
            lo = mid;
            best = rows;
        }
    }
    if lo == 0.0 {
        best = street(n, seed, 0.0);
    }
    COMMON_SHARE.store((lo * 1000.0).round() as u32, std::sync::atomic::Ordering::Relaxed);
    best
}

static COMMON_SHARE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Street profile: share of people given common names by the last
/// calibration (0 to 1).
pub fn last_common_share() -> f64 {
    COMMON_SHARE.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1000.0
}

struct StreetPerson {
    given: Vec<String>,
    family: Vec<String>,
    nicknames: Vec<String>,
    year: i32,
    month: u32,
    day: u32,
    gender: &'static str,
    phone: Option<String>,
}

/// Zipf-like weights (1/rank).
fn zipf(n: usize) -> rand::distributions::WeightedIndex<f64> {
    rand::distributions::WeightedIndex::new((0..n).map(|i| 1.0 / (i as f64 + 1.0))).expect("non-empty list")
}

struct Common {
    male: Vec<Vec<String>>,
    female: Vec<Vec<String>>,
    family: Vec<Vec<String>>,
    zm: rand::distributions::WeightedIndex<f64>,
    zf: rand::distributions::WeightedIndex<f64>,
    zfam: rand::distributions::WeightedIndex<f64>,
}

fn common_names() -> Common {
    let to = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let male: Vec<Vec<String>> = GIVEN_M.iter().map(|g| to(g)).collect();
    let female: Vec<Vec<String>> = GIVEN_F.iter().map(|g| to(g)).collect();
    let mut family: Vec<Vec<String>> = FAMILY_GROUPS.iter().map(|g| to(g)).collect();
    family.extend(FRENCH.iter().map(|f| vec![f.to_string(), strip_accents(f)]));
    // A fixed rank order mixing origins (the same for every seed).
    let mut order_rng = StdRng::seed_from_u64(18);
    family.shuffle(&mut order_rng);
    Common { zm: zipf(male.len()), zf: zipf(female.len()), zfam: zipf(family.len()), male, female, family }
}

fn syllable(rng: &mut StdRng) -> String {
    format!("{}{}", ONSETS.choose(rng).unwrap_or(&"m"), NUCLEI.choose(rng).unwrap_or(&"a"))
}

fn rare_family(rng: &mut StdRng) -> Vec<String> {
    let base = match rng.gen_range(0..10) {
        0..=1 => {
            let p = PREF_AR.choose(rng).unwrap_or(&"");
            let r = format!("{}{}", ROOTS_AR.choose(rng).unwrap_or(&"kaci"), syllable(rng));
            if p.ends_with(' ') || p.is_empty() {
                format!("{p}{}", cap(&r))
            } else {
                cap(&format!("{}{r}", p.to_lowercase()))
            }
        }
        2..=3 => cap(&format!("{}{}{}", ROOTS_RO.choose(rng).unwrap_or(&"pop"), syllable(rng), SUF_RO.choose(rng).unwrap_or(&"escu"))),
        4..=5 => cap(&format!("{}{}{}", ROOTS_SL.choose(rng).unwrap_or(&"koval"), syllable(rng), SUF_SL.choose(rng).unwrap_or(&"enko"))),
        _ => {
            let mut s = syllable_name(rng);
            if rng.gen_bool(0.5) {
                s.push_str(&syllable(rng));
            }
            s
        }
    };
    let mut g = vec![base.clone()];
    for _ in 0..2 {
        g.push(translit_variant(&base, rng));
    }
    if base.contains(' ') {
        g.push(base.replace(' ', ""));
    }
    g
}

fn street_person(rng: &mut StdRng, common: &Common, alpha: f64) -> StreetPerson {
    use rand::distributions::Distribution;
    let male = rng.gen_bool(0.7);
    let u_given: f64 = rng.gen();
    let u_family: f64 = rng.gen();
    let given = if u_given < alpha {
        if male {
            common.male[common.zm.sample(rng)].clone()
        } else {
            common.female[common.zf.sample(rng)].clone()
        }
    } else {
        let b = syllable_name(rng);
        vec![b.clone(), translit_variant(&b, rng)]
    };
    let family = if u_family < alpha { common.family[common.zfam.sample(rng)].clone() } else { rare_family(rng) };
    let n_nick = match rng.gen_range(0..100) {
        0..=44 => 0,
        45..=84 => 1,
        _ => 2,
    };
    let nicknames = (0..n_nick)
        .map(|_| {
            if rng.gen_bool(0.3) {
                NICKNAMES.choose(rng).unwrap_or(&"Momo").to_string()
            } else {
                let mut s = syllable_name(rng);
                if rng.gen_bool(0.5) {
                    s = format!("{} {s}", ["Le", "La", "Petit", "Grand", "Tonton", "P'tit"].choose(rng).unwrap_or(&"Le"));
                }
                s
            }
        })
        .collect();
    let phone = rng.gen_bool(0.28).then(|| format!("0{}{:08}", [6, 7].choose(rng).unwrap_or(&6), rng.gen_range(0..100_000_000u32)));
    StreetPerson {
        given,
        family,
        nicknames,
        year: rng.gen_range(1950..=2006),
        month: rng.gen_range(1..=12),
        day: rng.gen_range(1..=28),
        gender: if male { "M" } else { "F" },
        phone,
    }
}

/// A name as one team typed it.
fn street_name(group: &[String], rng: &mut StdRng) -> String {
    let mut s = if rng.gen_bool(0.5) { group[0].clone() } else { group.choose(rng).unwrap_or(&group[0]).clone() };
    if rng.gen_bool(0.12) {
        s = translit_variant(&s, rng);
    }
    if rng.gen_bool(0.08) {
        s = typo(&s, rng);
    }
    if rng.gen_bool(0.35) {
        s = strip_accents(&s);
    }
    if rng.gen_bool(0.25) {
        s = s.to_uppercase();
    } else if rng.gen_bool(0.05) {
        s = s.to_lowercase();
    }
    s
}

/// A spelling that differs from what was heard ("Yassine" / "Yacine").
fn misspelled(group: &[String], rng: &mut StdRng) -> String {
    let s = street_name(group, rng);
    let t = translit_variant(&s, rng);
    if t.to_lowercase() != s.to_lowercase() && rng.gen_bool(0.7) {
        t
    } else {
        typo(&s, rng)
    }
}

fn phone_as_typed(p: &str, rng: &mut StdRng) -> String {
    let mut digits: Vec<char> = p.chars().collect();
    if rng.gen_bool(0.03) {
        let i = rng.gen_range(2..digits.len());
        digits[i] = char::from(b'0' + rng.gen_range(0..10u8));
    }
    let d: String = digits.into_iter().collect();
    match rng.gen_range(0..3) {
        0 => d,
        1 => d.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" "),
        _ => d.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("."),
    }
}

fn street_record(p: &StreetPerson, rng: &mut StdRng, entity: usize) -> SynthRecord {
    #[derive(PartialEq)]
    enum Kind {
        Full,
        GivenOnly,
        NicknameOnly,
        Swapped,
        FamilyOnly,
    }
    let kind = match rng.gen_range(0..100) {
        0..=11 => Kind::GivenOnly,
        12..=19 if !p.nicknames.is_empty() => Kind::NicknameOnly,
        20..=29 => Kind::Swapped,
        30..=32 => Kind::FamilyOnly,
        _ => Kind::Full,
    };
    let (given, family) = match kind {
        Kind::Full => (street_name(&p.given, rng), street_name(&p.family, rng)),
        Kind::GivenOnly => (street_name(&p.given, rng), String::new()),
        Kind::FamilyOnly => (String::new(), street_name(&p.family, rng)),
        Kind::NicknameOnly => (String::new(), String::new()),
        // Family name in the given-name box and the reverse, both misheard.
        Kind::Swapped => (misspelled(&p.family, rng), misspelled(&p.given, rng)),
    };
    let mut aliases: Vec<String> = Vec::new();
    for n in &p.nicknames {
        // The name people go by on the street: most teams write it down.
        if kind == Kind::NicknameOnly || rng.gen_bool(0.65) {
            aliases.push(if rng.gen_bool(0.05) { typo(n, rng) } else { n.clone() });
        }
    }
    // When the record was typed; ages are estimated on that day.
    let (ry, rm, rd) = (rng.gen_range(2018..=2025), rng.gen_range(1..=12u32), rng.gen_range(1..=28u32));
    let true_age = ry - p.year - i32::from((rm, rd) < (p.month, p.day));
    let which = rng.gen_range(0..100);
    let (year_share, age_share) = match kind {
        Kind::GivenOnly => (0, 90),
        Kind::NicknameOnly => (20, 60),
        _ => (45, 40),
    };
    let mut birth_year = String::new();
    let mut age = String::new();
    let mut birth_date = String::new();
    if which < year_share {
        let y = match rng.gen_range(0..100) {
            0..=74 => p.year,
            75..=94 => p.year + if rng.gen_bool(0.5) { 1 } else { -1 },
            _ => p.year + rng.gen_range(-3..=3),
        };
        birth_year = y.to_string();
        if y == p.year && rng.gen_bool(0.15) {
            birth_date = format!("{:02}/{:02}/{:04}", p.day, p.month, p.year);
        }
    } else if which < year_share + age_share {
        let err = if rng.gen_bool(0.5) { rng.gen_range(-5..=5) } else { rng.gen_range(-2..=2) };
        age = (true_age + err).max(15).to_string();
    }
    let gender = match rng.gen_range(0..100) {
        0..=91 => p.gender.to_string(),
        92..=97 => String::new(),
        _ => if p.gender == "M" { "F" } else { "M" }.to_string(),
    };
    let phone = match &p.phone {
        Some(ph) if rng.gen_bool(0.45) => phone_as_typed(ph, rng),
        _ => String::new(),
    };
    SynthRecord {
        id: String::new(),
        given_name: given,
        family_name: family,
        aliases: aliases.join("|"),
        birth_year,
        age,
        recorded_on: format!("{ry:04}-{rm:02}-{rd:02}"),
        phone,
        birth_date,
        gender,
        entity,
    }
}

/// Street records with a share `alpha` of people bearing common names.
fn street(n: usize, seed: u64, alpha: f64) -> Vec<SynthRecord> {
    let common = common_names();
    let mut rows = Vec::with_capacity(n);
    let mut entity = 0usize;
    while rows.len() < n {
        // One generator per person: changing `alpha` changes the names of
        // the people it concerns only.
        let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ entity as u64);
        let k = copies(&mut rng);
        let p = street_person(&mut rng, &common, alpha);
        for _ in 0..k.min(n - rows.len()) {
            rows.push(street_record(&p, &mut rng, entity));
        }
        entity += 1;
    }
    rows
}
