//! [`TerritoryIndex`]: which territory contains a point?

use std::cmp::Ordering;

use geo::{BoundingRect, ChamberlainDuquetteArea, Intersects, MultiPolygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use crate::LonLat;

/// An R-tree leaf: a territory's bounding box and its position in `entries`.
type Leaf = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// A territory known to the index.
#[derive(Debug, Clone)]
struct Entry<K> {
    key: K,
    geometry: MultiPolygon<f64>,
    /// Approximate area on the sphere, in m²; used to prefer the smallest of
    /// nested or overlapping territories.
    area_m2: f64,
}

/// A spatial index of territories keyed by `K` (a code, a database id…).
///
/// Candidates are found through an R-tree on bounding boxes, then checked
/// exactly with a point-in-polygon test that counts the boundary as inside.
///
/// When several territories contain a point (nested or overlapping
/// territories, or a point exactly on a shared border), they are ordered by
/// increasing area, then by insertion order: [`TerritoryIndex::locate`]
/// returns the first, [`TerritoryIndex::locate_all`] all of them in that
/// order. The answer is therefore deterministic.
#[derive(Debug, Clone)]
pub struct TerritoryIndex<K> {
    entries: Vec<Entry<K>>,
    tree: RTree<Leaf>,
}

impl<K: Clone> TerritoryIndex<K> {
    /// Builds the index. Empty geometries are kept (they count in
    /// [`len`](Self::len)) but never contain any point.
    pub fn new(items: impl IntoIterator<Item = (K, MultiPolygon<f64>)>) -> Self {
        let entries: Vec<Entry<K>> =
            items.into_iter().map(|(key, geometry)| Entry { area_m2: geometry.chamberlain_duquette_unsigned_area(), key, geometry }).collect();
        let leaves = entries
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                let rect = entry.geometry.bounding_rect()?;
                let corners = Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
                Some(GeomWithData::new(corners, i))
            })
            .collect();
        TerritoryIndex { entries, tree: RTree::bulk_load(leaves) }
    }

    /// The territory containing `point` (the smallest one if several do), or
    /// `None` if none does.
    pub fn locate(&self, point: LonLat) -> Option<&K> {
        self.candidates(point).min_by(|&a, &b| self.order(a, b)).map(|i| &self.entries[i].key)
    }

    /// Every territory containing `point`, smallest first (ties in insertion
    /// order).
    pub fn locate_all(&self, point: LonLat) -> Vec<&K> {
        let mut found: Vec<usize> = self.candidates(point).collect();
        found.sort_by(|&a, &b| self.order(a, b));
        found.into_iter().map(|i| &self.entries[i].key).collect()
    }

    /// Number of territories in the index.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index holds no territory.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Indices of the entries whose geometry contains `point` or has it on
    /// its boundary.
    fn candidates(&self, point: LonLat) -> impl Iterator<Item = usize> + '_ {
        let p = point.point();
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_point([point.lon, point.lat]))
            .map(|leaf| leaf.data)
            .filter(move |&i| self.entries[i].geometry.intersects(&p))
    }

    /// Smaller area first, then insertion order.
    fn order(&self, a: usize, b: usize) -> Ordering {
        self.entries[a].area_m2.total_cmp(&self.entries[b].area_m2).then(a.cmp(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![
            (x: x0, y: y0), (x: x0 + side, y: y0), (x: x0 + side, y: y0 + side), (x: x0, y: y0 + side)
        ]])
    }

    fn ll(lon: f64, lat: f64) -> LonLat {
        LonLat::new(lon, lat).unwrap()
    }

    #[test]
    fn empty_index() {
        let index: TerritoryIndex<&str> = TerritoryIndex::new([]);
        assert!(index.is_empty());
        assert_eq!(index.len(), 0);
        assert_eq!(index.locate(ll(2.0, 48.0)), None);
        assert!(index.locate_all(ll(2.0, 48.0)).is_empty());
    }

    #[test]
    fn nested_prefers_smallest_and_lists_all() {
        let index = TerritoryIndex::new([("big", square(0.0, 0.0, 10.0)), ("small", square(2.0, 2.0, 1.0)), ("empty", MultiPolygon::new(vec![]))]);
        assert_eq!(index.len(), 3);
        assert_eq!(index.locate(ll(2.5, 2.5)), Some(&"small"));
        assert_eq!(index.locate_all(ll(2.5, 2.5)), vec![&"small", &"big"]);
        assert_eq!(index.locate(ll(5.0, 5.0)), Some(&"big"));
        assert_eq!(index.locate(ll(11.0, 5.0)), None);
    }

    #[test]
    fn holes_are_outside() {
        let ring = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 3.0, y: 1.0), (x: 3.0, y: 3.0), (x: 1.0, y: 3.0)]],
        );
        let index = TerritoryIndex::new([(1u32, MultiPolygon::new(vec![ring]))]);
        assert_eq!(index.locate(ll(0.5, 0.5)), Some(&1));
        assert_eq!(index.locate(ll(2.0, 2.0)), None);
    }

    #[test]
    fn shared_border_is_deterministic() {
        // Two equal squares sharing the edge x = 1: the first inserted wins a
        // tie, whatever the order of the R-tree.
        let index = TerritoryIndex::new([("a", square(0.0, 0.0, 1.0)), ("b", square(1.0, 0.0, 1.0))]);
        assert_eq!(index.locate(ll(1.0, 0.5)), Some(&"a"));
        assert_eq!(index.locate_all(ll(1.0, 0.5)), vec![&"a", &"b"]);
        // Shared corner and outer boundary count as inside.
        assert_eq!(index.locate(ll(2.0, 1.0)), Some(&"b"));
        let index = TerritoryIndex::new([("b", square(1.0, 0.0, 1.0)), ("a", square(0.0, 0.0, 1.0))]);
        assert_eq!(index.locate(ll(1.0, 0.5)), Some(&"b"));
        // With unequal areas the smaller wins, whatever the insertion order.
        let index = TerritoryIndex::new([("big", square(1.0, 0.0, 2.0)), ("a", square(0.0, 0.0, 1.0))]);
        assert_eq!(index.locate(ll(1.0, 0.5)), Some(&"a"));
    }
}
