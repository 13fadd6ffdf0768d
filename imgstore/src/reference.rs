//! Image references, normalised as Docker does (distribution/reference):
//! `alpine` is `docker.io/library/alpine:latest`, `user/app` is
//! `docker.io/user/app:latest`, and a first component with a `.` or a `:`,
//! or `localhost`, names the registry host.

use crate::Digest;
use anyhow::bail;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// As users write it: `docker.io`, `127.0.0.1:5000`, `ghcr.io`.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

const DOCKER_HUB: &str = "docker.io";

impl Reference {
    pub fn parse(text: &str) -> anyhow::Result<Reference> {
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (text, None),
        };
        // A tag is after the last ':' that follows the last '/' (a ':'
        // before it belongs to a registry port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), path.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" { DOCKER_HUB.to_string() } else { registry };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        check_repository(text, &repository)?;
        if let Some(tag) = &tag {
            check_tag(text, tag)?;
        }
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_string()) } else { tag };
        Ok(Reference { registry, repository, tag, digest })
    }

    /// The full name the store knows the image by.
    pub fn name(&self) -> String {
        let mut name = format!("{}/{}", self.registry, self.repository);
        if let Some(tag) = &self.tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            name.push('@');
            name.push_str(&digest.to_string());
        }
        name
    }

    /// The host the v2 API answers on: Docker Hub's is not docker.io.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// What to ask /v2/NAME/manifests/ for: the digest when given.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

/// `localhost`, 127.0.0.0/8 and ::1, with or without a port: registries
/// Docker talks plain HTTP to without being told.
pub fn is_loopback(host_port: &str) -> bool {
    let host = if let Some(rest) = host_port.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(host, _)| host)
    };
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_repository(text: &str, repository: &str) -> anyhow::Result<()> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes()[0].is_ascii_alphanumeric()
    };
    if !repository.split('/').all(component_ok) {
        bail!("invalid image reference '{text}': repository names are lowercase letters, digits and . _ - between slashes");
    }
    Ok(())
}

fn check_tag(text: &str, tag: &str) -> anyhow::Result<()> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !tag.starts_with(['.', '-']);
    if !ok {
        bail!("invalid tag in '{text}'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> String {
        Reference::parse(text).unwrap().name()
    }

    #[test]
    fn docker_hub_short_names_expand() {
        assert_eq!(name("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(name("user/app:1.2"), "docker.io/user/app:1.2");
        assert_eq!(name("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(Reference::parse("alpine").unwrap().api_host(), "registry-1.docker.io");
    }

    #[test]
    fn registry_hosts_and_ports() {
        let r = Reference::parse("127.0.0.1:5000/demo:1").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "demo", Some("1"))
        );
        assert_eq!(name("localhost/a/b"), "localhost/a/b:latest");
        assert_eq!(name("ghcr.io/o/p"), "ghcr.io/o/p:latest");
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("localhost:5000/x@{digest}")).unwrap();
        assert_eq!((r.tag.clone(), r.manifest_ref()), (None, digest));
    }

    #[test]
    fn bad_references_are_refused() {
        assert!(Reference::parse("Upper/case").is_err());
        assert!(Reference::parse("x:-bad").is_err());
        assert!(Reference::parse("x@sha256:../../etc").is_err());
        assert!(Reference::parse("localhost:5000/../x").is_err());
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("127.1.2.3"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("registry.example.com"));
        assert!(!is_loopback("10.0.0.1:5000"));
    }
}
