//! The outbox worker: sends queued mails over SMTP with retries and back-off.
//! Mails never contain personal data of the people followed.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use veille_storage::outbox;

use crate::App;

/// How long a claimed mail is this sender's (the SMTP timeout is 10 s): past
/// it, a sender that died is replaced by another instance.
const MAIL_LEASE_SECONDS: i64 = 300;

/// Sends every due mail once; returns how many were sent.
pub async fn send_due(state: &App) -> anyhow::Result<usize> {
    if state.config.smtp_host.is_empty() {
        return Ok(0);
    }
    let transport: AsyncSmtpTransport<Tokio1Executor> = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&state.config.smtp_host)
        .port(state.config.smtp_port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let mut sent = 0;
    for mail in outbox::due(&state.db, state.clock.now(), 50).await? {
        // Another instance may have taken it since it was read.
        if !outbox::claim(&state.db, &mail, state.clock.now().plus_seconds(MAIL_LEASE_SECONDS)).await? {
            continue;
        }
        let message = Message::builder()
            .from(state.config.smtp_from.parse()?)
            .to(match mail.to.parse() {
                Ok(to) => to,
                Err(e) => {
                    outbox::mark_failed(&state.db, mail.id, 10, &format!("bad address: {e}"), state.clock.now()).await?;
                    continue;
                }
            })
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match transport.send(message).await {
            Ok(_) => {
                outbox::mark_sent(&state.db, mail.id, state.clock.now()).await?;
                metrics::counter!("veille_mail_sent_total").increment(1);
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(outbox_id = %mail.id, attempts = mail.attempts + 1, "mail not sent: {e}");
                metrics::counter!("veille_mail_failed_total").increment(1);
                outbox::mark_failed(&state.db, mail.id, mail.attempts, &e.to_string(), state.clock.now()).await?;
            }
        }
    }
    Ok(sent)
}

/// Runs the worker every second until aborted.
pub fn spawn_worker(state: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if let Err(e) = send_due(&state).await {
                tracing::warn!("outbox worker: {e:#}");
            }
        }
    })
}
