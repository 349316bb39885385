//! An S3-compatible object store for write-once documents (AWS S3, MinIO, Ceph RGW, and the
//! S3 interfaces of the government clouds' object storage): HEAD, PUT and GET by key with
//! path-style addressing (`{endpoint}/{bucket}/{key}`), signed with AWS Signature Version 4,
//! over http or https. A document may be put under S3 Object Lock in COMPLIANCE mode with a
//! retain-until date, so that the store itself refuses to delete it within its retention period
//! (八(三)), whoever asks.
//!
//! Settings (`{PREFIX}` is the service's, `QIANCHENG_OUTCOME_DOCUMENTS`):
//! `{PREFIX}_S3_ENDPOINT` (`https://obs.example.gov.cn`, `http://127.0.0.1:9000`; setting it
//! turns the store on), `{PREFIX}_S3_BUCKET`, `{PREFIX}_S3_REGION` (default `us-east-1`),
//! `{PREFIX}_S3_ACCESS_KEY_ID`, `{PREFIX}_S3_SECRET_ACCESS_KEY` or `{PREFIX}_S3_SECRET_ACCESS_KEY_FILE`,
//! `{PREFIX}_S3_PREFIX` (keys under it, default `documents/`), `{PREFIX}_S3_OBJECT_LOCK`
//! (`1`: every object put with its retain-until date; the bucket must have Object Lock on),
//! `{PREFIX}_S3_CA_FILE` (the CA of an https endpoint, default the system's).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac as _};
use http::Uri;
use prost::bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio_rustls::rustls::ClientConfig;
use tonic::Status;

use crate::Error;
use crate::http_call::{self, Failure, Reply};

/// How long one request to the store may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest object read back.
const MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;
/// The name the store has in errors that reach a caller (`the documents service is unavailable`).
const PEER_NAME: &str = "documents";

/// Where and how to reach the store.
#[derive(Clone)]
pub struct ObjectStoreConfig {
    /// `http(s)://host[:port]`, without a path.
    pub endpoint: Uri,
    /// The bucket.
    pub bucket: String,
    /// The signing region.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// What every key starts with (`documents/`).
    pub prefix: String,
    /// Put every object under Object Lock in COMPLIANCE mode until its retain-until date.
    pub object_lock: bool,
    /// The CA of an https endpoint (PEM file); the system's trust store when absent.
    pub ca_file: Option<std::path::PathBuf>,
}

impl fmt::Debug for ObjectStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("ObjectStoreConfig")
            .field("endpoint", &self.endpoint.to_string())
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("prefix", &self.prefix)
            .field("object_lock", &self.object_lock)
            .finish_non_exhaustive()
    }
}

impl ObjectStoreConfig {
    /// The store `env` configures under `prefix` (`QIANCHENG_OUTCOME_DOCUMENTS`): `None` when
    /// `{prefix}_S3_ENDPOINT` is not set; an error naming the variable when a setting is missing
    /// or wrong.
    pub fn from_env(prefix: &str, env: &BTreeMap<String, String>) -> Result<Option<Self>, Error> {
        let var = |name: &str| format!("{prefix}_S3_{name}");
        let get = |name: &str| env.get(&var(name)).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(endpoint) = get("ENDPOINT") else { return Ok(None) };
        let required = |name: &str| {
            get(name).ok_or_else(|| Error::Config(format!("{} is required with {}", var(name), var("ENDPOINT"))))
        };
        let endpoint: Uri = endpoint
            .trim_end_matches('/')
            .parse()
            .map_err(|_| Error::Config(format!("{} is not a URL", var("ENDPOINT"))))?;
        if !matches!(endpoint.scheme_str(), Some("http" | "https"))
            || endpoint.host().is_none()
            || !endpoint.path().trim_matches('/').is_empty()
        {
            return Err(Error::Config(format!("{} is http(s)://host[:port], without a path", var("ENDPOINT"))));
        }
        let bucket = required("BUCKET")?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(Error::Config(format!("{} is 3 to 63 lowercase letters, digits, '-' or '.'", var("BUCKET"))));
        }
        let secret_access_key = match (get("SECRET_ACCESS_KEY"), get("SECRET_ACCESS_KEY_FILE")) {
            (Some(secret), None) => secret,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| Error::Config(format!("{}: {e}", var("SECRET_ACCESS_KEY_FILE"))))?,
            _ => {
                return Err(Error::Config(format!(
                    "one of {} and {} is required with {}",
                    var("SECRET_ACCESS_KEY"),
                    var("SECRET_ACCESS_KEY_FILE"),
                    var("ENDPOINT")
                )));
            }
        };
        let object_lock = match get("OBJECT_LOCK").as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(_) => return Err(Error::Config(format!("{} is 1 or 0", var("OBJECT_LOCK")))),
        };
        let mut key_prefix = get("PREFIX").unwrap_or_else(|| "documents/".to_owned());
        if !key_prefix.is_empty() && !key_prefix.ends_with('/') {
            key_prefix.push('/');
        }
        Ok(Some(Self {
            endpoint,
            bucket,
            region: get("REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: required("ACCESS_KEY_ID")?,
            secret_access_key,
            prefix: key_prefix.trim_start_matches('/').to_owned(),
            object_lock,
            ca_file: get("CA_FILE").map(std::path::PathBuf::from),
        }))
    }
}

/// A connection to an S3-compatible store.
#[derive(Clone)]
pub struct ObjectStore {
    config: Arc<ObjectStoreConfig>,
    https: Option<Arc<ClientConfig>>,
    host: String,
    port: u16,
}

impl fmt::Debug for ObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl ObjectStore {
    /// The store of `config` (nothing is called yet).
    pub fn new(config: ObjectStoreConfig) -> Result<Self, Error> {
        let https = config.endpoint.scheme_str() == Some("https");
        let host = config.endpoint.host().unwrap_or_default().to_owned();
        let port = config.endpoint.port_u16().unwrap_or(if https { 443 } else { 80 });
        let https = if https { Some(crate::tls::https_client(config.ca_file.as_deref())?) } else { None };
        Ok(Self { config: Arc::new(config), https, host, port })
    }

    /// Whether an object is stored under `key` (below the prefix).
    pub async fn exists(&self, key: &str) -> Result<bool, Error> {
        let answer = self.call(http::Method::HEAD, key, Bytes::new(), Vec::new()).await?;
        match answer.status.as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(self.failed("HEAD", &answer)),
        }
    }

    /// Puts `content` under `key`, under Object Lock until `retain_until` when the store is
    /// configured for it.
    pub async fn put(&self, key: &str, content: &[u8], retain_until: NaiveDate) -> Result<(), Error> {
        let mut headers = vec![
            ("content-type".to_owned(), "application/octet-stream".to_owned()),
            // The checksum the store verifies the object against; Object Lock asks for one.
            ("x-amz-sdk-checksum-algorithm".to_owned(), "SHA256".to_owned()),
            (
                "x-amz-checksum-sha256".to_owned(),
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(content)),
            ),
        ];
        if self.config.object_lock {
            headers.push(("x-amz-object-lock-mode".to_owned(), "COMPLIANCE".to_owned()));
            headers.push((
                "x-amz-object-lock-retain-until-date".to_owned(),
                format!("{}T00:00:00Z", retain_until.succ_opt().unwrap_or(retain_until)),
            ));
        }
        let answer = self.call(http::Method::PUT, key, Bytes::copy_from_slice(content), headers).await?;
        if answer.status.is_success() { Ok(()) } else { Err(self.failed("PUT", &answer)) }
    }

    /// The object under `key`, or `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let answer = self.call(http::Method::GET, key, Bytes::new(), Vec::new()).await?;
        match answer.status.as_u16() {
            200 => Ok(Some(answer.body.to_vec())),
            404 => Ok(None),
            _ => Err(self.failed("GET", &answer)),
        }
    }

    /// Creates the bucket, with Object Lock on when the store puts objects under it (setting up
    /// a development or test store; production buckets are made by their operators). A bucket
    /// that exists already and is the caller's is left as it is.
    pub async fn create_bucket(&self) -> Result<(), Error> {
        let mut headers = Vec::new();
        if self.config.object_lock {
            headers.push(("x-amz-bucket-object-lock-enabled".to_owned(), "true".to_owned()));
        }
        let path = format!("/{}", self.config.bucket);
        let answer = self.call_path(http::Method::PUT, path, Bytes::new(), headers).await?;
        let code = s3_error_code(&answer.body).unwrap_or_default();
        if answer.status.is_success() || code == "BucketAlreadyOwnedByYou" {
            Ok(())
        } else {
            Err(self.failed("PUT bucket", &answer))
        }
    }

    /// An answer other than the expected one: the store's error code (`AccessDenied`) and the
    /// HTTP status, never the body's other text.
    fn failed(&self, method: &str, answer: &Reply) -> Error {
        let code = s3_error_code(&answer.body).unwrap_or_default();
        tracing::error!(method, status = answer.status.as_u16(), code, bucket = %self.config.bucket, "object store refused");
        unavailable(format!("the document store answered {method} with HTTP {} {code}", answer.status.as_u16()))
    }

    fn path(&self, key: &str) -> String {
        format!("/{}/{}", self.config.bucket, uri_encode(&format!("{}{key}", self.config.prefix), false))
    }

    fn host_header(&self) -> String {
        let default = if self.https.is_some() { 443 } else { 80 };
        if self.port == default { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }

    async fn call(
        &self,
        method: http::Method,
        key: &str,
        body: Bytes,
        headers: Vec<(String, String)>,
    ) -> Result<Reply, Error> {
        self.call_path(method, self.path(key), body, headers).await
    }

    async fn call_path(
        &self,
        method: http::Method,
        path: String,
        body: Bytes,
        headers: Vec<(String, String)>,
    ) -> Result<Reply, Error> {
        let signed = sign_v4(&self.config, &method, &path, &self.host_header(), headers, &body, Utc::now());
        let mut request = http::Request::builder().method(method.clone()).uri(path.as_str());
        for (name, value) in &signed {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(http_body_util::Full::new(body))
            .map_err(|e| Error::Config(format!("document store request: {e}")))?;
        tokio::time::timeout(REQUEST_TIMEOUT, self.send(request, method == http::Method::HEAD)).await.map_err(|_| {
            unavailable(format!("the document store did not answer within {} s", REQUEST_TIMEOUT.as_secs()))
        })?
    }

    async fn send(&self, request: http::Request<http_body_util::Full<Bytes>>, head: bool) -> Result<Reply, Error> {
        let read = |_| (!head).then_some(MAX_OBJECT_BYTES);
        http_call::send((&self.host, self.port), self.https.as_ref(), request, read).await.map_err(|failure| {
            match failure {
                Failure::Unreachable(e) => unavailable(format!("the document store cannot be reached: {e}")),
                Failure::Name(e) => Error::Config(format!("document store: {e}")),
                Failure::Tls(e) => unavailable(format!("TLS with the document store: {e}")),
                Failure::Http(e) => unavailable(format!("the document store: {e}")),
                Failure::Body(e) => unavailable(format!("the document store's answer: {e}")),
            }
        })
    }
}

fn unavailable(message: String) -> Error {
    Error::Peer { service: PEER_NAME, status: Box::new(Status::unavailable(message)) }
}

/// The `<Code>` of an S3 error document, if it is one.
fn s3_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    let code = &text[start..end];
    (code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| code.to_owned())
}

/// URI-encodes as Signature Version 4 asks: unreserved characters stay, everything else is
/// `%XX` (uppercase); `/` stays in a path unless `slash` says otherwise.
fn uri_encode(value: &str, slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b'/' if !slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The headers of a request signed with AWS Signature Version 4 (header-based, the payload's
/// SHA-256 signed): `headers` with `host`, `x-amz-date`, `x-amz-content-sha256` and
/// `authorization` added.
fn sign_v4(
    config: &ObjectStoreConfig,
    method: &http::Method,
    path: &str,
    host: &str,
    mut headers: Vec<(String, String)>,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = now.format("%Y%m%d").to_string();
    let payload_hash = hex::encode(Sha256::digest(payload));
    headers.push(("host".to_owned(), host.to_owned()));
    headers.push(("x-amz-date".to_owned(), amz_date.clone()));
    headers.push(("x-amz-content-sha256".to_owned(), payload_hash.clone()));
    let mut canonical: Vec<(String, String)> =
        headers.iter().map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned())).collect();
    canonical.sort();
    let signed_headers = canonical.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = canonical.iter().map(|(name, value)| format!("{name}:{value}\n")).collect();
    let canonical_request = format!("{method}\n{path}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let scope = format!("{day}/{}/s3/aws4_request", config.region);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let key = [day.as_str(), config.region.as_str(), "s3", "aws4_request"]
        .iter()
        .fold(format!("AWS4{}", config.secret_access_key).into_bytes(), |key, part| hmac(&key, part.as_bytes()));
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    headers.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            config.access_key_id
        ),
    ));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ObjectStoreConfig {
        ObjectStoreConfig {
            endpoint: "https://examplebucket.s3.amazonaws.com".parse().expect("a URL"),
            bucket: "examplebucket".to_owned(),
            region: "us-east-1".to_owned(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_owned(),
            prefix: String::new(),
            object_lock: false,
            ca_file: None,
        }
    }

    /// The "GET Object" example of the Signature Version 4 documentation (virtual-hosted, so the
    /// bucket is in the host and the path is the key): the same signature to the character.
    #[test]
    fn a_request_is_signed_as_the_signature_version_4_example_signs_it() {
        let now = DateTime::parse_from_rfc3339("2013-05-24T00:00:00Z").expect("a time").with_timezone(&Utc);
        let headers = sign_v4(
            &config(),
            &http::Method::GET,
            "/test.txt",
            "examplebucket.s3.amazonaws.com",
            vec![("Range".to_owned(), "bytes=0-9".to_owned())],
            b"",
            now,
        );
        let authorization = headers.iter().find(|(name, _)| name == "authorization").map(|(_, v)| v.as_str());
        assert_eq!(
            authorization,
            Some(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
                 Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
            )
        );
    }

    #[test]
    fn keys_are_encoded_as_signature_version_4_asks() {
        assert_eq!(uri_encode("documents/ab/ab12", false), "documents/ab/ab12");
        assert_eq!(uri_encode("a b+c/证", false), "a%20b%2Bc/%E8%AF%81");
        assert_eq!(uri_encode("a/b", true), "a%2Fb");
    }

    #[test]
    fn settings_name_what_is_missing() {
        let env = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (format!("QIANCHENG_OUTCOME_DOCUMENTS_S3_{k}"), (*v).to_owned())).collect()
        };
        let prefix = "QIANCHENG_OUTCOME_DOCUMENTS";
        assert!(ObjectStoreConfig::from_env(prefix, &env(&[])).expect("nothing set").is_none());
        let missing =
            ObjectStoreConfig::from_env(prefix, &env(&[("ENDPOINT", "http://127.0.0.1:9000")])).expect_err("no bucket");
        assert!(missing.to_string().contains("QIANCHENG_OUTCOME_DOCUMENTS_S3_BUCKET"), "{missing}");
        let full = [
            ("ENDPOINT", "http://127.0.0.1:9000/"),
            ("BUCKET", "qiancheng-documents"),
            ("ACCESS_KEY_ID", "id"),
            ("SECRET_ACCESS_KEY", "secret"),
            ("OBJECT_LOCK", "1"),
        ];
        let config = ObjectStoreConfig::from_env(prefix, &env(&full)).expect("valid").expect("set");
        assert_eq!(
            (config.prefix.as_str(), config.region.as_str(), config.object_lock),
            ("documents/", "us-east-1", true)
        );
        assert!(!format!("{config:?}").contains("secret"), "the secret never reaches a log");
        let mut with_path = full.to_vec();
        with_path[0] = ("ENDPOINT", "http://127.0.0.1:9000/bucket");
        assert!(ObjectStoreConfig::from_env(prefix, &env(&with_path)).is_err());
        let mut bad_bucket = full.to_vec();
        bad_bucket[1] = ("BUCKET", "Qiancheng_Docs");
        assert!(ObjectStoreConfig::from_env(prefix, &env(&bad_bucket)).is_err());
    }

    #[test]
    fn an_s3_error_document_gives_its_code_and_nothing_else() {
        let body = b"<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>x</Message></Error>";
        assert_eq!(s3_error_code(body).as_deref(), Some("AccessDenied"));
        assert_eq!(s3_error_code(b"<Code>a b</Code>"), None);
        assert_eq!(s3_error_code(b"not xml"), None);
    }
}
