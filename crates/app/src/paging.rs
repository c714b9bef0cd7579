//! Pages of the lists that grow with the instance (people, referrals,
//! sites): a list is read one page at a time with its total beside it, never
//! every row, so that a list of 80,000 files answers as fast as one of 80.
//! The page asked for comes from the address (`?page=3`); one past the last
//! shows the last, anything unreadable the first.

use std::future::Future;

use veille_storage::sql::Window;

use crate::error::Result;

/// Lines per page of a list.
pub const PER_PAGE: i64 = 100;

/// A page number as asked for (1 for the first). Unreadable or below 1: the
/// first page.
pub fn page_number(asked: &str) -> i64 {
    asked.trim().parse::<i64>().ok().filter(|n| *n >= 1).unwrap_or(1)
}

/// One page of a list, with the list's total.
#[derive(Clone, Debug)]
pub struct Paged<T> {
    /// The lines of this page, in the list's order.
    pub items: Vec<T>,
    /// This page's number (1 for the first).
    pub page: i64,
    /// Lines per page.
    pub per_page: i64,
    /// Lines in the whole list.
    pub total: i64,
}

impl<T> Paged<T> {
    /// Reads page `asked` of a list of `total` lines, `per_page` at a time:
    /// `read` gets the window to read. A page past the last is the last.
    pub async fn read<F, Fut>(asked: i64, per_page: i64, total: i64, read: F) -> Result<Paged<T>>
    where
        F: FnOnce(Window) -> Fut,
        Fut: Future<Output = Result<Vec<T>>>,
    {
        let per_page = per_page.max(1);
        let last = last_page(total, per_page);
        let page = asked.clamp(1, last);
        let items = if total == 0 { Vec::new() } else { read(Window { offset: (page - 1) * per_page, limit: per_page }).await? };
        Ok(Paged { items, page, per_page, total })
    }

    /// How many pages the list has (1 when empty).
    pub fn pages(&self) -> i64 {
        last_page(self.total, self.per_page)
    }
}

fn last_page(total: i64, per_page: i64) -> i64 {
    ((total.max(0) + per_page - 1) / per_page).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn numbers(total: i64, asked: i64) -> Paged<i64> {
        Paged::read(asked, 10, total, |w| async move { Ok((w.offset..(w.offset + w.limit).min(total)).collect()) }).await.unwrap()
    }

    #[tokio::test]
    async fn a_page_holds_its_window_of_the_list() {
        let p = numbers(25, 2).await;
        assert_eq!((p.page, p.pages(), p.items.first(), p.items.len()), (2, 3, Some(&10), 10));
        let last = numbers(25, 3).await;
        assert_eq!(last.items, vec![20, 21, 22, 23, 24]);
    }

    #[tokio::test]
    async fn a_page_past_the_last_shows_the_last_and_an_empty_list_one_empty_page() {
        let p = numbers(25, 40).await;
        assert_eq!((p.page, p.items.len()), (3, 5));
        let empty = numbers(0, 4).await;
        assert_eq!((empty.page, empty.pages(), empty.items.len()), (1, 1, 0));
    }

    #[test]
    fn an_unreadable_page_number_is_the_first() {
        assert_eq!(page_number("3"), 3);
        for bad in ["", "0", "-2", "x", "1e3", "99999999999999999999"] {
            assert_eq!(page_number(bad), 1, "{bad}");
        }
    }
}
