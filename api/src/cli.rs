//! The `circles` command line: `serve` (default), `migrate`, `seed-demo`, `token`, `demo`,
//! `audit verify`, `schema`, `import`.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::auth::claims::{Claims, Role};
use crate::auth::jwt::sign_hs256;
use crate::config::{JwtKeys, Settings};
use crate::repo::Db;
use crate::seed;
use crate::startup::Application;

#[derive(Parser)]
#[command(name = "circles", version, about = "Circles: referrals to mental-health self-help groups, over GraphQL")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo directory (idempotent).
    SeedDemo {
        /// How many demo groups the directory should hold.
        #[arg(long, default_value_t = 300)]
        groups: u64,
        /// How many synthetic referrals (with outcomes over the last two years) there should be;
        /// written in bulk, so a million take about two minutes.
        #[arg(long, default_value_t = 400)]
        referrals: u64,
    },
    /// Print a development token signed with the configured HS256 secret.
    Token {
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The clinician's agency id.
        #[arg(long)]
        agency: Option<String>,
        #[arg(long)]
        sub: Option<String>,
        /// Lifetime, e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
    /// Migrate, seed the demo directory, print a token per role, then serve.
    Demo,
    /// Print the GraphQL schema (SDL); the committed `schema.graphql` is this output.
    Schema,
    /// Import listings from a file: all of it or nothing, keyed by the source's ids.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Re-read and re-hash the whole chain; exit 1 naming the first bad sequence number.
    Verify,
}

#[derive(Subcommand)]
pub enum ImportFormat {
    /// A Meeting Guide JSON feed (code4recovery/spec); meetings are matched by slug.
    MeetingGuide {
        file: std::path::PathBuf,
        /// Report what would change, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// IANA time zone of meetings without `timezone`.
        #[arg(long)]
        time_zone: Option<String>,
        /// ISO country of meetings without `country`.
        #[arg(long)]
        country: Option<String>,
    },
    /// HSDS 3.0 JSON: an array of services (as `GET /hsds/services/{id}` gives them) or a
    /// page of them (`{"contents": [...]}`); services are matched by id.
    Hsds {
        file: std::path::PathBuf,
        /// Report what would change, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_role(value: &str) -> Result<Role, String> {
    Role::from_claim(value).ok_or_else(|| "role must be clinician, liaison, researcher or admin".into())
}

/// The statement timeout of batch commands (seeding, verifying the whole audit chain).
const BATCH_STATEMENT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Runs the chosen command. `schema` reads nothing and `audit verify` an existing database
/// only: neither reads the settings, so neither creates a data directory, a secret or a
/// database. Every other command reads the settings from the environment first.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    match command {
        Command::Schema => {
            print!("{}", crate::graphql::sdl());
            return Ok(());
        }
        Command::Audit { command: AuditCommand::Verify } => return verify_audit_chain().await,
        _ => {}
    }
    let settings = Settings::from_env()?;
    match command {
        Command::Serve => Application::build(settings).await?.run_until_stopped().await?,
        Command::Migrate => {
            Db::connect(&settings.database_url, settings.db_statement_timeout).await?.migrate().await?;
            tracing::info!("migrations applied");
        }
        Command::SeedDemo { groups, referrals } => {
            // Bulk loading (and the VACUUM ANALYZE after it) is not a request: no 5 s limit.
            let db = Db::connect(&settings.database_url, BATCH_STATEMENT_TIMEOUT).await?;
            db.migrate().await?;
            let added = seed::seed_demo(&db, groups).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            tracing::info!(added, "demo directory seeded");
            let added = seed::seed_referrals(&db, &settings, referrals).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            tracing::info!(added, "demo referrals seeded");
        }
        Command::Token { role, agency, sub, ttl } => {
            if role == Role::Clinician && agency.is_none() {
                bail!("a clinician token needs --agency <agency id>");
            }
            let sub = sub.unwrap_or_else(|| format!("{}-dev", role.as_claim()));
            println!("{}", dev_token(&settings, role, agency, &sub, ttl)?);
        }
        Command::Demo => demo(settings).await?,
        Command::Import { format } => {
            if !crate::import_cli::run(&settings, format).await?.errors.is_empty() {
                std::process::exit(1);
            }
        }
        Command::Schema | Command::Audit { .. } => {}
    }
    Ok(())
}

/// `circles audit verify`: re-reads the chain of an existing database; exit 1 naming the
/// first bad sequence number.
async fn verify_audit_chain() -> anyhow::Result<()> {
    let (url, shown) = existing_database()?;
    let db = Db::connect(&url, BATCH_STATEMENT_TIMEOUT).await.with_context(|| format!("opening the database {shown}"))?;
    let v = crate::repo::audit::verify(db.conn())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("reading the audit log of {shown} (is it a Circles database? `circles migrate` creates one)"))?;
    db.close().await;
    match v.first_break {
        None => println!("audit chain OK: {} events verified ({shown})", v.checked),
        Some(b) => {
            println!("audit chain BROKEN at seq {}: {} ({} events verified before it; {shown})", b.seq, b.reason, v.checked);
            std::process::exit(1);
        }
    }
    Ok(())
}

/// The database the settings would name (`DATABASE_URL`, else the SQLite file in
/// `CIRCLES_DATA_DIR`), opened so that nothing is created: a SQLite file must exist. Returns
/// the URL and a form safe to print (no password).
fn existing_database() -> anyhow::Result<(String, String)> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let url = match env("DATABASE_URL") {
        Some(url) => url,
        None => {
            let dir = env("CIRCLES_DATA_DIR").unwrap_or_else(|| "./data".into());
            format!("sqlite://{}", std::path::Path::new(&dir).join("circles.db").display())
        }
    };
    if !url.starts_with("sqlite") {
        return Ok((url.clone(), crate::repo::db::redact_url(&url)));
    }
    let Some(path) = crate::repo::db::sqlite_file(&url) else { bail!("`audit verify` needs a database file, not {url}") };
    if !std::path::Path::new(&path).is_file() {
        bail!(
            "no database at {path}: set DATABASE_URL or CIRCLES_DATA_DIR to the one the server uses, or run this from the folder \
             the server runs in (nothing was created)"
        );
    }
    // `mode=rw`: open the file as it is, never create it.
    Ok((format!("sqlite://{path}?mode=rw"), format!("sqlite://{path}")))
}

/// Signs a development token with the configured HS256 secret.
pub fn dev_token(settings: &Settings, role: Role, agency: Option<String>, sub: &str, ttl: Duration) -> anyhow::Result<String> {
    let JwtKeys::Hs256 { secret } = &settings.jwt.keys else {
        bail!("`circles token` signs with CIRCLES_JWT_SECRET; this server verifies public keys only");
    };
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(ttl.as_secs()).context("ttl too long")?;
    let claims = Claims {
        sub: sub.to_owned(),
        role: role.as_claim().to_owned(),
        agency,
        exp: now + ttl,
        nbf: Some(now - 5),
        iat: Some(now),
        iss: settings.jwt.issuer.clone(),
        aud: settings.jwt.audience.clone(),
    };
    sign_hs256(secret, &claims)
}

/// How many synthetic referrals `demo` loads: enough that researchers' statistics show
/// numbers rather than withheld cells (about a second to write).
pub const DEMO_REFERRALS: u64 = 20_000;

async fn demo(settings: Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, BATCH_STATEMENT_TIMEOUT).await?;
    db.migrate().await?;
    seed::seed_demo(&db, 300).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    seed::seed_referrals(&db, &settings, DEMO_REFERRALS).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    db.close().await;
    let app = Application::build(settings.clone()).await?;
    let host = settings.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let url = format!("http://{host}:{}", app.port());
    let day = Duration::from_secs(24 * 3600);
    let mut guide = format!(
        "\nCircles demo is running on {url} (SQLite, data in {}).\n\
         Paste these lines into another terminal (tokens valid 24 hours):\n\n  export CIRCLES_URL={url}\n",
        settings.data_dir.display()
    );
    for (role, agency, sub) in [
        (Role::Clinician, Some("1".to_owned()), "clinician-demo"),
        (Role::Liaison, None, seed::DEMO_LIAISON),
        (Role::Researcher, None, "researcher-demo"),
        (Role::Admin, None, "admin-demo"),
    ] {
        let token = dev_token(&settings, role, agency, sub, day)?;
        guide += &format!("  export CIRCLES_{}_TOKEN={token}\n", role.as_claim().to_uppercase());
    }
    guide += &format!("\nThen try (each line works as pasted):\n\n{}", demo_requests());
    guide += &format!(
        "\nGraphiQL: open {url}/graphql in a browser and add the header\n  {{\"Authorization\": \"Bearer <one of the tokens>\"}}\n\
         More: README.md (recipes per role), examples/ (Python and JavaScript clients), docs/.\n"
    );
    println!("{guide}");
    app.run_until_stopped().await?;
    Ok(())
}

/// The curl lines `demo` prints, one per role; they read `CIRCLES_URL` and the token
/// variables the demo prints just before.
pub fn demo_requests() -> String {
    let gql = |token: &str, query: &str| {
        format!(
            "  curl -s \"$CIRCLES_URL/graphql\" -H 'content-type: application/json' -H \"authorization: Bearer ${token}\" \\\n    -d '{}'\n",
            serde_json::json!({ "query": query })
        )
    };
    [
        "# clinician: groups in Ontario that meet on Thursdays and take new members".to_owned(),
        gql(
            "CIRCLES_CLINICIAN_TOKEN",
            "{ groups(filter: {region: \"Ontario\", meetsOn: THURSDAY, acceptingNewMembers: true}, first: 3) { totalCount edges { node { id name program { name } meetings { weekday startTime durationMinutes } } } } }",
        ),
        "# liaison: the groups this liaison keeps".to_owned(),
        gql("CIRCLES_LIAISON_TOKEN", "{ me { subject role liaisonGroupIds } }"),
        "# researcher: referrals, attendance and retention by channel (perturbed counts)".to_owned(),
        gql("CIRCLES_RESEARCHER_TOKEN", "{ referralStats(groupBy: [CHANNEL]) { perturbed rows { channel referred attended retained } } }"),
        "# admin: the latest audit events".to_owned(),
        gql("CIRCLES_ADMIN_TOKEN", "{ auditEvents(first: 3) { edges { node { seq at action entityType entityId } } } }"),
        "# anyone: the standard feeds (docs/standards.md): Meeting Guide, an HSDS page, FHIR's CapabilityStatement".to_owned(),
        "  curl -s \"$CIRCLES_URL/meeting-guide.json\" | head -c 600; echo\n".to_owned(),
        "  curl -s \"$CIRCLES_URL/hsds/services?per_page=2&search=toronto\"\n".to_owned(),
        "  curl -s \"$CIRCLES_URL/fhir/metadata\" | head -c 600; echo\n".to_owned(),
        "# clinician: groups in Ontario as FHIR HealthcareService resources".to_owned(),
        "  curl -s \"$CIRCLES_URL/fhir/HealthcareService?address-state=Ontario&_count=2\" -H \"authorization: Bearer $CIRCLES_CLINICIAN_TOKEN\"\n"
            .to_owned(),
    ]
    .join("\n")
}
