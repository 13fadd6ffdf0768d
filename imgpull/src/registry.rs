//! The registry v2 API (distribution-spec), over HTTP(S), with the
//! authentication dance registries use: a request answered 401 carries a
//! `WWW-Authenticate` challenge; `Bearer realm=..,service=..,scope=..`
//! means "get a token from realm" (anonymously or with basic credentials),
//! `Basic` means "send the credentials with each request".

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use ureq::http::Response;
use ureq::tls::{TlsConfig, TlsProvider};
use ureq::{Agent, Body};

use crate::challenge::{self, Challenge};
use imgstore::reference::is_loopback;

pub struct Registry {
    /// Certificates verified against the built-in Mozilla roots.
    agent: Agent,
    /// No certificate verification: only for the registry host itself,
    /// when it is on loopback or the user said --insecure.
    lax: Agent,
    host: String,
    scheme: &'static str,
    /// Until the registry first answers: whether HTTPS may still fall back
    /// to plain HTTP.
    probing: bool,
    repository: String,
    /// Basic credentials (base64 `user:password`) for this registry, if any.
    credentials: Option<String>,
    /// Loopback or --insecure: HTTPS without verification first, then
    /// plain HTTP, as Docker treats its insecure registries (127.0.0.0/8
    /// is one by default).
    insecure: bool,
    /// The Authorization header earned by the last challenge.
    authorization: Option<String>,
}

/// An HTTP(S) agent. graviola is a pure-Rust crypto provider, so the
/// static musl build needs no C compiler (ring and aws-lc-rs compile C).
fn agent(verify: bool) -> Agent {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls_graviola::default_provider()))
        .disable_verification(!verify)
        .build();
    Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        // A registry that stops answering fails the pull instead of
        // hanging it; a slow but moving download is fine (per read).
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("isokit-imgpull/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

impl Registry {
    pub fn new(host: &str, repository: &str, credentials: Option<String>, insecure: bool) -> Registry {
        let insecure = insecure || is_loopback(host);
        Registry {
            agent: agent(true),
            lax: agent(false),
            host: host.to_string(),
            scheme: "https",
            probing: insecure,
            repository: repository.to_string(),
            credentials,
            insecure,
            authorization: None,
        }
    }

    /// Where the registry answered (for the trace line).
    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// GET /v2/REPOSITORY/KIND/REF, answering one authentication challenge.
    pub fn get(&mut self, kind: &str, reference: &str, accept: &str) -> anyhow::Result<Response<Body>> {
        let path = format!("/v2/{}/{kind}/{reference}", self.repository);
        let (url, response) = self.call(&path, accept)?;
        if response.status() != 401 {
            return checked(&url, response);
        }
        let header = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let answer = match challenge::parse(&header) {
            Some(Challenge::Bearer { realm, service, scope }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.repository));
                format!("Bearer {}", self.token(&realm, service.as_deref(), &scope)?)
            }
            Some(Challenge::Basic) => match &self.credentials {
                Some(credentials) => format!("Basic {credentials}"),
                None => bail!(
                    "GET '{url}': the registry asks for a user name and password and none is in the credentials file"
                ),
            },
            None => bail!("GET '{url}': 401 Unauthorized with no challenge this client understands ('{header}')"),
        };
        self.authorization = Some(answer);
        let (url, response) = self.call(&path, accept)?;
        if response.status() == 401 {
            bail!(
                "GET '{url}': 401 Unauthorized even with the token (wrong credentials, or no access to '{}')",
                self.repository
            );
        }
        checked(&url, response)
    }

    /// One request to the registry; the first one to an insecure registry
    /// that fails over HTTPS (no TLS there) is tried again over HTTP.
    fn call(&mut self, path: &str, accept: &str) -> anyhow::Result<(String, Response<Body>)> {
        loop {
            let url = format!("{}{path}", self.base());
            let agent = if self.insecure { &self.lax } else { &self.agent };
            match send(agent, &url, accept, self.authorization.as_deref()) {
                Ok(response) => {
                    self.probing = false;
                    return Ok((url, response));
                }
                Err(_) if self.probing => {
                    self.probing = false;
                    self.scheme = "http";
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Ask the token server for a pull token (distribution's token
    /// protocol): GET realm?service=..&scope=.., with basic credentials
    /// when there are some, never over plain HTTP to a remote host.
    fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> anyhow::Result<String> {
        let realm_host = realm.strip_prefix("http://").map(|r| r.split('/').next().unwrap_or(""));
        if let Some(host) = realm_host {
            if !self.insecure || !is_loopback(host) && host != self.host {
                bail!("token server '{realm}' is plain HTTP: refusing to send credentials or take a token over it (use --insecure if you trust the network)");
            }
        } else if !realm.starts_with("https://") {
            bail!("token server '{realm}' is not an http(s) URL");
        }
        let mut url = format!("{realm}?scope={}", challenge::encode(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", challenge::encode(service)));
        }
        // Certificates are checked unless the token server is the insecure
        // registry itself.
        let same_host = realm.split('/').nth(2) == Some(self.host.as_str());
        let agent = if self.insecure && same_host { &self.lax } else { &self.agent };
        let mut request = agent.get(&url);
        if let Some(credentials) = &self.credentials {
            request = request.header("Authorization", format!("Basic {credentials}"));
        }
        let response = request.call().map_err(|err| anyhow!("{err}")).with_context(|| format!("GET token '{url}'"))?;
        let mut response = checked(&url, response)?;
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|err| anyhow!("{err}"))
            .context("read the token")?;
        let json: serde_json::Value =
            serde_json::from_slice(&body).with_context(|| format!("parse the token from '{realm}'"))?;
        let token = json.get("token").or_else(|| json.get("access_token")).and_then(|t| t.as_str());
        match token {
            Some(token) if !token.is_empty() => Ok(token.to_string()),
            _ => bail!("token server '{realm}' answered without a token"),
        }
    }
}

fn send(agent: &Agent, url: &str, accept: &str, authorization: Option<&str>) -> anyhow::Result<Response<Body>> {
    let mut request = agent.get(url).header("Accept", accept);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    request.call().map_err(|err| anyhow!("{err}")).with_context(|| format!("GET '{url}'"))
}

/// A non-2xx answer is an error carrying the registry's own message.
fn checked(url: &str, mut response: Response<Body>) -> anyhow::Result<Response<Body>> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut text = String::new();
    let _ = response.body_mut().as_reader().take(512).read_to_string(&mut text);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("errors")?.get(0)?.get("message")?.as_str().map(str::to_string))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_lowercase());
    bail!("GET '{url}': HTTP {}: {message}", status.as_u16())
}
