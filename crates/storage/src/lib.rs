//! One query layer for SQLite and PostgreSQL.
//!
//! Queries are written once in portable SQL with `$1` placeholders and run
//! through sqlx's `Any` driver; the engine is chosen from the URL scheme
//! ([`Backend::from_url`]). Where the SQL must differ it branches in one
//! visible place on [`Db::backend`].

pub mod accounts;
pub mod actions;
pub mod audit;
pub mod backup;
pub mod bulk;
pub mod cases;
pub mod db;
pub mod directory;
pub mod encounters;
pub mod error;
pub mod field_keys;
pub mod figures;
pub mod imports;
pub mod logbooks;
pub mod meetings;
pub mod neighbourhood;
pub mod on_call;
pub mod organisations;
pub mod outbox;
pub mod people;
pub mod personal;
pub mod referrals;
pub mod reports;
pub mod retention;
pub mod rounds;
pub mod scope;
pub mod services;
pub mod sessions;
pub mod shelter;
pub mod sites;
pub mod sql;
pub mod sync;
pub mod teams;
pub mod territories;
pub mod timeline;
pub mod tokens;

pub use db::{Backend, Db, Tx};
pub use error::StorageError;
pub use scope::Scope;
pub use sqlx;
