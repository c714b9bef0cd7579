//! The intake's group commit: reports received at the same moment, through
//! any channel, are written in one transaction — one multi-row statement per
//! table, one commit (one fsync) for all of them — by the writer of the
//! instance (decision 77), on a thread and runtime of its own with its own
//! connection (decision 120). A request
//! is answered only once its transaction has committed, so an acknowledged
//! report survives a crash as before. When the shared transaction fails (a
//! reference that clashes, a constraint), each report of the batch is
//! written again alone, so one bad report never costs the others theirs; a
//! clashing reference is drawn again, up to three times.
//! A report of dysfunctions makes its requests to city services in the same
//! transaction, the group's requests in one statement and their timeline
//! events and audit entries with the reports' (who is told of them is read
//! before: see `neighbourhood::services::prepare_report_requests`).

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use veille_domain::records::RecordKind;
use veille_domain::reports::Status;
use veille_domain::{OrganisationId, ReportId, TeamId, Timestamp, UserId};
use veille_storage::reports::{self, NewReport, Photo};
use veille_storage::timeline::{self, NewEvent};
use veille_storage::{audit, outbox, Db, StorageError, Tx};

use crate::Lang;

/// Most reports one transaction writes (the binds of one statement stay far
/// below both engines' limits).
const MOST: usize = 64;

/// A checked, triaged and routed report waiting for its commit.
pub(crate) struct Pending {
    /// The row.
    pub new: NewReport,
    /// When it was received.
    pub at: Timestamp,
    /// Who took it in (none: the public form).
    pub author: Option<(UserId, OrganisationId)>,
    /// The team it was routed to.
    pub team: Option<TeamId>,
    /// Its first status.
    pub status: Status,
    /// The organisation in charge.
    pub organisation: Option<OrganisationId>,
    /// The audit entry's detail (never personal data).
    pub detail: Value,
    /// A checked photo and the upload it came from.
    pub photo: Option<(Photo, Option<String>)>,
    /// The mail to its reporter, if any.
    pub mail: Option<Mail>,
    /// The requests it makes to city services (dysfunctions of public space).
    pub requests: Option<crate::neighbourhood::services::ReportRequests>,
    /// The kept API token it was sent with, checked again before it is
    /// written (decision 118).
    pub held: Option<crate::identity::Held>,
}

/// The mail telling a reporter their report was received (composed when its
/// reference is final).
pub(crate) struct Mail {
    /// Their address.
    pub to: String,
    /// The follow-up link.
    pub link: String,
    /// The code to type back to confirm the address (none: typed by staff
    /// with the reporter's consent).
    pub code: Option<String>,
}

/// What the writer answers: the report's id and its final reference.
type Reply = std::result::Result<(ReportId, String), StorageError>;

struct Job {
    pending: Pending,
    reply: oneshot::Sender<Reply>,
}

/// The handle every request sends its report through.
#[derive(Clone)]
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the writer of this instance on a thread of its own, running a
    /// runtime of its own with the writer's own connection (PostgreSQL:
    /// [`Db::apart`]): its every step waits for the database, and on the
    /// requests' runtime each of its wake-ups waited for a worker to finish
    /// what it was doing for the requests (decision 120). The thread ends
    /// when the last handle is dropped and the queue is empty.
    pub fn start(db: Db) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(4 * MOST);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("veille-intake-writer".into()).spawn(move || {
            runtime.block_on(async move {
                let own = db.apart(1);
                run(own.clone(), rx).await;
                // Its own pool (PostgreSQL) ends with it; SQLite's is the instance's.
                if own.backend() == veille_storage::Backend::Postgres {
                    own.close().await;
                }
            })
        })?;
        Ok(Self { jobs })
    }

    /// Writes `pending` with whatever else arrives meanwhile; returns once committed.
    pub(crate) async fn write(&self, pending: Pending) -> Reply {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { pending, reply }).await.map_err(|_| StorageError::Busy)?;
        answer.await.map_err(|_| StorageError::Busy)?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MOST);
    // What is waiting (or, if nothing, the next report) makes the next group.
    while rx.recv_many(&mut batch, MOST).await > 0 {
        let together = async {
            let mut tx = db.begin().await?;
            let all: Vec<&Pending> = batch.iter().map(|j| &j.pending).collect();
            let ids = write(&mut tx, &all).await?;
            tx.commit().await?;
            Ok::<_, StorageError>(ids)
        }
        .await;
        match together {
            Ok(ids) => {
                for (job, id) in batch.drain(..).zip(ids) {
                    let reference = job.pending.new.reference.clone();
                    let _ = job.reply.send(Ok((id, reference)));
                }
            }
            Err(e) => {
                if batch.len() > 1 {
                    tracing::info!(reports = batch.len(), error = %e, "intake: a shared transaction failed; writing each report alone");
                }
                for job in batch.drain(..) {
                    let Job { mut pending, reply } = job;
                    let _ = reply.send(alone(&db, &mut pending).await);
                }
            }
        }
    }
}

/// One report in its own transaction; a clashing reference is drawn again.
async fn alone(db: &Db, pending: &mut Pending) -> Reply {
    let (tx, id) = begin_alone(db, pending).await?;
    tx.commit().await?;
    Ok((id, pending.new.reference.clone()))
}

/// Writes one report in a transaction of its own and hands the transaction
/// back open; a reference that clashes with another is drawn again, up to
/// three times.
async fn begin_alone(db: &Db, pending: &mut Pending) -> std::result::Result<(Tx, ReportId), StorageError> {
    let mut attempt = 0;
    loop {
        let mut tx = db.begin().await?;
        match write(&mut tx, &[&*pending]).await {
            Ok(ids) => return Ok((tx, ids[0])),
            Err(e) if e.is_conflict_on("reference") && attempt < 3 => {
                attempt += 1;
                tx.rollback().await?;
                pending.new.reference = super::new_reference();
            }
            Err(e) => return Err(e),
        }
    }
}

/// The kept API tokens the reports were sent with, checked again in the
/// transaction that writes them: one read for the group, fails with
/// [`StorageError::TokenWithdrawn`] if one of them no longer holds (each
/// report is then written alone, and only that one fails).
async fn still_held(tx: &mut Tx, all: &[&Pending]) -> std::result::Result<(), StorageError> {
    let mut tokens: Vec<_> = all.iter().filter_map(|p| p.held.as_ref().map(|h| h.holding.token)).collect();
    if tokens.is_empty() {
        return Ok(());
    }
    tokens.sort_unstable();
    tokens.dedup();
    let now = all.iter().map(|p| p.at).max().unwrap_or(Timestamp::from_micros(0));
    let holding = veille_storage::tokens::still_holding(tx, &tokens, now).await?;
    match all.iter().filter_map(|p| p.held.as_ref()).all(|h| holding.contains(&h.holding)) {
        true => Ok(()),
        false => Err(StorageError::TokenWithdrawn),
    }
}

/// Writes the reports, their timeline events, audit entries, photos, mails
/// and requests to city services.
pub(crate) async fn write(tx: &mut Tx, all: &[&Pending]) -> std::result::Result<Vec<ReportId>, StorageError> {
    still_held(tx, all).await?;
    let rows: Vec<(&NewReport, Timestamp)> = all.iter().map(|p| (&p.new, p.at)).collect();
    let ids = reports::create_all(tx, &rows).await?;
    let teams: Vec<Option<String>> = all.iter().map(|p| p.team.map(|t| t.to_string())).collect();
    let mut events = Vec::with_capacity(all.len() * 2);
    let mut entries = Vec::with_capacity(all.len());
    for ((p, id), team) in all.iter().zip(&ids).zip(&teams) {
        events.push(NewEvent::new(RecordKind::Report, id, p.at, None, "created").change(None, Some(p.status.code())));
        if let Some(t) = team.as_deref() {
            events.push(NewEvent::new(RecordKind::Report, id, p.at, None, "assigned").change(None, Some(t)));
        }
        entries.push(audit::NewEntry::about(p.at, p.author, "create", "report", Some(id.to_string()), p.organisation).with_detail(p.detail.clone()));
    }
    let with_requests: Vec<_> =
        all.iter().zip(&ids).filter_map(|(p, id)| p.requests.as_ref().map(|r| (*id, &p.new, p.photo.as_ref().map(|(photo, _)| photo), r, p.at))).collect();
    crate::neighbourhood::services::write_report_requests(tx, &with_requests, &mut events, &mut entries).await?;
    timeline::append_all(tx, &events).await?;
    audit::append_all(tx, &entries).await?;
    for (p, id) in all.iter().zip(&ids) {
        if let Some((photo, kept)) = &p.photo {
            reports::attach_photo(tx, *id, photo, p.at).await?;
            if let Some(hash) = kept {
                reports::drop_upload(tx, hash).await?;
            }
        }
        if let Some(mail) = &p.mail {
            let (lang, reference) = (Lang::Fr, p.new.reference.as_str());
            let subject = lang.tf("report.mail.subject", &[("reference", reference)]);
            let body = match &mail.code {
                Some(code) => lang.tf("report.mail.received_body", &[("reference", reference), ("link", &mail.link), ("code", code)]),
                None => lang.tf("report.mail.taken_in_body", &[("reference", reference), ("link", &mail.link)]),
            };
            outbox::enqueue(tx, &mail.to, &subject, &body, p.at).await?;
        }
    }
    Ok(ids)
}
