//! Reading a spreadsheet as the people who fill it in see it: an XLSX
//! workbook (each sheet, read with calamine) or a CSV file (`,` or `;`
//! separated, UTF-8 or Windows-1252 as Excel writes it), as rows of text
//! cells with the line number the spreadsheet shows. Dates of a workbook
//! become `YYYY-MM-DD` (or `YYYY-MM-DDTHH:MM` with a time), whole numbers lose
//! their `.0`. Pure: nothing here touches the database.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

/// One sheet: its name, its header cells and its lines below the header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sheet {
    /// The sheet's name (the file's name for a CSV file).
    pub name: String,
    /// The header cells, trimmed.
    pub headers: Vec<String>,
    /// Each non-empty line below the header: the line number the spreadsheet
    /// shows (the header is usually line 1) and its cells as text, trimmed.
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Why a file could not be read at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SheetError {
    /// Neither a workbook nor a CSV file that could be read.
    Unreadable(String),
    /// No sheet with a header line.
    Empty,
}

/// Largest file read (bytes).
pub const MAX_BYTES: usize = 50 * 1024 * 1024;

/// Whether the bytes are a workbook (a zip archive, as XLSX files are) or the name says so.
pub fn is_workbook(name: &str, bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || name.to_ascii_lowercase().ends_with(".xlsx")
}

/// Reads every sheet of a workbook, or the one table of a CSV file.
pub fn read(name: &str, bytes: &[u8]) -> Result<Vec<Sheet>, SheetError> {
    if bytes.len() > MAX_BYTES {
        return Err(SheetError::Unreadable(format!("larger than {} MB", MAX_BYTES / 1024 / 1024)));
    }
    let sheets = if is_workbook(name, bytes) { workbook(bytes)? } else { vec![csv_sheet(name, bytes)?] };
    let sheets: Vec<Sheet> = sheets.into_iter().filter(|s| s.headers.iter().any(|h| !h.is_empty())).collect();
    if sheets.is_empty() {
        return Err(SheetError::Empty);
    }
    Ok(sheets)
}

/// A cell of a workbook as text.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.format("%Y-%m-%d").to_string(),
            Some(dt) => dt.format("%Y-%m-%dT%H:%M").to_string(),
            None => d.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

fn workbook(bytes: &[u8]) -> Result<Vec<Sheet>, SheetError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(|e| SheetError::Unreadable(e.to_string()))?;
        let first_line = range.start().map_or(0, |(row, _)| row as usize) + 1;
        let mut lines = range.rows().enumerate().map(|(i, cells)| (first_line + i, cells.iter().map(cell_text).collect::<Vec<_>>()));
        // The header is the first line with something in it.
        let Some((_, headers)) = lines.by_ref().find(|(_, cells)| cells.iter().any(|c| !c.is_empty())) else {
            out.push(Sheet { name, ..Default::default() });
            continue;
        };
        let rows = lines.filter(|(_, cells)| cells.iter().any(|c| !c.is_empty())).collect();
        out.push(Sheet { name, headers, rows });
    }
    Ok(out)
}

/// The text of a CSV file: UTF-8 (without its byte order mark), else
/// Windows-1252 as a French Excel writes it (read as Latin-1, which agrees
/// on every accented letter of French).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}').to_owned(),
        Err(_) => bytes.iter().map(|b| *b as char).collect(),
    }
}

fn csv_sheet(name: &str, bytes: &[u8]) -> Result<Sheet, SheetError> {
    let text = decode(bytes);
    let header = text.lines().next().unwrap_or("");
    let delimiter = if header.matches(';').count() > header.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(text.as_bytes());
    let mut headers = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Unreadable(e.to_string()))?;
        // The line the record's first character is on (the reader's own
        // count may stand on a blank line it skipped).
        let line = record.position().map_or(0, |p| {
            let start = (p.byte() as usize).min(text.len());
            let first = start + text.as_bytes()[start..].iter().take_while(|b| **b == b'\n' || **b == b'\r').count();
            1 + text.as_bytes()[..first].iter().filter(|b| **b == b'\n').count()
        });
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        if !cells.iter().any(|c| !c.is_empty()) {
            continue;
        }
        if headers.is_none() {
            headers = Some(cells);
        } else {
            rows.push((line, cells));
        }
    }
    Ok(Sheet { name: name.to_owned(), headers: headers.unwrap_or_default(), rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_semicolons_and_latin1_is_read_with_its_line_numbers() {
        let bytes: Vec<u8> = b"Pseudonyme;Ann\xe9e de naissance\n\nMomo;1980\nZora;\n".to_vec();
        let sheets = read("export.csv", &bytes).unwrap();
        assert_eq!(sheets[0].headers, vec!["Pseudonyme", "Année de naissance"]);
        assert_eq!(sheets[0].rows, vec![(3, vec!["Momo".to_owned(), "1980".to_owned()]), (4, vec!["Zora".to_owned(), String::new()])]);
    }

    #[test]
    fn a_workbook_is_read_sheet_by_sheet_with_dates_as_text() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("personnes").unwrap();
        sheet.write(0, 0, "Pseudonyme").unwrap();
        sheet.write(0, 1, "Date").unwrap();
        sheet.write(0, 2, "Âge").unwrap();
        sheet.write(1, 0, "Momo").unwrap();
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 3).unwrap();
        sheet.write_with_format(1, 1, &date, &rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy")).unwrap();
        sheet.write(1, 2, 45).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let sheets = read("people.xlsx", &bytes).unwrap();
        assert_eq!(sheets[0].name, "personnes");
        assert_eq!(sheets[0].rows, vec![(2, vec!["Momo".to_owned(), "2026-11-03".to_owned(), "45".to_owned()])]);
        assert!(matches!(read("bad.xlsx", b"PK\x03\x04 not a zip"), Err(SheetError::Unreadable(_))));
    }
}
