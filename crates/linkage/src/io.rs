//! CSV input and output, with errors that name the file and line.

use crate::engine::{Compiled, PreparedSet};
use crate::{BatchResult, Config, Error};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Records read from a CSV file and prepared.
pub struct CsvRecords {
    pub ids: Vec<String>,
    pub prepared: PreparedSet,
}

/// Column names of a CSV file.
pub fn csv_headers(path: &Path) -> Result<Vec<String>, Error> {
    let mut rdr = csv::ReaderBuilder::new().from_path(path).map_err(|e| Error::Data(format!("{}: {}", path.display(), csv_msg(&e))))?;
    let h = rdr.headers().map_err(|e| Error::Data(format!("{}: {}", path.display(), csv_msg(&e))))?;
    Ok(h.iter().map(|s| s.trim().to_string()).collect())
}

fn csv_msg(e: &csv::Error) -> String {
    let line = e.position().map(|p| p.line());
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("expected {expected_len} fields (as in the header), found {len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    };
    match line {
        Some(l) => format!("line {l}: {what}"),
        None => what,
    }
}

/// Compile the config against the columns of the given files (every field
/// must exist in each file).
pub fn compile_for(config: &Config, files: &[&Path]) -> Result<Compiled, Error> {
    let mut common: Option<Vec<String>> = None;
    for f in files {
        let h = csv_headers(f)?;
        if !h.contains(&config.id_field) {
            return Err(Error::Config(format!("{}: no column '{}' (the config's id_field); columns: {}", f.display(), config.id_field, h.join(", "))));
        }
        common = Some(match common {
            None => h,
            Some(c) => c.into_iter().filter(|x| h.contains(x)).collect(),
        });
    }
    Compiled::new(config, common.as_deref())
}

/// Read and prepare all records of a CSV file (in parallel chunks).
pub fn read_csv(compiled: &Compiled, path: &Path, progress: &indicatif::ProgressBar) -> Result<CsvRecords, Error> {
    let ctx = move |m: String| Error::Data(format!("{}: {m}", path.display()));
    let mut rdr = csv::ReaderBuilder::new().from_path(path).map_err(|e| ctx(csv_msg(&e)))?;
    let headers: Vec<String> = rdr.headers().map_err(|e| ctx(csv_msg(&e)))?.iter().map(|s| s.trim().to_string()).collect();
    let col = |f: &str| headers.iter().position(|h| h == f);
    let id_col = col(&compiled.config.id_field).ok_or_else(|| ctx(format!("no column '{}' (the config's id_field)", compiled.config.id_field)))?;
    let cols: Vec<usize> = compiled
        .fields
        .iter()
        .map(|f| col(f).ok_or_else(|| ctx(format!("no column '{f}' (used by the config); columns: {}", headers.join(", ")))))
        .collect::<Result<_, _>>()?;
    // A reader thread parses and checks rows while the chunks already read
    // are prepared in parallel.
    let id_field = compiled.config.id_field.clone();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<csv::StringRecord>, Error>>(2);
    let mut prepared = PreparedSet::new(compiled);
    let ids = std::thread::scope(|scope| -> Result<Vec<String>, Error> {
        let reader = scope.spawn(move || -> Vec<String> {
            let mut ids = Vec::new();
            let mut seen: HashMap<String, u64> = HashMap::new();
            let mut chunk: Vec<csv::StringRecord> = Vec::with_capacity(20_000);
            let mut rec = csv::StringRecord::new();
            loop {
                let more = match rdr.read_record(&mut rec) {
                    Ok(m) => m,
                    Err(e) => {
                        let _ = tx.send(Err(ctx(csv_msg(&e))));
                        return ids;
                    }
                };
                if more {
                    let line = rec.position().map_or(0, |p| p.line());
                    let id = rec.get(id_col).unwrap_or("").trim().to_string();
                    if id.is_empty() {
                        let _ = tx.send(Err(ctx(format!("line {line}: empty id in column '{id_field}'"))));
                        return ids;
                    }
                    if let Some(first) = seen.insert(id.clone(), line) {
                        let _ = tx.send(Err(ctx(format!("line {line}: duplicate id '{id}' (first on line {first})"))));
                        return ids;
                    }
                    ids.push(id);
                    chunk.push(rec.clone());
                }
                if (chunk.len() >= 20_000 || (!more && !chunk.is_empty())) && tx.send(Ok(std::mem::take(&mut chunk))).is_err() {
                    return ids;
                }
                if !more {
                    return ids;
                }
            }
        });
        let mut failure = None;
        for msg in rx {
            match msg {
                Ok(chunk) => {
                    let part: Vec<_> = chunk
                        .par_iter()
                        .map(|r| {
                            let get = |i: usize| r.get(cols[i]).filter(|v| !v.trim().is_empty());
                            compiled.prepare(&get)
                        })
                        .collect();
                    progress.inc(part.len() as u64);
                    prepared.extend(part);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let ids = reader.join().map_err(|_| Error::Data(format!("{}: reader thread failed", path.display())))?;
        match failure {
            Some(e) => Err(e),
            None => Ok(ids),
        }
    })?;
    Ok(CsvRecords { ids, prepared })
}

/// Write kept pairs with their explanation (one column per comparison).
pub fn write_pairs(result: &BatchResult, path: &Path) -> Result<(), Error> {
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    let compiled = result.compiled();
    let mut header = vec!["left_id".to_string(), "right_id".into(), "match_weight".into(), "match_probability".into()];
    header.extend(compiled.comparison_names());
    w.write_record(&header).map_err(|e| Error::Data(e.to_string()))?;
    let labels = compiled.labels();
    let mut row: Vec<String> = Vec::with_capacity(header.len());
    for p in &result.pairs {
        row.clear();
        row.push(result.ids[p.a as usize].clone());
        row.push(result.ids[p.b as usize].clone());
        row.push(format!("{:.3}", p.weight));
        row.push(format!("{:.6}", crate::model::weight_to_probability(p.weight as f64)));
        for (c, l) in labels.iter().enumerate() {
            let lv = crate::engine::level_at(p.pattern, c);
            row.push(if lv == crate::engine::NULL_LEVEL { "null".into() } else { l[lv as usize].clone() });
        }
        w.write_record(&row).map_err(|e| Error::Data(e.to_string()))?;
    }
    w.flush()?;
    Ok(())
}

/// Write `id,cluster_id` for every record.
pub fn write_clusters(result: &BatchResult, threshold: f64, path: &Path) -> Result<(), Error> {
    let labels = result.clusters(threshold);
    let mut w = csv::Writer::from_path(path).map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    w.write_record(["id", "cluster_id"]).map_err(|e| Error::Data(e.to_string()))?;
    for (i, l) in labels.iter().enumerate() {
        w.write_record([&result.ids[i], &result.ids[*l as usize]]).map_err(|e| Error::Data(e.to_string()))?;
    }
    w.flush()?;
    Ok(())
}
