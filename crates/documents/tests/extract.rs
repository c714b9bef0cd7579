//! A PDF of veille-documents read back as a reader's tools read it: pypdf
//! (from .venv, as the integration suite uses it) extracts every block's text
//! in reading order, accents and other alphabets included, across pages.

use veille_documents::Document;

fn text_of(name: &str, pdf: &[u8]) -> String {
    let python = format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    assert!(std::path::Path::new(&python).exists(), "{python} is missing: run `bash scripts/install-deps.sh`");
    let file = std::env::temp_dir().join(format!("veille-documents-{}-{name}.pdf", std::process::id()));
    std::fs::write(&file, pdf).unwrap();
    let script = "import sys, pypdf\nr = pypdf.PdfReader(sys.argv[1])\nprint(len(r.pages))\nprint(r.metadata.title)\nprint('\\n'.join(p.extract_text() for p in r.pages))";
    let out = std::process::Command::new(python).arg("-c").arg(script).arg(&file).output().unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "pypdf: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_block_is_extractable_with_its_accents_and_alphabet() {
    let mut d = Document::new("Compte rendu : réunion des résidents de la rue Pajol", "fr");
    d.facts([("Lieu", "Salle de l'Amicale — 18e arrondissement"), ("Participants", "Amicale des locataires, Équipe de médiation")])
        .heading("Ordre du jour")
        .paragraph("Seringues dans la cour de l'immeuble ; passage de la maraude de réduction des risques le jeudi. Œuvre commune, « à suivre ».")
        .heading("Participants comptés")
        .table(vec!["Public".into(), "Nombre".into()], vec![vec!["riverains et résidents".into(), "14".into()], vec!["commerçants".into(), "3".into()]])
        .paragraph("Noms d'usage d'autres alphabets : Ștefan Țurcanu, Алексей, Γιώργος.")
        .footer("veille · compte rendu");
    let text = text_of("blocks", &d.to_pdf().unwrap());
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("1"), "one page");
    assert_eq!(lines.next(), Some("Compte rendu : réunion des résidents de la rue Pajol"), "the title in the metadata");
    for expected in [
        "Compte rendu : réunion des résidents de la rue Pajol",
        "Salle de l'Amicale — 18e arrondissement",
        "Ordre du jour",
        "Seringues dans la cour",
        "Œuvre commune, « à suivre ».",
        "riverains et résidents",
        "commerçants",
        "Ștefan Țurcanu, Алексей, Γιώργος.",
        "veille · compte rendu",
        "1 / 1",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // Reading order: title, facts, agenda, table, then the last paragraph.
    let at = |s: &str| text.find(s).unwrap();
    assert!(at("Salle de l'Amicale") < at("Ordre du jour") && at("Ordre du jour") < at("commerçants") && at("commerçants") < at("Ștefan"));
}

#[test]
fn a_long_document_runs_over_pages_numbered_and_loses_nothing() {
    let mut d = Document::new("Rapport d'activité", "fr");
    for i in 0..120 {
        d.paragraph(format!("Paragraphe numéro {i} : une maraude de nuit a rencontré des personnes à la rue près de la gare."));
    }
    let rows = (0..80).map(|i| vec![format!("Ligne {i}"), format!("Valeur {i}")]).collect();
    d.table(vec!["Clé".into(), "Valeur".into()], rows);
    let text = text_of("long", &d.to_pdf().unwrap());
    let pages: usize = text.lines().next().unwrap().parse().unwrap();
    assert!(pages >= 4, "{pages} pages");
    assert!(text.contains(&format!("1 / {pages}")) && text.contains(&format!("{pages} / {pages}")));
    for i in [0, 59, 119] {
        assert!(text.contains(&format!("Paragraphe numéro {i} :")), "paragraph {i} missing");
    }
    for i in [0, 40, 79] {
        assert!(text.contains(&format!("Ligne {i}")) && text.contains(&format!("Valeur {i}")), "row {i} missing");
    }
    // The header of a continued table is drawn again on the next page.
    assert!(text.matches("Clé").count() >= 2, "{text}");
}
