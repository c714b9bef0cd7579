//! veille's integration suite: one binary, the real application in process, a
//! real database (SQLite or PostgreSQL: VEILLE_TEST_DATABASE).
#![allow(clippy::disallowed_methods, reason = "tests and benchmarks set up and inspect databases with SQL of their own")]

mod access;
mod audit;
mod auth;
mod cases;
mod demo;
mod directory;
mod entry_points;
mod exports;
mod field_encryption;
mod figures;
mod figures_duckdb;
mod helpers;
mod imports;
mod mail;
mod matrix;
mod meetings;
mod neighbourhood;
mod on_call;
mod people;
mod planted_markers;
mod privacy_notice;
mod protection;
mod reports;
mod reports_intake;
mod rights;
mod rounds;
mod shelter;
mod sites;
mod storage;
mod sync;
mod territories;
mod text_input;
