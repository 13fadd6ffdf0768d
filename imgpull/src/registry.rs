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
    agent: Agent,
    base: String,
    repository: String,
    /// Basic credentials (base64 `user:password`) for this registry, if any.
    credentials: Option<String>,
    /// Whether plain HTTP is allowed (loopback or --insecure).
    plain_http: bool,
    /// The Authorization header earned by the last challenge.
    authorization: Option<String>,
}

impl Registry {
    pub fn new(host: &str, repository: &str, credentials: Option<String>, insecure: bool) -> Registry {
        let plain_http = insecure || is_loopback(host);
        let scheme = if plain_http { "http" } else { "https" };
        // graviola: a pure-Rust crypto provider, so the static musl build
        // needs no C compiler (ring and aws-lc-rs both compile C).
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls_graviola::default_provider()))
            .build();
        let agent = Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            // A registry that stops answering fails the pull instead of
            // hanging it; a slow but moving download is fine (per read).
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("isokit-imgpull/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Registry {
            agent,
            base: format!("{scheme}://{host}"),
            repository: repository.to_string(),
            credentials,
            plain_http,
            authorization: None,
        }
    }

    /// GET /v2/REPOSITORY/KIND/REF, answering one authentication challenge.
    pub fn get(&mut self, kind: &str, reference: &str, accept: &str) -> anyhow::Result<Response<Body>> {
        let url = format!("{}/v2/{}/{kind}/{reference}", self.base, self.repository);
        let response = self.send(&url, accept)?;
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
                None => bail!("GET '{url}': the registry asks for a user name and password and none is in the credentials file"),
            },
            None => bail!("GET '{url}': 401 Unauthorized with no challenge this client understands ('{header}')"),
        };
        self.authorization = Some(answer);
        let response = self.send(&url, accept)?;
        if response.status() == 401 {
            bail!("GET '{url}': 401 Unauthorized even with the token (wrong credentials, or no access to '{}')", self.repository);
        }
        checked(&url, response)
    }

    fn send(&self, url: &str, accept: &str) -> anyhow::Result<Response<Body>> {
        let mut request = self.agent.get(url).header("Accept", accept);
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        request.call().map_err(|err| anyhow!("{err}")).with_context(|| format!("GET '{url}'"))
    }

    /// Ask the token server for a pull token (distribution's token
    /// protocol): GET realm?service=..&scope=.., with basic credentials
    /// when there are some, never over plain HTTP to a remote host.
    fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> anyhow::Result<String> {
        let realm_host = realm.strip_prefix("http://").map(|r| r.split('/').next().unwrap_or(""));
        if let Some(host) = realm_host {
            if !self.plain_http || !is_loopback(host) && !self.base.ends_with(host) {
                bail!("token server '{realm}' is plain HTTP: refusing to send credentials or take a token over it (use --insecure if you trust the network)");
            }
        } else if !realm.starts_with("https://") {
            bail!("token server '{realm}' is not an http(s) URL");
        }
        let mut url = format!("{realm}?scope={}", challenge::encode(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", challenge::encode(service)));
        }
        let mut request = self.agent.get(&url);
        if let Some(credentials) = &self.credentials {
            request = request.header("Authorization", format!("Basic {credentials}"));
        }
        let response = request.call().map_err(|err| anyhow!("{err}")).with_context(|| format!("GET token '{url}'"))?;
        let mut response = checked(&url, response)?;
        let body = response.body_mut().with_config().limit(1 << 20).read_to_vec().map_err(|err| anyhow!("{err}")).context("read the token")?;
        let json: serde_json::Value = serde_json::from_slice(&body).with_context(|| format!("parse the token from '{realm}'"))?;
        let token = json.get("token").or_else(|| json.get("access_token")).and_then(|t| t.as_str());
        match token {
            Some(token) if !token.is_empty() => Ok(token.to_string()),
            _ => bail!("token server '{realm}' answered without a token"),
        }
    }
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
