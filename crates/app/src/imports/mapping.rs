//! Which column of a spreadsheet fills which field: by default from the
//! header's words, in French or English, whatever the accents and the case
//! ("Année de naissance", "annee naissance" and "Birth year" all fill
//! `birth_year`); a mapping given by the user (`column=field`, the page's
//! choices, `column=-` to leave a column out) comes first. The coded values of
//! a cell are read the same way: a code, or its label in either language.

use std::collections::BTreeMap;

use crate::Lang;

/// A field an import fills, and the headers that name it by default
/// (written already normalised: see [`normalise`]).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The field's name (`--map column=<name>`).
    pub name: &'static str,
    /// Headers naming it.
    pub headers: &'static [&'static str],
}

const fn f(name: &'static str, headers: &'static [&'static str]) -> Field {
    Field { name, headers }
}

/// The external id every kind accepts: a stable id of the line in the tool it comes from.
const EXTERNAL_ID: Field = f(
    "external_id",
    &[
        "external id",
        "id",
        "identifiant",
        "identifiant externe",
        "ref",
        "reference",
        "numero",
        "no",
        "n",
        "numero dossier",
        "no dossier",
        "n dossier",
        "dossier",
    ],
);

/// The fields of a people import.
pub const PEOPLE: &[Field] = &[
    EXTERNAL_ID,
    f("pseudonym", &["pseudonym", "pseudonyme", "pseudo", "surnom", "nickname"]),
    f("aliases", &["aliases", "alias", "autres noms", "other names"]),
    f("civil_family_name", &["civil family name", "nom", "nom de famille", "nom d usage", "family name", "last name", "surname", "name"]),
    f("civil_given_name", &["civil given name", "prenom", "prenoms", "given name", "first name"]),
    f(
        "birth_year",
        &[
            "birth year",
            "annee de naissance",
            "annee naissance",
            "date de naissance",
            "date naissance",
            "ne e en",
            "year of birth",
            "date of birth",
            "birth date",
        ],
    ),
    f("age", &["age", "age approximatif", "approximate age"]),
    f("age_band", &["age band", "tranche d age", "tranche age"]),
    f("gender", &["gender", "genre", "sexe", "sex"]),
    f("phone", &["phone", "telephone", "tel", "portable", "mobile", "numero de telephone", "phone number"]),
    f("languages", &["languages", "langues", "langue", "langues parlees", "language"]),
    f("nationality", &["nationality", "nationalite"]),
    f("situation", &["situation", "situation actuelle", "situation d hebergement", "housing situation"]),
    f("needs", &["needs", "besoins", "besoin"]),
    f("vulnerabilities", &["vulnerabilities", "vulnerabilites", "vulnerabilite"]),
    f("territory", &["territory", "territoire", "secteur", "arrondissement"]),
    f("consent", &["consent", "consentement", "consentement recueilli"]),
];

/// The fields of an encounters import.
pub const ENCOUNTERS: &[Field] = &[
    EXTERNAL_ID,
    f("at", &["at", "date de rencontre", "date rencontre", "date", "date et heure", "date heure", "encounter date", "date of encounter", "met on"]),
    f("time", &["time", "heure", "heure de rencontre"]),
    f("person", &["person", "personne", "pseudonyme", "pseudonym", "pseudo", "personne rencontree", "person met"]),
    f("person_id", &["person id", "id personne", "identifiant personne", "ref personne", "dossier personne", "person ref"]),
    f("place", &["place", "lieu", "adresse", "lieu de rencontre", "location", "address"]),
    f("lat", &["lat", "latitude"]),
    f("lon", &["lon", "lng", "longitude"]),
    f("unidentified", &["unidentified", "personnes non identifiees", "non identifies", "anonymes", "unidentified people"]),
    f("actions", &["actions", "action", "actes", "prestations"]),
    f("follow_up", &["follow up", "suivi", "suivi a prevoir", "a suivre"]),
    f("follow_up_note", &["follow up note", "suivi a faire", "note de suivi"]),
    f("notes", &["notes", "note", "commentaire", "commentaires", "observations", "comment"]),
];

/// The fields of a sites import (a site, and what was observed there on a date).
pub const SITES: &[Field] = &[
    EXTERNAL_ID,
    f("name", &["name", "nom", "nom du site", "nom du lieu", "site", "lieu"]),
    f("kind", &["kind", "type", "type de lieu", "type de site"]),
    f("lat", &["lat", "latitude"]),
    f("lon", &["lon", "lng", "longitude"]),
    f("address", &["address", "adresse", "acces"]),
    f("land_owner", &["land owner", "proprietaire", "proprietaire du terrain", "foncier"]),
    f("observed_at", &["observed at", "date", "date d observation", "date de passage", "date observation", "observation date"]),
    f("team", &["team", "equipe"]),
    f("people", &["people", "personnes", "nombre de personnes", "nb personnes", "occupants"]),
    f("men", &["men", "hommes"]),
    f("women", &["women", "femmes"]),
    f("minors_0_3", &["minors 0 3", "mineurs 0 3", "enfants 0 3"]),
    f("minors_3_6", &["minors 3 6", "mineurs 3 6", "enfants 3 6"]),
    f("minors_6_12", &["minors 6 12", "mineurs 6 12", "enfants 6 12"]),
    f("minors_12_16", &["minors 12 16", "mineurs 12 16", "enfants 12 16"]),
    f("minors_16_18", &["minors 16 18", "mineurs 16 18", "enfants 16 18"]),
    f("tents", &["tents", "tentes"]),
    f("huts", &["huts", "cabanes", "abris"]),
    f("vehicles", &["vehicles", "vehicules", "caravanes"]),
    f("atmosphere", &["atmosphere", "ambiance"]),
    f("comment", &["comment", "commentaire", "commentaires", "observations"]),
];

/// Lower case, without accents, every run of other characters one space
/// (`"N° d'Année "` → `"n d annee"`).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let plain: &str = match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'î' | 'ï' | 'í' | 'ì' => "i",
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => "o",
            'ù' | 'û' | 'ü' | 'ú' => "u",
            'ç' => "c",
            'ñ' => "n",
            'ÿ' => "y",
            'œ' => "oe",
            'æ' => "ae",
            c if c.is_alphanumeric() => {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
                continue;
            }
            _ => {
                space = true;
                continue;
            }
        };
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        out.push_str(plain);
    }
    out
}

/// What a mapping asked for that cannot be: a column the file does not have,
/// a field the import does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingError {
    /// No such column.
    UnknownColumn(String),
    /// No such field.
    UnknownField(String),
}

impl MappingError {
    /// The message in a language.
    pub fn message(&self, lang: Lang, fields: &[Field]) -> String {
        match self {
            MappingError::UnknownColumn(c) => lang.tf("imports.error.unknown_column", &[("column", c)]),
            MappingError::UnknownField(field) => {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                lang.tf("imports.error.unknown_field", &[("field", field), ("fields", &names.join(", "))])
            }
        }
    }
}

/// The field each column fills (`None`: left out), the user's choices first,
/// then the headers' words; a field is filled by one column only (the first).
pub fn columns(headers: &[String], fields: &'static [Field], chosen: &[(String, String)]) -> Result<Vec<Option<&'static Field>>, MappingError> {
    let normal: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
    let mut out: Vec<Option<&'static Field>> = vec![None; headers.len()];
    let mut decided = vec![false; headers.len()];
    for (column, field) in chosen {
        let wanted = normalise(column);
        let Some(i) = normal.iter().position(|h| *h == wanted) else { return Err(MappingError::UnknownColumn(column.clone())) };
        let field = field.trim();
        decided[i] = true;
        if field.is_empty() || field == "-" {
            continue;
        }
        let Some(f) = fields.iter().find(|f| f.name == field) else { return Err(MappingError::UnknownField(field.to_owned())) };
        out[i] = Some(f);
    }
    for (i, h) in normal.iter().enumerate() {
        if decided[i] || h.is_empty() {
            continue;
        }
        out[i] = fields.iter().find(|f| f.name == h.replace(' ', "_") || f.headers.contains(&h.as_str()));
    }
    // One column a field: the first one wins.
    let mut seen = std::collections::HashSet::new();
    for slot in out.iter_mut() {
        if let Some(f) = slot {
            if !seen.insert(f.name) {
                *slot = None;
            }
        }
    }
    Ok(out)
}

/// The fields of one line: field name → the cell (non-empty), and the header
/// of the column each came from.
pub fn values<'a>(columns: &[Option<&'static Field>], headers: &'a [String], cells: &[String]) -> BTreeMap<&'static str, (String, &'a str)> {
    let mut out = BTreeMap::new();
    for (i, f) in columns.iter().enumerate() {
        if let (Some(f), Some(cell)) = (f, cells.get(i)) {
            if !cell.trim().is_empty() {
                out.insert(f.name, (cell.trim().to_owned(), headers[i].as_str()));
            }
        }
    }
    out
}

/// The code of a cell among `codes`: the code itself, or its label
/// (`<prefix>.<code>` in either catalogue), whatever the accents and case.
/// `None` when nothing matches.
pub fn code_of(cell: &str, codes: &[&'static str], prefix: &str) -> Option<&'static str> {
    let wanted = normalise(cell);
    codes.iter().copied().find(|code| normalise(code) == wanted || [Lang::Fr, Lang::En].iter().any(|l| normalise(&l.t(&format!("{prefix}.{code}"))) == wanted))
}

/// Whether a cell says yes (`oui`, `yes`, `x`, `1`, `vrai`…).
pub fn yes(cell: &str) -> bool {
    matches!(normalise(cell).as_str(), "oui" | "o" | "yes" | "y" | "x" | "1" | "vrai" | "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_the_accents_case_and_language() {
        assert_eq!(normalise(" N° d'Année  de naissance "), "n d annee de naissance");
        let headers: Vec<String> = ["Pseudonyme", "NOM", "Prénom", "Année de naissance", "Âge", "Genre", "Téléphone", "Colonne inconnue", "Surnom"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let cols = columns(&headers, PEOPLE, &[]).unwrap();
        let names: Vec<Option<&str>> = cols.iter().map(|c| c.map(|f| f.name)).collect();
        assert_eq!(
            names,
            vec![
                Some("pseudonym"),
                Some("civil_family_name"),
                Some("civil_given_name"),
                Some("birth_year"),
                Some("age"),
                Some("gender"),
                Some("phone"),
                None,
                None
            ]
        );
        let english: Vec<String> = ["Nickname", "Birth year", "Sex"].iter().map(|s| s.to_string()).collect();
        let cols = columns(&english, PEOPLE, &[]).unwrap();
        assert_eq!(cols.iter().map(|c| c.map(|f| f.name)).collect::<Vec<_>>(), vec![Some("pseudonym"), Some("birth_year"), Some("gender")]);
    }

    #[test]
    fn a_chosen_mapping_comes_first_and_is_checked() {
        let headers: Vec<String> = ["Surnom", "Pseudonyme", "Colonne X"].iter().map(|s| s.to_string()).collect();
        let chosen = vec![("surnom".to_owned(), "aliases".to_owned()), ("colonne x".to_owned(), "-".to_owned())];
        let cols = columns(&headers, PEOPLE, &chosen).unwrap();
        assert_eq!(cols.iter().map(|c| c.map(|f| f.name)).collect::<Vec<_>>(), vec![Some("aliases"), Some("pseudonym"), None]);
        assert_eq!(columns(&headers, PEOPLE, &[("Nope".into(), "pseudonym".into())]).unwrap_err(), MappingError::UnknownColumn("Nope".into()));
        assert_eq!(columns(&headers, PEOPLE, &[("Surnom".into(), "shoe_size".into())]).unwrap_err(), MappingError::UnknownField("shoe_size".into()));
    }

    #[test]
    fn coded_cells_are_read_from_codes_and_labels_in_both_languages() {
        let genders = veille_domain::people::Gender::codes();
        assert_eq!(code_of("Femme", &genders, "people.gender"), Some("woman"));
        assert_eq!(code_of("MAN", &genders, "people.gender"), Some("man"));
        assert_eq!(code_of("woman", &genders, "people.gender"), Some("woman"));
        assert_eq!(code_of("licorne", &genders, "people.gender"), None);
        assert!(yes("Oui") && yes("X") && !yes("non") && !yes(""));
    }
}
