//! `circles import meeting-guide|hsds FILE [--dry-run]`: reads the file, turns its records
//! into listings (`standards`), writes them in one transaction (`services::import`) and
//! prints what was created, updated, left unchanged, ignored and refused. When any record
//! is refused nothing is written, and `circles` exits 1.

use anyhow::Context;

use crate::cli::ImportFormat;
use crate::config::Settings;
use crate::repo::Db;
use crate::repo::audit::Actor;
use crate::services::import::{self, Key, Records, Report};
use crate::standards::RecordError;
use crate::standards::meeting_guide::{self, Entry};
use crate::standards::meeting_guide_import::{self as mg, Defaults};

/// The Meeting Guide feed in `bytes` as listings keyed by their meetings' slugs.
fn meeting_guide_records(bytes: &[u8], defaults: &Defaults) -> anyhow::Result<Records> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(bytes).context("a Meeting Guide feed is a JSON array of meetings")?;
    let mut errors = Vec::new();
    let mut feed = Vec::new();
    for (i, v) in values.into_iter().enumerate() {
        let slug = v.get("slug").map(|s| s.to_string().trim_matches('"').to_owned()).unwrap_or_default();
        match serde_json::from_value::<Entry>(v) {
            Ok(e) => feed.push(e),
            Err(err) => errors.push(RecordError { at: format!("[{i}] {slug}"), reason: err.to_string() }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, e) in feed.iter().enumerate() {
        if !seen.insert(e.slug.clone()) {
            errors.push(RecordError { at: format!("[{i}] {}", e.slug), reason: "slug: another entry has this slug".into() });
        }
    }
    let mut records = Vec::new();
    for members in meeting_guide::by_group(&feed) {
        match mg::incoming(&feed, &members, defaults) {
            Ok(incoming) => {
                let slugs = members.iter().map(|&m| feed[m].slug.clone()).collect();
                records.push((incoming, Key::MeetingSlugs(slugs)));
            }
            Err(err) => errors.push(err),
        }
    }
    Ok((records, errors))
}

fn print(report: &Report, dry_run: bool) {
    for at in &report.created {
        println!("create  {at}");
    }
    for at in &report.updated {
        println!("update  {at}");
    }
    for (at, code) in &report.ignored {
        println!("ignore  {at}: {code} (not kept by Circles)");
    }
    for e in &report.errors {
        println!("error   {}: {}", e.at, e.reason);
    }
    let verb = match (dry_run, report.errors.is_empty()) {
        (_, false) => "nothing written: fix the records above and import again",
        (true, true) => "dry run: nothing written",
        (false, true) => "written",
    };
    println!(
        "{} created, {} updated, {} unchanged, {} errors; {verb}",
        report.created.len(),
        report.updated.len(),
        report.unchanged,
        report.errors.len()
    );
}

/// Imports the file; the report says whether anything was refused.
pub async fn run(settings: &Settings, format: ImportFormat) -> anyhow::Result<Report> {
    let (file, dry_run) = match &format {
        ImportFormat::MeetingGuide { file, dry_run, .. } | ImportFormat::Hsds { file, dry_run } => (file.clone(), *dry_run),
    };
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let (source, (records, errors)) = match format {
        ImportFormat::MeetingGuide { time_zone, country, .. } => {
            ("meeting-guide", meeting_guide_records(&bytes, &Defaults { time_zone, country })?)
        }
        ImportFormat::Hsds { .. } => ("hsds", crate::standards::hsds_import::records(&bytes)?),
    };
    let db = Db::connect(&settings.database_url, std::time::Duration::from_secs(600)).await?;
    db.migrate().await?;
    let actor = Actor::system(&format!("import-{source}"));
    let report = import::apply(&db, &actor, source, &bytes, records, errors, dry_run).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    print(&report, dry_run);
    db.close().await;
    Ok(report)
}
