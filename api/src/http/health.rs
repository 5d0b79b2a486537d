//! `/healthz` (the process is up) and `/readyz` (the database answers).

use actix_web::{HttpResponse, web};

use crate::repo::Db;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

pub async fn readyz(db: web::Data<Db>) -> HttpResponse {
    if db.ping().await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unreachable")
    }
}
