//! GraphiQL for browsers, served from the binary so that it works without internet access
//! (clinic networks often block CDNs): `GET /graphql` from a browser gets `index.html`, which
//! loads React and GraphiQL from `/graphiql/…` (files from the npm registry, listed with their
//! versions, licences and hashes in `api/assets/graphiql/README.md`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("../../assets/graphiql/index.html");

/// The embedded files by name, with their content types.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("react.production.min.js", "application/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/react.production.min.js")),
    (
        "react-dom.production.min.js",
        "application/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    ("graphiql.min.js", "application/javascript; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", "text/css; charset=utf-8", include_bytes!("../../assets/graphiql/graphiql.min.css")),
];

/// The GraphiQL page.
pub fn page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(INDEX)
}

/// `GET /graphiql/{file}`: one of the embedded files (they never change within a release).
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(file, _, _)| *file == name.as_str()) {
        Some((_, content_type, bytes)) => {
            HttpResponse::Ok().content_type(*content_type).insert_header((header::CACHE_CONTROL, "public, max-age=86400")).body(*bytes)
        }
        None => HttpResponse::NotFound().finish(),
    }
}
