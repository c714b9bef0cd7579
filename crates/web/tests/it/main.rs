//! veille's integration suite: one binary, the real application in process, a
//! real database (SQLite or PostgreSQL: VEILLE_TEST_DATABASE).

mod access;
mod audit;
mod entry_points;
mod auth;
mod directory;
mod helpers;
mod mail;
mod matrix;
mod people;
mod reports;
mod rounds;
mod sites;
mod reports_intake;
mod storage;
mod territories;
mod text_input;
