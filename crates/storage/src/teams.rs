//! Teams of an organisation and their members.

use sqlx::Row;
use veille_domain::{OrganisationId, TeamId, Timestamp, UserId};

use crate::db::{Db, Tx};
use crate::error::{Result, ResultExt, StorageError};

/// A team.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// Organisation.
    pub organisation: OrganisationId,
    /// Name.
    pub name: String,
    /// Kind code (`social`, `health`, `mediation`, `psychiatric`, `other`).
    pub kind: String,
    /// Version.
    pub version: i64,
}

/// Team kinds.
pub const KINDS: [&str; 5] = ["social", "health", "mediation", "psychiatric", "other"];

fn from_row(r: &sqlx::any::AnyRow) -> Result<Team> {
    let id: String = r.try_get("id")?;
    let org: String = r.try_get("organisation_id")?;
    Ok(Team {
        id: id.parse().map_err(|_| StorageError::Corrupt("teams.id"))?,
        organisation: org.parse().map_err(|_| StorageError::Corrupt("teams.organisation_id"))?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        version: r.try_get("version")?,
    })
}

/// Creates a team. A name already used in the organisation is `Conflict`.
pub async fn create(tx: &mut Tx, org: OrganisationId, name: &str, kind: &str, now: Timestamp) -> Result<TeamId> {
    let id = TeamId::new();
    sqlx::query("INSERT INTO teams (id, organisation_id, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
        .bind(id.to_string())
        .bind(org.to_string())
        .bind(name)
        .bind(kind)
        .bind(now.as_micros())
        .execute(&mut **tx)
        .await
        .classify()?;
    Ok(id)
}

/// One team.
pub async fn get(db: &Db, id: TeamId) -> Result<Team> {
    let row = sqlx::query("SELECT id, organisation_id, name, kind, version FROM teams WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await?
        .ok_or(StorageError::NotFound)?;
    from_row(&row)
}

/// Teams of an organisation (or all).
pub async fn list(db: &Db, org: Option<OrganisationId>) -> Result<Vec<Team>> {
    let rows = match org {
        Some(o) => {
            sqlx::query("SELECT id, organisation_id, name, kind, version FROM teams WHERE organisation_id = $1 ORDER BY name")
                .bind(o.to_string())
                .fetch_all(db.pool())
                .await?
        }
        None => sqlx::query("SELECT id, organisation_id, name, kind, version FROM teams ORDER BY name").fetch_all(db.pool()).await?,
    };
    rows.iter().map(from_row).collect()
}

/// Members of a team.
pub async fn members(db: &Db, team: TeamId) -> Result<Vec<UserId>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1").bind(team.to_string()).fetch_all(db.pool()).await?;
    ids.into_iter().map(|s| s.parse().map_err(|_| StorageError::Corrupt("team_members.user_id"))).collect()
}

/// Adds a member.
pub async fn add_member(tx: &mut Tx, team: TeamId, user: UserId) -> Result<()> {
    sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(team.to_string())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes a member.
pub async fn remove_member(tx: &mut Tx, team: TeamId, user: UserId) -> Result<()> {
    sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2").bind(team.to_string()).bind(user.to_string()).execute(&mut **tx).await?;
    Ok(())
}
