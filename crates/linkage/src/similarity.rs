//! String similarity functions on short byte strings (names are ASCII after
//! normalisation; other bytes are compared as they are).

/// Jaro similarity in [0, 1].
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    if a.len() <= 64 && b.len() <= 64 {
        jaro_bits(a, b)
    } else {
        jaro_flags(a, b)
    }
}

thread_local! {
    /// Per byte value, the positions it holds in the second string (cleared
    /// after each use).
    static POSITIONS: std::cell::RefCell<[u64; 256]> = const { std::cell::RefCell::new([0; 256]) };
}

fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

fn jaro_score(la: usize, lb: usize, matches: usize, transpositions: usize) -> f64 {
    let m = matches as f64;
    (m / la as f64 + m / lb as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// Jaro of two non-empty strings of at most 64 bytes, with bit sets: each
/// byte of `a` takes the first free equal byte of `b` in its window, as
/// [`jaro_flags`] does, found with a mask instead of a scan.
fn jaro_bits(a: &[u8], b: &[u8]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    let window = (la.max(lb) / 2).saturating_sub(1);
    POSITIONS.with_borrow_mut(|pm| {
        for (j, &c) in b.iter().enumerate() {
            pm[c as usize] |= 1u64 << j;
        }
        let (mut used_a, mut used_b) = (0u64, 0u64);
        for (i, &c) in a.iter().enumerate() {
            let lo = i.saturating_sub(window);
            let hi = (i + window + 1).min(lb);
            let free = pm[c as usize] & low_bits(hi) & !low_bits(lo) & !used_b;
            if free != 0 {
                used_b |= free & free.wrapping_neg();
                used_a |= 1u64 << i;
            }
        }
        for &c in b {
            pm[c as usize] = 0;
        }
        let matches = used_a.count_ones() as usize;
        if matches == 0 {
            return 0.0;
        }
        let mut t = 0;
        while used_a != 0 {
            if a[used_a.trailing_zeros() as usize] != b[used_b.trailing_zeros() as usize] {
                t += 1;
            }
            used_a &= used_a - 1;
            used_b &= used_b - 1;
        }
        jaro_score(la, lb, matches, t)
    })
}

/// Jaro of two non-empty, different strings of any length.
fn jaro_flags(a: &[u8], b: &[u8]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    let window = (la.max(lb) / 2).saturating_sub(1);
    let mut fa = vec![false; la];
    let mut fb = vec![false; lb];
    let mut matches = 0usize;
    for i in 0..la {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(lb);
        for j in lo..hi {
            if !fb[j] && a[i] == b[j] {
                fa[i] = true;
                fb[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for i in 0..la {
        if fa[i] {
            while !fb[k] {
                k += 1;
            }
            if a[i] != b[k] {
                t += 1;
            }
            k += 1;
        }
    }
    jaro_score(la, lb, matches, t)
}

/// Jaro-Winkler similarity in [0, 1] (prefix scale 0.1, prefix up to 4).
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let j = jaro(a, b);
    let prefix = a.iter().zip(b.iter()).take(4).take_while(|(x, y)| x == y).count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

/// Damerau-Levenshtein distance (optimal string alignment: adjacent
/// transpositions count 1, no substring edited twice).
pub fn damerau_levenshtein(a: &[u8], b: &[u8]) -> usize {
    let (la, lb) = (a.len(), b.len());
    if la == 0 {
        return lb;
    }
    if lb == 0 {
        return la;
    }
    // Three rolling rows; on the stack for names.
    let mut small = [[0usize; 65]; 3];
    let mut heap;
    let rows: &mut [Vec<usize>];
    let mut r0: &mut [usize];
    let mut r1: &mut [usize];
    let mut r2: &mut [usize];
    if lb < 65 {
        let [x, y, z] = &mut small;
        r0 = &mut x[..=lb];
        r1 = &mut y[..=lb];
        r2 = &mut z[..=lb];
    } else {
        heap = vec![vec![0usize; lb + 1], vec![0usize; lb + 1], vec![0usize; lb + 1]];
        rows = &mut heap[..];
        let (x, rest) = rows.split_at_mut(1);
        let (y, z) = rest.split_at_mut(1);
        r0 = &mut x[0][..];
        r1 = &mut y[0][..];
        r2 = &mut z[0][..];
    }
    // r0 = row i-2, r1 = row i-1, r2 = row i
    for (j, v) in r1.iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=la {
        r2[0] = i;
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (r1[j] + 1).min(r2[j - 1] + 1).min(r1[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(r0[j - 2] + 1);
            }
            r2[j] = v;
        }
        std::mem::swap(&mut r0, &mut r1);
        std::mem::swap(&mut r1, &mut r2);
    }
    r1[lb]
}

/// Soft token-set similarity: every token is matched to its most similar
/// token on the other side (Jaro-Winkler), averaged over both sides.
/// Order does not matter ("ben ali mohamed" vs "mohamed benali" scores high
/// once particles are glued), extra tokens lower the score gently.
pub fn token_set(a: &[&str], b: &[&str]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let best = |t: &&str, other: &[&str]| -> f64 { other.iter().map(|o| jaro_winkler(t.as_bytes(), o.as_bytes())).fold(0.0, f64::max) };
    let sa: f64 = a.iter().map(|t| best(t, b)).sum();
    let sb: f64 = b.iter().map(|t| best(t, a)).sum();
    // The smaller side weighs as much as the larger one: a name written in
    // full on one record and in part on the other still scores well.
    0.5 * (sa / a.len() as f64) + 0.5 * (sb / b.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-3
    }

    #[test]
    fn jaro_winkler_reference_values() {
        assert!(close(jaro(b"martha", b"marhta"), 0.944));
        assert!(close(jaro_winkler(b"martha", b"marhta"), 0.961));
        assert!(close(jaro_winkler(b"dwayne", b"duane"), 0.84));
        assert!(close(jaro_winkler(b"dixon", b"dicksonx"), 0.813));
        assert_eq!(jaro_winkler(b"", b""), 1.0);
        assert_eq!(jaro_winkler(b"abc", b""), 0.0);
        assert_eq!(jaro_winkler(b"abc", b"xyz"), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn jaro_with_bit_sets_is_jaro(a in "[a-e]{1,64}", b in "[a-e]{1,64}") {
            let (a, b) = (a.as_bytes(), b.as_bytes());
            proptest::prop_assert_eq!(jaro_bits(a, b), jaro_flags(a, b));
            proptest::prop_assert_eq!(jaro_bits(b, a), jaro_flags(b, a));
        }
    }

    #[test]
    fn damerau_levenshtein_reference_values() {
        assert_eq!(damerau_levenshtein(b"ca", b"ac"), 1);
        assert_eq!(damerau_levenshtein(b"kitten", b"sitting"), 3);
        assert_eq!(damerau_levenshtein(b"mohamed", b"mohammed"), 1);
        assert_eq!(damerau_levenshtein(b"", b"abc"), 3);
        assert_eq!(damerau_levenshtein(b"ionut", b"inout"), 1);
        assert_eq!(damerau_levenshtein(b"abcdef", b"badcfe"), 3);
    }

    #[test]
    fn token_set_ignores_order() {
        let a = ["mohamed", "benali"];
        let b = ["benali", "mohamed"];
        assert!(close(token_set(&a, &b), 1.0));
        let c = ["mohamed"];
        assert!(token_set(&a, &c) > 0.7);
    }
}
