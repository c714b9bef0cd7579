//! The partner directory's own vocabulary (data·inclusion's are read from its
//! schema files at run time and stay text).

crate::codes!(
    /// How much room a service has, as an organisation last said it (veille's
    /// own field, set by hand; not in data·inclusion).
    Capacity {
        /// Not said.
        Unknown = "unknown",
        /// Room available.
        Available = "available",
        /// Little room left.
        Limited = "limited",
        /// Full.
        Full = "full",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_codes_are_the_stored_ones() {
        assert_eq!(Capacity::codes(), vec!["unknown", "available", "limited", "full"]);
        assert_eq!(Capacity::from_code("limited"), Some(Capacity::Limited));
        assert_eq!(Capacity::from_code("nope"), None);
    }
}
