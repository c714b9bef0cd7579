//! Small counts suppressed (decision 84): in every aggregate that leaves an
//! organisation, a count from 1 to `min - 1` is not shown; when a column of
//! a partition (rows that add up to a shown total) has exactly one such
//! cell, the next smallest shown cell of the column is suppressed too, so the
//! total minus the shown cells cannot give it back. Zeros are shown (a zero
//! tells of nobody).

/// A count as shown: `None` when suppressed.
pub type Shown = Option<i64>;

fn small(v: i64, min: i64) -> bool {
    v > 0 && v < min
}

/// Suppresses the small counts of a list of independent cells (no total
/// they add up to).
pub fn cells(values: &mut [Shown], min: i64) {
    for v in values.iter_mut() {
        if v.is_some_and(|x| small(x, min)) {
            *v = None;
        }
    }
}

/// Suppresses the small counts of a partition: `rows` add up to `total`.
/// Returns nothing; cells become `None`.
pub fn partition(rows: &mut [Shown], total: &mut Shown, min: i64) {
    cells(rows, min);
    if total.is_some_and(|t| small(t, min)) {
        *total = None;
    }
    complement(rows, total.is_some());
}

/// When the sum of `cells` is known (`known_sum`) and exactly one of them is
/// suppressed, suppresses the smallest shown cell (a non-zero one first); when
/// no other cell is left the caller must not show the sum (it is the cell).
pub fn complement(cells: &mut [Shown], known_sum: bool) {
    if !known_sum || cells.iter().filter(|c| c.is_none()).count() != 1 {
        return;
    }
    let pick = |nonzero: bool| cells.iter().enumerate().filter_map(|(i, c)| c.filter(|v| !nonzero || *v > 0).map(|v| (v, i))).min().map(|(_, i)| i);
    if let Some(i) = pick(true).or_else(|| pick(false)) {
        cells[i] = None;
    }
}

/// Whether a list passes the rule: no shown cell between 1 and `min - 1`.
pub fn holds(values: &[Shown], min: i64) -> bool {
    values.iter().all(|v| !v.is_some_and(|x| small(x, min)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_small_cell_takes_the_next_smallest_with_it() {
        let mut rows = vec![Some(40), Some(3), Some(12), Some(0)];
        let mut total = Some(55);
        partition(&mut rows, &mut total, 11);
        assert_eq!(rows, vec![Some(40), None, None, Some(0)]);
        assert_eq!(total, Some(55));
    }

    #[test]
    fn two_small_cells_need_no_complement() {
        let mut rows = vec![Some(40), Some(3), Some(5)];
        let mut total = Some(48);
        partition(&mut rows, &mut total, 11);
        assert_eq!(rows, vec![Some(40), None, None]);
    }

    #[test]
    fn a_small_total_is_suppressed_with_its_rows() {
        let mut rows = vec![Some(4), Some(3), Some(0)];
        let mut total = Some(7);
        partition(&mut rows, &mut total, 11);
        assert_eq!((rows, total), (vec![None, None, Some(0)], None));
    }

    #[test]
    fn a_non_zero_count_is_taken_first_and_a_zero_when_none_is_left() {
        // A small total is hidden itself: nothing to complete.
        let mut rows = vec![Some(0), Some(3)];
        let mut total = Some(3);
        partition(&mut rows, &mut total, 11);
        assert_eq!((rows, total), (vec![Some(0), None], None));
        let mut rows = vec![Some(0), None];
        complement(&mut rows, true);
        assert_eq!(rows, vec![None, None]);
        let mut rows = vec![Some(20), Some(0), Some(3)];
        let mut total = Some(23);
        partition(&mut rows, &mut total, 11);
        assert_eq!(rows, vec![None, Some(0), None]);
    }

    #[test]
    fn independent_cells_have_no_complement() {
        let mut v = vec![Some(1), Some(11), Some(0), Some(10)];
        cells(&mut v, 11);
        assert_eq!(v, vec![None, Some(11), Some(0), None]);
        assert!(holds(&v, 11));
        assert!(!holds(&[Some(10)], 11));
    }
}
