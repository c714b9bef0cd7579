-- The child-protection guidance of an organisation: what its workers do when
-- they meet a minor alone (empty: the default text of the catalogues).
ALTER TABLE organisations ADD COLUMN child_protection TEXT NOT NULL DEFAULT '';
