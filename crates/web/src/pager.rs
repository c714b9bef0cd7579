//! The links between the pages of a long list (`templates/pager.html`):
//! "previous" and "next", with where the list stands ("page 2 of 840"),
//! keeping the list's other filters in the address.

use veille_app::paging::Paged;

use crate::page::PageCtx;

/// What the pager of one list shows.
#[derive(Clone, Debug)]
pub struct Pager {
    /// More than one page: the pager is shown.
    pub shown: bool,
    /// "Page 2 sur 840".
    pub status: String,
    /// The navigation's accessible name.
    pub label: String,
    /// The previous page's address, unless on the first.
    pub prev: Option<String>,
    /// The next page's address, unless on the last.
    pub next: Option<String>,
    /// "Page précédente".
    pub prev_label: String,
    /// "Page suivante".
    pub next_label: String,
}

impl Pager {
    /// The pager of `paged`, a list shown at `path`, its page number in the
    /// parameter `param`, with the list's other parameters `keep` and the
    /// section to come back to (`#anchor`, or empty).
    pub fn new<T>(ctx: &PageCtx, paged: &Paged<T>, path: &str, param: &str, keep: &[(String, String)], anchor: &str) -> Pager {
        let pages = paged.pages();
        let href = |page: i64| {
            let mut pairs: Vec<(&str, &str)> = keep.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let number = page.to_string();
            if page > 1 {
                pairs.push((param, &number));
            }
            let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
            let fragment = if anchor.is_empty() { String::new() } else { format!("#{anchor}") };
            if query.is_empty() {
                format!("{path}{fragment}")
            } else {
                format!("{path}?{query}{fragment}")
            }
        };
        Pager {
            shown: pages > 1,
            status: ctx.tf("pager.status", &[("page", &paged.page.to_string()), ("pages", &pages.to_string())]),
            label: ctx.t("pager.label"),
            prev: (paged.page > 1).then(|| href(paged.page - 1)),
            next: (paged.page < pages).then(|| href(paged.page + 1)),
            prev_label: ctx.t("pager.prev"),
            next_label: ctx.t("pager.next"),
        }
    }
}
