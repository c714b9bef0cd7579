//! Synthetic veille-shaped person records with known truth (column `entity`).
//!
//! Every person is invented: names are drawn from variant groups of many
//! origins and from random syllables. Duplicates carry realistic noise:
//! transliteration variants (Mohamed/Mohammed/Muhammad), compound names
//! written apart or together (Abdelkader/Abd el Kader), accents dropped
//! (Ionuț/Ionut), case, typos, swapped first/last names, nicknames only,
//! approximate birth years, transposed day/month, missing fields.
//!
//! `linkage-synth --records 100000 --seed 1 --output synth.csv`

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::io::Write;

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
    veille_linkage::normalize::normalize(s).split(' ').map(cap).collect::<Vec<_>>().join(" ")
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

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut n: usize = 10_000;
    let mut seed: u64 = 1;
    let mut out: Option<String> = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--records" => {
                n = args.get(i + 1).ok_or_else(|| anyhow::anyhow!("--records needs a value"))?.parse()?;
                i += 1;
            }
            "--seed" => {
                seed = args.get(i + 1).ok_or_else(|| anyhow::anyhow!("--seed needs a value"))?.parse()?;
                i += 1;
            }
            "--output" => {
                out = Some(args.get(i + 1).ok_or_else(|| anyhow::anyhow!("--output needs a value"))?.clone());
                i += 1;
            }
            "-h" | "--help" => {
                println!("linkage-synth [--records N] [--seed S] [--output FILE.csv]\nSynthetic person records; column `entity` is the truth.");
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
        i += 1;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout()),
    };
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(sink));
    w.write_record(["id", "given_name", "family_name", "aliases", "birth_year", "birth_date", "gender", "entity"])?;
    let mut written = 0usize;
    let mut entity = 0usize;
    let mut rows: Vec<(usize, Row)> = Vec::with_capacity(n);
    while written < n {
        let p = person(&mut rng);
        let k = match rng.gen_range(0..100) {
            0..=54 => 1,
            55..=79 => 2,
            80..=91 => 3,
            92..=97 => 4,
            _ => rng.gen_range(5..=8),
        };
        for j in 0..k.min(n - written) {
            rows.push((entity, record(&p, &mut rng, j == 0)));
            written += 1;
        }
        entity += 1;
    }
    // Shuffle so duplicates are not adjacent; ids carry no truth.
    rows.shuffle(&mut rng);
    for (idx, (e, r)) in rows.iter().enumerate() {
        w.write_record([format!("r{idx}").as_str(), &r.given, &r.family, &r.aliases, &r.year, &r.date, &r.gender, format!("e{e}").as_str()])?;
    }
    w.flush()?;
    Ok(())
}
