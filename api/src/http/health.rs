//! `/healthz` (the process is up) and `/readyz` (the database answers).

use actix_web::{HttpResponse, web};

use crate::repo::Db;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

pub async fn readyz(db: web::Data<Db>) -> HttpResponse {
    // Within 2 s, whatever the pool does (a saturated pool or an unreachable server).
    let ready = tokio::time::timeout(std::time::Duration::from_secs(2), db.ping()).await.unwrap_or(false);
    if ready {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unreachable")
    }
}
