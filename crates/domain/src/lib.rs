//! Pure domain types and rules of veille.
//!
//! Nothing in this crate performs I/O. Storage and web crates build on these
//! types; the permission function in [`access`] is the single place that
//! decides who may do what.

pub mod access;
pub mod bind;
pub mod cases;
pub mod codes;
pub mod directory;
pub mod email;
pub mod ids;
pub mod neighbourhood;
pub mod on_call;
pub mod people;
pub mod records;
pub mod reports;
pub mod roles;
pub mod shelter;
pub mod sync;
pub mod time;
pub mod triage;

pub use access::{authorize, Action, Actor, Decision, Reason, Resource, ResourceKind, TerritoryScope};
pub use email::EmailAddress;
pub use ids::*;
pub use roles::{FieldGroup, Role};
pub use time::Timestamp;
