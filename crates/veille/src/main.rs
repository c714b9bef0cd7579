//! The `veille` binary: one command for every job.

use std::io::{BufReader, BufWriter, Read};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use veille_domain::{EmailAddress, Role};
use veille_storage::{accounts, audit, organisations, Db};
use veille_web::{AppState, Clock, Config};

#[derive(Parser)]
#[command(name = "veille", version, about = "veille: the information system of veille sociale")]
struct Cli {
    /// Configuration file (TOML); settings are then overridden by VEILLE_* variables and DATABASE_URL.
    #[arg(long, global = true, env = "VEILLE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrates first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Load the demo data set if the database is empty.
        #[arg(long, env = "VEILLE_DEMO", value_parser = clap::builder::FalseyValueParser::new())]
        demo: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Account administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Load the synthetic demo data set (Paris) and print the demo accounts;
    /// with --scale, add a synthetic instance of that many encounters (and
    /// in proportion reports, people, sites, rounds, referrals… over 24 months).
    Demo {
        /// Encounters to generate (e.g. 1000000: 200k reports, 100k people, 10k sites).
        #[arg(long)]
        scale: Option<u64>,
        /// Seed of the generator (same seed, size and day: same data).
        #[arg(long, default_value_t = 16)]
        seed: u64,
        /// Write the tables the figures count as CSV files into this directory (for DuckDB).
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Import data.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a portable backup of the whole database (JSON lines) to FILE, or to stdout with "-".
    Backup {
        /// Output file.
        file: PathBuf,
    },
    /// Record linkage on your own CSV files: find the same person across records.
    Linkage {
        #[command(subcommand)]
        command: veille_linkage::cli::LinkageCommand,
    },
    /// Print every route with its access rule (JSON).
    Routes,
    /// Retention of person files and other records: a report of what would
    /// move (--dry-run, counts only) or the run itself (--run).
    Retention {
        /// Say how many records of each kind would move; write nothing.
        #[arg(long, conflicts_with = "run", required_unless_present = "run")]
        dry_run: bool,
        /// Archive, anonymise and expire what is due now.
        #[arg(long)]
        run: bool,
    },
    /// Restore a backup into a new, empty database (then erase again the
    /// people of the erasure journal that the backup brings back; its field
    /// keys are needed to read it).
    Restore {
        /// Backup file.
        file: PathBuf,
    },
    /// The keys sealing the sensitive field groups (health, justice) at rest.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new key to the field key file and seal every sensitive value
    /// again with it, in batches; stop the instances first. Older keys may
    /// leave the file only once this has finished.
    Rotate {
        /// Finish a rotation that stopped before its end, with the newest key
        /// of the file (no new key).
        #[arg(long)]
        resume: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the first instance administrator (and its organisation if none exists).
    CreateAdmin {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Organisation name for a new instance.
        #[arg(long, default_value = "Coordination de l'instance")]
        organisation: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an account's second factor: it enrols again at its next login.
    ResetSecondFactor {
        /// Login e-mail.
        #[arg(long)]
        email: String,
    },
    /// Disable an account: its sessions and API tokens end at once.
    Disable {
        /// Login e-mail.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Territories from a GeoJSON FeatureCollection (polygons, WGS84).
    Territories {
        /// GeoJSON file.
        file: PathBuf,
        /// Property holding the code.
        #[arg(long, default_value = "code")]
        code_property: String,
        /// Property holding the name.
        #[arg(long, default_value = "nom")]
        name_property: String,
    },
    /// The partner directory from data·inclusion files (schema v1, structures
    /// and services, JSON, CSV or the producers' XLSX workbook), in one
    /// transaction; nothing is written if a record is refused (see
    /// --skip-refused). Exits with 2 when a record is refused.
    #[command(name = "data-inclusion")]
    DataInclusion {
        /// Files (structures and services; several are imported together).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Say what would be created, updated, unchanged or refused; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the valid records even if others are refused.
        #[arg(long)]
        skip_refused: bool,
    },
    /// Person files from a spreadsheet (XLSX or CSV) as field teams keep them.
    People(SheetArgs),
    /// Encounters with people already recorded, from a spreadsheet.
    Encounters(SheetArgs),
    /// Sites and their dated observations, from a spreadsheet.
    Sites(SheetArgs),
}

/// A spreadsheet import: checked line by line with the forms' validation, in
/// one transaction; nothing is written if a line is refused (see
/// --skip-refused); the same file imported again changes nothing. Exits with 2
/// when a line is refused.
#[derive(clap::Args)]
struct SheetArgs {
    /// The file (.xlsx or .csv).
    file: PathBuf,
    /// The importing account (a coordinator or administrator of the organisation the records go to).
    #[arg(long = "as", value_name = "EMAIL")]
    account: String,
    /// Say what would be written and name each refused line and field; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the good lines even if others are refused.
    #[arg(long)]
    skip_refused: bool,
    /// Map a column to a field (`--map "Surnom=aliases"`, `--map "Colonne=-"` to leave it out); repeatable.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    map: Vec<String>,
    /// Language of the messages (fr or en).
    #[arg(long, default_value = "en")]
    lang: String,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and report the first broken link.
    Verify,
}

fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("VEILLE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = std::env::var("VEILLE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(config: &Config) -> anyhow::Result<Db> {
    if let Some(path) = config.database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        if let Some(parent) = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating the directory of {path}"))?;
        }
    }
    let db = Db::connect(&config.database_url).await.context("connecting to the database")?;
    db.migrate().await.context("applying migrations")?;
    match db.check_durability().await {
        Ok(_) => {}
        Err(e) if config.allow_unsafe_durability => tracing::warn!("{e}"),
        Err(e) => return Err(e).context("durability check (set VEILLE_ALLOW_UNSAFE_DURABILITY=true to accept)"),
    }
    if let Some(warning) = db.statistics_warning().await.context("reading the statistics settings")? {
        tracing::warn!("{warning}");
    }
    veille_app::instance::field_keys(&db, config).await.context("field keys")?;
    Ok(db)
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let mut s = String::new();
    if from_stdin {
        std::io::stdin().read_to_string(&mut s)?;
    } else {
        eprint!("Password (at least 12 characters): ");
        std::io::stdin().read_line(&mut s)?;
    }
    Ok(s.trim_end_matches(['\n', '\r']).to_owned())
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain of causes, one line, without a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        // Works on files only: no configuration or database needed.
        Command::Linkage { command } => return veille_linkage::cli::run(command),
        other => other,
    };
    init_logs();
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    match command {
        Command::Serve { bind, demo } => {
            if let Some(b) = bind {
                config.set_bind(b);
            }
            for w in config.base_url_warnings() {
                tracing::warn!("{w}");
                eprintln!("veille: warning: {w}");
            }
            let db = open(&config).await?;
            if demo && accounts::count(&db).await? == 0 {
                let report = veille_web::demo::load(&db).await?;
                eprintln!("{report}");
            }
            let listener = tokio::net::TcpListener::bind(config.bind).await.with_context(|| format!("binding {}", config.bind))?;
            let addr = listener.local_addr()?;
            let state = AppState::new(db.clone(), config, Clock::System).await?;
            tracing::info!(%addr, backend = db.backend().name(), "veille is serving");
            eprintln!("veille: http://{addr}");
            veille_web::serve(listener, state, shutdown_signal()).await?;
            db.close().await;
            tracing::info!("stopped");
        }
        Command::Linkage { command } => veille_linkage::cli::run(command)?,
        Command::Routes => {
            println!("{}", serde_json::to_string_pretty(&veille_web::routes::registry().specs())?);
        }
        Command::Migrate => {
            open(&config).await?;
            eprintln!("migrations applied");
        }
        Command::Admin { command } => admin(&config, command).await?,
        Command::Demo { scale, seed, export } => {
            let db = open(&config).await?;
            if accounts::count(&db).await? == 0 || (scale.is_none() && export.is_none()) {
                println!("{}", veille_web::demo::load(&db).await?);
            }
            if let Some(n) = scale {
                let options = veille_app::scale::Options { encounters: n, seed };
                let outcome = veille_app::scale::generate(&db, &options, Clock::System.now()).await?;
                println!("synthetic instance ({n} encounters, seed {seed}) for organisation {}:\n{}", outcome.organisation, outcome.summary());
            }
            if let Some(dir) = export {
                let t0 = std::time::Instant::now();
                let rows = veille_app::scale::export(&db, &dir).await?;
                let total: u64 = rows.iter().map(|(_, n)| n).sum();
                println!("exported {total} rows of {} tables to {} in {:.1} s", rows.len(), dir.display(), t0.elapsed().as_secs_f64());
            }
            // Closed, not dropped at exit: SQLite folds its write-ahead log
            // back into the database (after --scale, hundreds of megabytes
            // that the next process would otherwise read through).
            db.close().await;
        }
        Command::Import { command: ImportCommand::Territories { file, code_property, name_property } } => {
            let db = open(&config).await?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let now = Clock::System.now();
            let counts = veille_web::territories::import(&db, &text, &code_property, &name_property, None, now)
                .await
                .with_context(|| format!("importing {}", file.display()))?;
            println!("territories: {} created, {} updated", counts.created, counts.updated);
        }
        Command::Import { command: ImportCommand::DataInclusion { files, dry_run, skip_refused } } => {
            let db = open(&config).await?;
            let mut read = Vec::new();
            for f in &files {
                let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
                let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| f.display().to_string());
                read.push((name, bytes));
            }
            let options = veille_app::directory::import::Options { dry_run, skip_refused };
            let outcome = veille_app::directory::import::run_as_instance(&db, &read, options, Clock::System.now()).await?;
            let lang = veille_app::Lang::En;
            for p in &outcome.problems {
                println!("refused: {}", p.message(lang));
            }
            for w in &outcome.warnings {
                println!("warning: {}", w.message(lang));
            }
            let head = if dry_run {
                "dry run, nothing written"
            } else if outcome.written {
                "imported"
            } else if outcome.problems.is_empty() {
                "nothing to change"
            } else {
                "REFUSED, nothing written"
            };
            println!("data·inclusion import: {head}");
            for line in veille_app::directory::import::summary(&outcome, lang) {
                println!("  {line}");
            }
            if !outcome.problems.is_empty() {
                std::process::exit(2);
            }
        }
        Command::Import { command: ImportCommand::People(args) } => sheet_import(config, veille_app::imports::Kind::People, args).await?,
        Command::Import { command: ImportCommand::Encounters(args) } => sheet_import(config, veille_app::imports::Kind::Encounters, args).await?,
        Command::Import { command: ImportCommand::Sites(args) } => sheet_import(config, veille_app::imports::Kind::Sites, args).await?,
        Command::Audit { command: AuditCommand::Verify } => {
            let db = open(&config).await?;
            let sealer = veille_app::instance::audit_sealer(&db, &config).await?;
            let outcome = audit::verify(&db, &sealer).await?;
            let keyed_from = audit::keyed_from(&db).await?;
            match outcome {
                audit::Verification::Intact { entries } => {
                    println!("audit log intact: {entries} entries, keyed (HMAC) from entry {keyed_from}");
                }
                audit::Verification::Broken { seq, problem } => {
                    println!("audit log BROKEN at entry {seq}: {problem}");
                    std::process::exit(2);
                }
                audit::Verification::Backdated { entries, refused } => {
                    println!(
                        "audit log chain intact ({entries} entries, keyed from entry {keyed_from}), but {refused} entries dated before the sealing window were refused: back-dated insertions"
                    );
                    std::process::exit(2);
                }
            }
        }
        Command::Backup { file } => {
            let db = open(&config).await?;
            let sealer = veille_app::instance::audit_sealer(&db, &config).await?;
            let counts = if file.as_os_str() == "-" {
                veille_storage::backup::dump(&db, &sealer, &mut BufWriter::new(std::io::stdout())).await?
            } else {
                let mut out = BufWriter::new(std::fs::File::create(&file).with_context(|| format!("creating {}", file.display()))?);
                veille_storage::backup::dump(&db, &sealer, &mut out).await?
            };
            let rows: usize = counts.iter().map(|(_, n)| n).sum();
            eprintln!("backup written: {rows} rows in {} tables", counts.len());
        }
        Command::Restore { file } => {
            let db = open(&config).await?;
            let input = BufReader::new(std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?);
            let n = veille_storage::backup::restore(&db, input).await?;
            println!("restored {n} rows");
            let ring = db.field_keys().context("field keys")?;
            veille_storage::field_keys::check(&db, &ring).await.context("the restored values need the field keys of the instance that wrote the backup")?;
            let erased = veille_app::rights::reapply_erasures(&db, &config, Clock::System.now()).await?;
            println!("erasure journal applied again: {erased} files erased");
        }
        Command::Retention { dry_run, run: _ } => {
            let db = open(&config).await?;
            let app = veille_app::App::new(db, config, Clock::System).await?;
            let r = if dry_run { veille_app::rights::dry_run_as_instance(&app).await? } else { veille_app::rights::run_as_instance(&app).await? };
            println!("retention {}", if dry_run { "(dry run, nothing written)" } else { "done" });
            println!("  person files active: {}, archived: {}, under a legal hold: {}", r.active, r.archived, r.held);
            println!("  to the restricted archive: {}", r.to_archive);
            println!("  to anonymise: {}", r.to_anonymise);
            println!("  closed reports losing the reporter's contact details: {}", r.report_contacts);
            println!("  photos of closed reports: {}", r.report_photos);
            println!("  sent mails: {}", r.sent_mails);
            println!("  login attempts: {}", r.login_attempts);
            println!("  attachments uploaded by phones and never used: {}", r.unused_attachments);
            veille_app::instance::seal_audit(&app).await?;
        }
        Command::Keys { command: KeysCommand::Rotate { resume } } => {
            let db = open(&config).await?;
            let n = veille_app::instance::rotate_field_keys(&db, &config, resume, |place, done| eprintln!("{place}: {done} values sealed again")).await?;
            println!("field keys rotated: {n} values sealed with the newest key; older keys may now leave the file");
        }
    }
    Ok(())
}

/// `veille import people|encounters|sites`: as the account given, into its
/// organisation; the refused lines, then the summary, once; exit 2 when a line
/// (or the file) was refused.
async fn sheet_import(config: Config, kind: veille_app::imports::Kind, args: SheetArgs) -> anyhow::Result<()> {
    let lang = veille_app::Lang::from_code(&args.lang);
    let mut mapping = Vec::new();
    for m in &args.map {
        let (column, field) = m.split_once('=').ok_or_else(|| anyhow::anyhow!("--map {m}: write COLUMN=FIELD"))?;
        mapping.push((column.trim().to_owned(), field.trim().to_owned()));
    }
    let db = open(&config).await?;
    let account = find(&db, &args.account).await?;
    anyhow::ensure!(!account.disabled, "this account is disabled");
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let app = veille_app::App::new(db, config, Clock::System).await?;
    let who = veille_app::identity::caller_of(&app, account).await?;
    let options = veille_app::imports::Options { dry_run: args.dry_run, skip_refused: args.skip_refused, mapping };
    let outcome = match veille_app::imports::import(&app, &who, lang, kind, &name, &bytes, &options).await {
        Ok(o) => o,
        Err(e) if e.kind == veille_app::ErrorKind::Forbidden => {
            anyhow::bail!("this account may not import {} (a coordinator or administrator of an organisation that records them)", kind.code())
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(e) = &outcome.file_error {
        println!("refused: {e}");
    }
    for r in &outcome.refusals {
        println!("refused: {}", r.text(lang));
    }
    let mut summary = outcome.summary(kind, lang).into_iter();
    if let Some(head) = summary.next() {
        println!("{head}");
    }
    for line in summary {
        println!("  {line}");
    }
    veille_app::instance::seal_audit(&app).await?;
    if outcome.refused_any() {
        std::process::exit(2);
    }
    Ok(())
}

async fn admin(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let db = open(config).await?;
    let now = Clock::System.now();
    match command {
        AdminCommand::CreateAdmin { email, name, organisation, password_stdin } => {
            let email = EmailAddress::parse(&email).map_err(|e| anyhow::anyhow!("e-mail address: {e}"))?;
            let password = read_password(password_stdin)?;
            if let Err(p) = veille_web::security::check_new_password(&password, &[email.as_str(), &name]) {
                anyhow::bail!("{}", p.message(veille_web::i18n::Lang::En));
            }
            let hash = veille_web::security::hash_password(&password)?;
            let mut tx = db.begin().await?;
            let org = match organisations::list(&db).await?.into_iter().find(|o| o.coordinating) {
                Some(o) => o,
                None => organisations::create(&mut tx, &organisation, "city_service", true, now).await?,
            };
            let id = accounts::create(
                &mut tx,
                &accounts::NewAccount {
                    organisation: org.id,
                    email,
                    display_name: name,
                    role: Role::InstanceAdmin,
                    password_hash: Some(hash),
                    territories: None,
                    field_groups: vec![],
                    demo_account: false,
                },
                now,
            )
            .await
            .context("creating the account (is the e-mail already used?)")?;
            audit::append(&mut tx, cli_entry("create", "account", id.to_string(), org.id, now)).await?;
            tx.commit().await?;
            println!("instance administrator created ({id}); the second factor is enrolled at first login");
        }
        AdminCommand::ResetSecondFactor { email } => {
            let account = find(&db, &email).await?;
            let mut tx = db.begin().await?;
            accounts::reset_totp(&mut tx, account.id).await?;
            veille_storage::sessions::delete_all_for(&mut tx, account.id).await?;
            audit::append(&mut tx, cli_entry("reset_second_factor", "account", account.id.to_string(), account.organisation, now)).await?;
            tx.commit().await?;
            println!("second factor reset; the account enrols again at its next login");
        }
        AdminCommand::Disable { email } => {
            let account = find(&db, &email).await?;
            let mut tx = db.begin().await?;
            accounts::set_disabled(&mut tx, account.id, true, now).await?;
            audit::append(&mut tx, cli_entry("disable", "account", account.id.to_string(), account.organisation, now)).await?;
            tx.commit().await?;
            println!("account disabled; its sessions and tokens are ended");
        }
    }
    Ok(())
}

fn cli_entry<'a>(action: &'a str, kind: &'a str, id: String, org: veille_domain::OrganisationId, now: veille_domain::Timestamp) -> audit::NewEntry<'a> {
    audit::NewEntry {
        at: now,
        actor_user: None,
        actor_organisation: None,
        action,
        record_kind: kind,
        record_id: Some(id),
        record_organisation: Some(org),
        detail: serde_json::json!({ "via": "command_line" }),
    }
}

async fn find(db: &Db, email: &str) -> anyhow::Result<accounts::Account> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("e-mail address: {e}"))?;
    accounts::by_email(db, &email).await?.ok_or_else(|| anyhow::anyhow!("no account with this e-mail"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
