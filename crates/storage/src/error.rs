//! Storage errors.

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL names no engine veille supports.
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedScheme(String),
    /// A named unique constraint was violated (the caller maps it to a form field).
    #[error("unique constraint {0} violated")]
    Conflict(String),
    /// The record changed since it was read (optimistic concurrency).
    #[error("the record was changed by someone else")]
    StaleVersion,
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A stored value could not be read back.
    #[error("corrupt stored value in {0}")]
    Corrupt(&'static str),
    /// Another write held the database for longer than a write waits.
    #[error("the database stayed busy with other writes")]
    Busy,
    /// Durability settings weaker than required.
    #[error("unsafe durability setting: {0}")]
    UnsafeDurability(String),
    /// The audit chain's head does not verify: it is not extended.
    #[error("audit chain: {0}")]
    AuditTampered(String),
    /// A value is sealed with a field key the ring lacks (the id is named,
    /// never the value).
    #[error("a value of a sensitive field group is sealed with field key {0}, which is not among the field keys: restore that key (field key file or VEILLE_FIELD_KEYS)")]
    MissingFieldKey(String),
    /// A field key does not open a value sealed under its id: a wrong key,
    /// or a value altered or moved to another column.
    #[error("field key {key} does not open a sealed value of {place}: wrong key, or the value was altered")]
    FieldKeyRejected {
        /// The key id.
        key: String,
        /// `table.column`.
        place: String,
    },
    /// A sealed value is not in the sealed format.
    #[error("a sealed value of {0} is malformed")]
    CorruptSealed(String),
    /// No field keys were loaded, so sensitive fields can be neither sealed nor opened.
    #[error("no field keys loaded: sensitive field groups cannot be read or written")]
    NoFieldKeys,
    /// A write made on the strength of an API token an instance kept found,
    /// when it checked again, the token revoked or expired, or its account
    /// disabled or changed in role or organisation.
    #[error("the API token no longer holds")]
    TokenWithdrawn,
    /// Any other database error.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    /// Turns a unique-violation database error into [`StorageError::Conflict`]
    /// with the constraint (PostgreSQL) or column list (SQLite) it names.
    pub fn classify(err: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.kind() == sqlx::error::ErrorKind::UniqueViolation {
                let name = db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned());
                return StorageError::Conflict(name);
            }
        }
        StorageError::Database(err)
    }

    /// Whether this is a conflict on a constraint whose name or columns contain `needle`.
    pub fn is_conflict_on(&self, needle: &str) -> bool {
        matches!(self, StorageError::Conflict(name) if name.contains(needle))
    }
}

/// Result alias.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

pub(crate) trait ResultExt<T> {
    fn classify(self) -> Result<T>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn classify(self) -> Result<T> {
        self.map_err(StorageError::classify)
    }
}
