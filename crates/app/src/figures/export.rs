//! The dashboard out of the instance (decision 85): as CSV (one line per
//! cell: group, table, category, period, count), as XLSX (one sheet per
//! group), and the standard activity report of an organisation for a period
//! (a `veille_documents::Document`: printable page and PDF, with a chart per
//! trend). Always built from a dashboard computed for `Audience::Outside`:
//! small counts are suppressed in every one of them.

use veille_documents::Document;

use super::{Cell, Dashboard, Measure, Table};
use crate::error::{Error, Result};
use crate::Lang;

fn measure_text(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
}

/// The dashboard as CSV: `group,table,category,code,period,value` (a
/// suppressed count is written `< 11`).
pub fn to_csv(lang: Lang, d: &Dashboard) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let wrap = |e: csv::Error| Error::from(anyhow::anyhow!("csv: {e}"));
    w.write_record([
        lang.t("figures.csv.group"),
        lang.t("figures.csv.table"),
        lang.t("figures.csv.category"),
        lang.t("figures.csv.code"),
        lang.t("figures.csv.period"),
        lang.t("figures.csv.value"),
    ])
    .map_err(wrap)?;
    let (now, before) = (d.period.label(), d.previous.label());
    for g in &d.groups {
        for m in &g.measures {
            for (p, v) in [(&now, m.current), (&before, m.previous)] {
                w.write_record([&g.title, &lang.t("figures.measures"), &m.label, &m.code, p, &measure_text(v)]).map_err(wrap)?;
            }
        }
        for t in &g.tables {
            for r in t.rows.iter().chain(t.total.iter()) {
                for (p, c) in [(&now, r.current), (&before, r.previous)] {
                    w.write_record([&g.title, &t.title, &r.label, &r.code, p, &c.text(d.min_cell)]).map_err(wrap)?;
                }
            }
        }
    }
    for s in &d.trends {
        for (month, c) in &s.points {
            w.write_record([&lang.t("figures.trends"), &s.title, month, month, month, &c.text(d.min_cell)]).map_err(wrap)?;
        }
    }
    w.into_inner().map_err(|e| Error::from(anyhow::anyhow!("csv: {e}")))
}

/// The dashboard as an XLSX workbook: a first sheet naming the
/// organisation, the periods and the rule, then one sheet per group (its
/// measures, then each table with its period and the one before) and one
/// of trends.
pub fn to_xlsx(lang: Lang, d: &Dashboard) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook, Worksheet};
    let wrap = |e: rust_xlsxwriter::XlsxError| Error::from(anyhow::anyhow!("xlsx: {e}"));
    let sheet_name = |s: &str| -> String { s.chars().filter(|c| !"[]:*?/\\'".contains(*c)).take(31).collect() };
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let about = book.add_worksheet();
    about.set_name(sheet_name(&lang.t("figures.sheet.about")).as_str()).map_err(wrap)?;
    for (i, (k, v)) in about_facts(lang, d).into_iter().enumerate() {
        about.write_string_with_format(i as u32, 0, k, &bold).map_err(wrap)?;
        about.write_string(i as u32, 1, v).map_err(wrap)?;
    }
    let write_cell = |sheet: &mut Worksheet, row: u32, col: u16, c: Cell| -> Result<()> {
        match c.value {
            Some(v) => sheet.write_number(row, col, v as f64).map(|_| ()),
            None => sheet.write_string(row, col, c.text(d.min_cell)).map(|_| ()),
        }
        .map_err(wrap)
    };
    let (now, before) = (d.period.label(), d.previous.label());
    for g in &d.groups {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&g.title).as_str()).map_err(wrap)?;
        sheet.set_column_width(0, 40).map_err(wrap)?;
        let mut row = 0u32;
        sheet.write_string_with_format(row, 0, &g.title, &bold).map_err(wrap)?;
        row += 1;
        if let Some(n) = &g.note {
            sheet.write_string(row, 0, n).map_err(wrap)?;
            row += 1;
        }
        let header = |sheet: &mut Worksheet, row: u32, first: &str| -> Result<()> {
            for (c, h) in [first, now.as_str(), before.as_str()].iter().enumerate() {
                sheet.write_string_with_format(row, c as u16, *h, &bold).map_err(wrap)?;
            }
            Ok(())
        };
        if !g.measures.is_empty() {
            row += 1;
            header(sheet, row, &lang.t("figures.measures"))?;
            row += 1;
            for m in &g.measures {
                sheet.write_string(row, 0, &m.label).map_err(wrap)?;
                for (c, v) in [(1u16, m.current), (2, m.previous)] {
                    match v {
                        Some(x) => sheet.write_number(row, c, x).map_err(wrap)?,
                        None => sheet.write_string(row, c, "—").map_err(wrap)?,
                    };
                }
                row += 1;
            }
        }
        for t in &g.tables {
            row += 1;
            header(sheet, row, &t.title)?;
            row += 1;
            for r in t.rows.iter().chain(t.total.iter()) {
                sheet.write_string(row, 0, &r.label).map_err(wrap)?;
                write_cell(sheet, row, 1, r.current)?;
                write_cell(sheet, row, 2, r.previous)?;
                row += 1;
            }
        }
    }
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(&lang.t("figures.trends")).as_str()).map_err(wrap)?;
    sheet.write_string_with_format(0, 0, lang.t("figures.month"), &bold).map_err(wrap)?;
    for (c, s) in d.trends.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16 + 1, &s.title, &bold).map_err(wrap)?;
        for (r, (month, cell)) in s.points.iter().enumerate() {
            if c == 0 {
                sheet.write_string(r as u32 + 1, 0, month).map_err(wrap)?;
            }
            write_cell(sheet, r as u32 + 1, c as u16 + 1, *cell)?;
        }
    }
    book.save_to_buffer().map_err(wrap)
}

fn about_facts(lang: Lang, d: &Dashboard) -> Vec<(String, String)> {
    vec![
        (lang.t("figures.organisation"), d.organisation_name.clone()),
        (lang.t("figures.period"), d.period.label()),
        (lang.t("figures.previous"), d.previous.label()),
        (lang.t("figures.rule"), lang.tf("figures.rule_text", &[("min", &d.min_cell.to_string())])),
    ]
}

fn table_rows(t: &Table, min: i64) -> Vec<Vec<String>> {
    t.rows.iter().chain(t.total.iter()).map(|r| vec![r.label.clone(), r.current.text(min), r.previous.text(min)]).collect()
}

fn measure_rows(ms: &[Measure]) -> Vec<Vec<String>> {
    ms.iter().map(|m| vec![m.label.clone(), measure_text(m.current), measure_text(m.previous)]).collect()
}

/// The standard activity report of an organisation for a period: who and
/// when, the rule on small counts, then each group's measures and tables
/// with the period before, and the trends as charts with their data.
pub fn activity_report(lang: Lang, d: &Dashboard) -> Document {
    let mut doc = Document::new(lang.tf("figures.report.title", &[("organisation", &d.organisation_name), ("period", &d.period.label())]), lang.code());
    doc.facts(about_facts(lang, d));
    let (now, before) = (d.period.label(), d.previous.label());
    let columns = |first: &str| vec![first.to_owned(), now.clone(), before.clone()];
    for g in &d.groups {
        doc.heading(g.title.clone());
        if let Some(n) = &g.note {
            doc.paragraph(n.clone());
        }
        if !g.measures.is_empty() {
            doc.table(columns(&lang.t("figures.measures")), measure_rows(&g.measures));
        }
        for t in &g.tables {
            doc.table(columns(&t.title), table_rows(t, d.min_cell));
        }
    }
    doc.heading(lang.t("figures.trends"));
    for s in &d.trends {
        doc.chart(s.title.clone(), s.points.iter().map(|(m, c)| (m.clone(), c.value)).collect());
        doc.table(vec![lang.t("figures.month"), s.title.clone()], s.points.iter().map(|(m, c)| vec![m.clone(), c.text(d.min_cell)]).collect());
    }
    doc.footer(lang.tf("figures.report.footer", &[("organisation", &d.organisation_name), ("period", &d.period.label())]));
    doc
}

/// The activity report as a PDF, drawn off the async threads.
pub async fn activity_report_pdf(lang: Lang, d: &Dashboard) -> Result<Vec<u8>> {
    let doc = activity_report(lang, d);
    let pdf = tokio::task::spawn_blocking(move || doc.to_pdf()).await.map_err(|e| anyhow::anyhow!("activity report pdf: {e}"))?;
    Ok(pdf.map_err(|e| anyhow::anyhow!("activity report pdf: {e}"))?)
}
