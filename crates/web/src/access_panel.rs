//! The "who can see this" panel: computed by the application layer.

pub use veille_app::access_panel::{who_can_read, PanelEntry};
