//! Writes a sample document as PDF (for looking at the layout): `cargo run -p veille-documents --example sample -- out.pdf`.

fn main() {
    let mut d = veille_documents::Document::new("Compte rendu : Cellule de veille du 18e (démo)", "fr");
    d.facts([
        ("Type", "Cellule de veille"),
        ("Début", "10/12/2026 14:00"),
        ("Lieu", "Mairie du 18e, salle 2"),
        ("Participants", "Côme Coordination (démo), Paz Partenaire (démo), Samu social (démo)"),
    ])
    .heading("Ordre du jour")
    .heading("1. Famille R. (démo), campement du canal")
    .paragraph("Deux enfants scolarisés, pas de domiciliation.\nLa mère a un titre de séjour ; le père est en demande d'asile.")
    .facts([("Décision", "Domiciliation au CCAS avant le 20/12")])
    .heading("2. Situation examinée (détails réservés à l'équipe de la situation)")
    .heading("Participants comptés")
    .table(
        vec!["Public".into(), "Nombre".into(), "Remarque".into()],
        vec![
            vec!["usagers de drogues".into(), "12".into(), "Dont trois nouvelles personnes orientées par la maraude du soir".into()],
            vec!["bénévoles".into(), "2".into(), String::new()],
        ],
    )
    .heading("Évaluation")
    .paragraph("Bonne participation ; Ștefan et Алексей demandent une séance en roumain et en russe.")
    .footer("Cellule de veille du 18e (démo) · 10/12/2026 14:00");
    let out = std::env::args().nth(1).unwrap_or_else(|| "sample.pdf".into());
    std::fs::write(&out, d.to_pdf().expect("pdf")).expect("write");
}
