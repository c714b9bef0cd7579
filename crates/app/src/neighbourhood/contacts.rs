//! The contact book of local relays: residents, shopkeepers, caretakers,
//! landlords, elected officials, school and social-housing staff — name,
//! role, place, how to reach them, and the consent to be kept.
//!
//! Their identity is a restricted field group ([`FieldGroup::Relays`]):
//! read only by the mediation roles (field workers granted it) and the
//! coordinators of the contact's organisation, each read audited (a list
//! names the contacts it showed); a contact is removed on request, and the
//! mediations that named it keep the party's role only. Exports to city
//! services never carry it (a request names a place and a need, never a
//! relay).

use veille_domain::neighbourhood::ContactRole;
use veille_domain::people::Phone;
use veille_domain::{Action, ContactId, EmailAddress, FieldGroup, Resource, ResourceKind, TerritoryId};
use veille_storage::audit;
use veille_storage::neighbourhood::{self as store, Contact, NewContact};

use crate::error::{Error, Result};
use crate::shelter::input::{code, id, version, words};
use crate::{App, Caller, FieldErrors, Lang};

/// A contact as typed.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ContactInput {
    /// `resident`, `shopkeeper`, `caretaker`, `landlord`, `elected`, `school_staff`, `social_housing_staff`, `association`, `other`.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub role: String,
    /// Name, as the person wishes to be named.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub name: String,
    /// Shop, building, school ("Tabac du marché").
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub structure: String,
    /// Address or place.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub place: String,
    /// Longitude of the place.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub lon: String,
    /// Latitude of the place.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub lat: String,
    /// Territory id (empty: from the point, or none).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub territory_id: String,
    /// Phone.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub phone: String,
    /// E-mail.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub email: String,
    /// How and when to reach them.
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub reach: String,
    /// `on`: the person agreed to be kept in the contact book (required).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub consent: String,
    /// The version the form was filled from (changes only).
    #[serde(deserialize_with = "crate::shelter::input::text")]
    #[schemars(with = "crate::shelter::input::Scalar")]
    pub version: String,
}

impl ContactInput {
    /// The form of an existing contact.
    pub fn of(c: &Contact) -> Self {
        ContactInput {
            role: c.role.code().into(),
            name: c.name.clone(),
            structure: c.structure.clone(),
            place: c.place.clone(),
            lon: c.lon.map(|v| v.to_string()).unwrap_or_default(),
            lat: c.lat.map(|v| v.to_string()).unwrap_or_default(),
            territory_id: c.territory.map(|t| t.to_string()).unwrap_or_default(),
            phone: c.phone.clone(),
            email: c.email.clone(),
            reach: c.reach.clone(),
            consent: "on".into(),
            version: c.version.to_string(),
        }
    }
}

/// The access-control description of a contact: a record of its
/// organisation, in its territory, in the relays field group.
pub fn resource(c: &Contact) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(c.organisation).in_territory(c.territory).field(FieldGroup::Relays)
}

/// The contact book of the caller's organisation, as a resource.
fn book(who: &Caller) -> Resource {
    Resource::new(ResourceKind::Record).owned_by(who.account.organisation).field(FieldGroup::Relays)
}

/// Whether the account reads its organisation's contact book at all (the
/// mediation roles granted the field group, and coordinators).
pub fn may_read(who: &Caller) -> bool {
    who.can(Action::Read, &book(who)).allowed
}

/// Refuses an account that may not read the contact book.
pub fn gate(who: &Caller) -> Result<()> {
    who.require(Action::Read, &book(who))
}

/// Checks a contact as typed.
async fn validate(app: &App, lang: Lang, input: &ContactInput) -> Result<std::result::Result<NewContact, FieldErrors>> {
    let mut e = FieldErrors::new();
    let role = code::<ContactRole>(&input.role, "role", lang, &mut e);
    let name = words(&input.name, "name", 120, true, lang, &mut e);
    let structure = words(&input.structure, "structure", 120, false, lang, &mut e);
    let place = words(&input.place, "place", 300, false, lang, &mut e);
    let reach = words(&input.reach, "reach", 500, false, lang, &mut e);
    let phone = match input.phone.trim() {
        "" => String::new(),
        t => match Phone::parse(t) {
            Ok(p) => p.as_str().to_owned(),
            Err(_) => {
                e.add("phone", lang.t("neighbourhood.error.phone"));
                String::new()
            }
        },
    };
    let email = match input.email.trim() {
        "" => String::new(),
        t => match EmailAddress::parse(t) {
            Ok(a) => a.as_str().to_owned(),
            Err(_) => {
                e.add("email", lang.t("neighbourhood.error.email"));
                String::new()
            }
        },
    };
    if input.consent.trim().is_empty() {
        e.add("consent", lang.t("neighbourhood.error.consent"));
    }
    let point = super::point(app, &input.lon, &input.lat, lang, &mut e).await;
    let typed = id::<TerritoryId>(&input.territory_id, "territory_id", lang, &mut e);
    if !e.is_empty() {
        return Ok(Err(e));
    }
    Ok(Ok(NewContact {
        territory: typed.or(point.and_then(|p| p.1)),
        role,
        name,
        structure,
        place,
        point: point.map(|(p, _)| (p.lon, p.lat)),
        phone,
        email,
        reach,
    }))
}

/// Writes a contact of the caller's organisation, who agreed to be kept.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn create(app: &App, who: &Caller, lang: Lang, input: &ContactInput) -> Result<std::result::Result<ContactId, FieldErrors>> {
    gate(who)?;
    let new = match validate(app, lang, input).await? {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Create, &book(who).in_territory(new.territory))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    let id = store::create_contact(&mut tx, who.account.organisation, &new, now, who.account.id, now).await?;
    let detail = serde_json::json!({"role": new.role.map(|r| r.code()), "consent": true, "territory": new.territory.map(|t| t.to_string())});
    audit::append(&mut tx, who.audit_entry(now, "create", "contact", id, who.account.organisation).with_detail(detail)).await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// A contact the caller may read (404 otherwise) and do `action` on (403).
pub async fn load(app: &App, who: &Caller, id: &str, action: Action) -> Result<Contact> {
    gate(who)?;
    let id: ContactId = id.parse().map_err(|_| Error::not_found())?;
    let c = store::get_contact(&app.db, &who.scope(), id).await?;
    if !who.can(Action::Read, &resource(&c)).allowed {
        return Err(Error::not_found());
    }
    who.require(action, &resource(&c))?;
    Ok(c)
}

/// Reads a contact, audited (`via`: the page or the API).
pub async fn read(app: &App, who: &Caller, id: &str, via: &str) -> Result<Contact> {
    let c = load(app, who, id, Action::Read).await?;
    let e = who.audit_entry(app.clock.now(), "read", "contact", c.id, c.organisation).with_detail(serde_json::json!({"via": via, "field_group": "relays"}));
    audit::append_now(&app.db, e).await?;
    Ok(c)
}

/// The contact book as the caller reads it (a role, a text), audited: the
/// entry names every contact shown.
pub async fn list(app: &App, who: &Caller, role: &str, text: &str, via: &str) -> Result<Vec<Contact>> {
    gate(who)?;
    let role = role.trim().parse::<ContactRole>().ok();
    let text: String = text.chars().take(100).collect();
    let found: Vec<Contact> =
        store::contacts(&app.db, &who.scope(), role, &text).await?.into_iter().filter(|c| who.can(Action::Read, &resource(c)).allowed).collect();
    if !found.is_empty() {
        let ids: Vec<String> = found.iter().map(|c| c.id.to_string()).collect();
        let e = audit::NewEntry::about(app.clock.now(), Some(who.author()), "read", "contact", None, Some(who.account.organisation))
            .with_detail(serde_json::json!({"via": via, "field_group": "relays", "contacts": ids}));
        audit::append_now(&app.db, e).await?;
    }
    Ok(found)
}

/// Changes a contact.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn update(app: &App, who: &Caller, lang: Lang, c: &Contact, input: &ContactInput) -> Result<std::result::Result<(), FieldErrors>> {
    who.require(Action::Update, &resource(c))?;
    let new = match validate(app, lang, input).await? {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    who.require(Action::Update, &book(who).in_territory(new.territory))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::update_contact(&mut tx, c.id, &new, version(&input.version), now).await?;
    audit::append(&mut tx, who.audit_entry(now, "update", "contact", c.id, c.organisation).with_detail(serde_json::json!({"field_group": "relays"}))).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Removes a contact on the person's request (the mediation roles who hold
/// the field group may, so a request made in the street is met at once):
/// the identity is deleted, mediations keep the party's role.
#[tracing::instrument(skip_all, fields(user = %who.account.id))]
pub async fn remove(app: &App, who: &Caller, c: &Contact) -> Result<()> {
    who.require(Action::Update, &resource(c))?;
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::remove_contact(&mut tx, c.id).await?;
    let e = who.audit_entry(now, "delete", "contact", c.id, c.organisation).with_detail(serde_json::json!({"reason": "on_request", "field_group": "relays"}));
    audit::append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}

/// The contacts a mediation form offers (none for an account that may not
/// read the contact book), audited as a list read.
pub async fn choices(app: &App, who: &Caller) -> Result<Vec<Contact>> {
    if !may_read(who) {
        return Ok(Vec::new());
    }
    list(app, who, "", "", "mediation_form").await
}
