//! The distribution catalogue of an organisation: what its rounds give out.
//! Configuration of the organisation under the team rules: coordinators and
//! administrators change it, field workers read it.

use veille_domain::Action;
use veille_storage::audit;
use veille_storage::rounds::{self, Item, DEFAULT_ITEMS, ITEM_CATEGORIES};

use super::catalogue_resource;
use crate::error::Result;
use crate::{App, Caller, FieldErrors, Lang};

/// The catalogue of the account's organisation, in its order.
pub async fn items(app: &App, who: &Caller) -> Result<Vec<Item>> {
    who.require(Action::Read, &catalogue_resource(who.account.organisation))?;
    Ok(rounds::items(&app.db, who.account.organisation).await?)
}

/// The catalogue items offered on a round of `org` (active ones, and those
/// already given), with the quantity given.
pub async fn offered(app: &App, org: veille_domain::OrganisationId, given: &[rounds::Distribution]) -> Result<Vec<(Item, i64)>> {
    Ok(rounds::items(&app.db, org)
        .await?
        .into_iter()
        .filter_map(|i| {
            let q = given.iter().find(|d| d.item == i.id).map(|d| d.quantity);
            (i.active || q.is_some()).then(|| (i, q.unwrap_or(0)))
        })
        .collect())
}

/// Whether the account may change its organisation's catalogue.
pub fn can_edit(who: &Caller) -> bool {
    who.can(Action::Update, &catalogue_resource(who.account.organisation)).allowed
}

/// A catalogue change, as the form sends it: `action` is `add` (name,
/// category, unit), `defaults`, or `toggle` (item).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ItemInput {
    /// `add`, `defaults` or `toggle`.
    pub action: String,
    /// Name of an item to add.
    pub name: String,
    /// Its category.
    pub category: String,
    /// Its unit.
    pub unit: String,
    /// The item to withdraw or put back.
    pub item: String,
}

/// Changes the catalogue of the account's organisation, audited.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn change(app: &App, who: &Caller, lang: Lang, input: &ItemInput) -> Result<Result<(), FieldErrors>> {
    let org = who.account.organisation;
    who.require(Action::Update, &catalogue_resource(org))?;
    let now = app.clock.now();
    let mut errors = FieldErrors::new();
    let mut tx = app.db.begin().await?;
    let detail = match input.action.as_str() {
        "defaults" => {
            let have: Vec<String> = rounds::items(&app.db, org).await?.into_iter().map(|i| i.name).collect();
            let mut added = 0;
            for (name, category, unit) in DEFAULT_ITEMS {
                if !have.iter().any(|h| h == name) {
                    rounds::create_item(&mut tx, org, name, category, unit, now).await?;
                    added += 1;
                }
            }
            serde_json::json!({"field": "catalogue", "defaults_added": added})
        }
        "toggle" => match rounds::items(&app.db, org).await?.into_iter().find(|i| i.id.to_string() == input.item) {
            Some(i) => {
                rounds::set_item_active(&mut tx, org, i.id, !i.active).await?;
                serde_json::json!({"field": "catalogue", "item": i.id.to_string(), "active": !i.active})
            }
            None => {
                errors.add("item", lang.t("round.error.item"));
                return Ok(Err(errors));
            }
        },
        _ => {
            let name = input.name.trim();
            if name.is_empty() || name.chars().count() > 80 {
                errors.add("name", lang.t("round.error.item_name"));
            }
            if !ITEM_CATEGORIES.contains(&input.category.as_str()) {
                errors.add("category", lang.t("form.choose_one"));
            }
            if input.unit.chars().count() > 40 {
                errors.add("unit", lang.t("site.error.too_long"));
            }
            if !errors.is_empty() {
                return Ok(Err(errors));
            }
            match rounds::create_item(&mut tx, org, name, &input.category, input.unit.trim(), now).await {
                Ok(id) => serde_json::json!({"field": "catalogue", "item_added": id.to_string()}),
                Err(e) if e.is_conflict_on("name") || e.is_conflict_on("distribution_items") => {
                    errors.add("name", lang.t("round.error.item_taken"));
                    return Ok(Err(errors));
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    audit::append(&mut tx, who.audit_entry(now, "update", "distribution_catalogue", org, org).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
