//! The REST API's reply envelope: `{"code":0,"result":..}` with HTTP 200 on success, and
//! `{"code":<status>,"message":..}` with the real HTTP status on error.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt;

/// What every handler returns: `Ok(value)` becomes `{"code":0,"result":value}`.
pub type ApiResult = Result<HttpResponse, ApiError>;

/// HTTP 200 `{"code":0,"result":value}`.
pub fn ok<T: Serialize>(value: T) -> ApiResult {
    let result = serde_json::to_value(value)
        .map_err(|e| ApiError::internal(format!("cannot encode the result: {e}")))?;
    Ok(HttpResponse::Ok().json(json!({"code": 0, "result": result})))
}

/// HTTP 200 `{"code":0,"result":{}}`.
pub fn ok_empty() -> ApiResult {
    ok(json!({}))
}

/// An error answered as `{"code":<status>,"message":..}` with that HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// 400: the message names the parameter or field at fault.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401, answered with `WWW-Authenticate: Basic realm="emqttd"`.
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    /// 404: the message names what was not found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"code": self.status.as_u16(), "message": self.message})
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"emqttd\""));
        }
        response.json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_status_in_the_body() {
        let e = ApiError::bad_request("_limit: expected a number");
        assert_eq!(e.body()["code"], 400);
        assert_eq!(e.body()["message"], "_limit: expected a number");
        assert_eq!(e.status_code(), StatusCode::BAD_REQUEST);
        let r = ApiError::unauthorized().error_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn ok_wraps_the_result() {
        let r = ok(vec![1, 2]).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}
