//! Clusters at a threshold: union-find over kept pairs.

/// Union-find with path halving and union by size.
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    pub fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }
    pub fn union(&mut self, a: u32, b: u32) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
    }
}

/// Cluster label of each of `n` records: the smallest record index of its
/// cluster (so labels are stable whatever the pair order).
pub fn clusters(n: usize, pairs: impl IntoIterator<Item = (u32, u32)>) -> Vec<u32> {
    let mut uf = UnionFind::new(n);
    for (a, b) in pairs {
        uf.union(a, b);
    }
    let mut smallest = vec![u32::MAX; n];
    let roots: Vec<u32> = (0..n as u32).map(|i| uf.find(i)).collect();
    for (i, r) in roots.iter().enumerate() {
        let s = &mut smallest[*r as usize];
        *s = (*s).min(i as u32);
    }
    roots.iter().map(|r| smallest[*r as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitive_clusters() {
        let c = clusters(6, [(0, 2), (2, 4), (5, 3)]);
        assert_eq!(c, vec![0, 1, 0, 3, 0, 3]);
    }
}
