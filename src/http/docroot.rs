//! The dashboard's static files (`[http] docroot`, default `priv/www`) served at `/`, without
//! auth (the dashboard logs in through `POST /api/v2/auth`). Only plain path segments are
//! served: no `..`, no hidden files, no absolute paths.

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use std::path::{Path, PathBuf};

/// Where the files are: `docroot` as given if it exists (relative to the working directory),
/// else relative to the source tree; `None` when neither exists.
pub fn locate(docroot: &Path) -> Option<PathBuf> {
    if docroot.as_os_str().is_empty() {
        return None;
    }
    if docroot.is_dir() {
        return Some(docroot.to_path_buf());
    }
    let in_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join(docroot);
    (docroot.is_relative() && in_crate.is_dir()).then_some(in_crate)
}

/// The file under `root` that the URL path `url_path` names, if the path is safe: every
/// segment percent-decoded, non-empty, not `.`/`..`, not hidden, without `\` or NUL.
/// A path ending in `/` names its `index.html`.
pub fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let mut file = root.to_path_buf();
    let trimmed = url_path.trim_start_matches('/');
    for segment in trimmed.split('/') {
        if segment.is_empty() {
            continue;
        }
        let decoded = percent_encoding::percent_decode_str(segment)
            .decode_utf8()
            .ok()?;
        if decoded.starts_with('.')
            || decoded.contains(['/', '\\', '\0'])
            || Path::new(decoded.as_ref()).is_absolute()
        {
            return None;
        }
        file.push(decoded.as_ref());
    }
    if trimmed.is_empty() || trimmed.ends_with('/') {
        file.push("index.html");
    }
    Some(file)
}

/// The Content-Type of a file name.
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("ico") => "image/x-icon",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("ttf") => "font/ttf",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /...`: a dashboard file, 404 when it does not exist, or a short note when the
/// dashboard's files are not installed.
pub async fn serve(req: HttpRequest, root: web::Data<DocRoot>) -> HttpResponse {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "GET, HEAD"))
            .content_type("text/plain; charset=utf-8")
            .body("only GET and HEAD are served here\n");
    }
    let Some(root) = &root.0 else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("emqttd: the dashboard assets are missing (see [http] docroot); the REST API is at /api/v2\n");
    };
    let not_found = || {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found\n")
    };
    let Some(mut file) = resolve(root, req.path()) else {
        return not_found();
    };
    if file.is_dir() {
        file.push("index.html");
    }
    match std::fs::read(&file) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type(content_type(&file))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .body(bytes),
        Err(_) => not_found(),
    }
}

/// The located docroot, shared by the workers (`None`: assets missing).
pub struct DocRoot(pub Option<PathBuf>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_plain_paths_only() {
        let root = Path::new("/srv/www");
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(
            resolve(root, "/static/app.js"),
            Some(root.join("static/app.js"))
        );
        assert_eq!(resolve(root, "/a//b"), Some(root.join("a/b")));
        assert_eq!(
            resolve(root, "/static/"),
            Some(root.join("static/index.html"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/static/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(root, "/a%2F..%2F..%2Fetc"), None);
        assert_eq!(resolve(root, "/.git/config"), None);
        assert_eq!(resolve(root, "/a%5C..%5Cb"), None);
        assert_eq!(resolve(root, "/a%00"), None);
        assert_eq!(resolve(root, "/%ff"), None);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type(Path::new("index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("a/app.JS")),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("s.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("logo.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("blob")), "application/octet-stream");
    }
}
