//! Choosing one manifest of an image index / manifest list by platform.

use anyhow::bail;
use serde_json::Value;

#[derive(Debug, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`, or this machine's (`linux/amd64` here).
    pub fn parse(text: Option<&str>) -> anyhow::Result<Platform> {
        let Some(text) = text else {
            return Ok(Platform {
                os: "linux".into(),
                architecture: imgstore::host_architecture().into(),
                variant: None,
            });
        };
        let parts: Vec<&str> = text.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: parts.get(2).map(|v| v.to_string()),
            }),
            _ => bail!("invalid platform '{text}' (expected OS/ARCH[/VARIANT], e.g. linux/arm64)"),
        }
    }

    fn matches(&self, platform: &Value) -> bool {
        let field = |key: &str| platform.get(key).and_then(Value::as_str);
        field("os") == Some(self.os.as_str())
            && field("architecture") == Some(self.architecture.as_str())
            && self.variant.as_deref().is_none_or(|v| field("variant") == Some(v))
    }
}

/// The descriptor in `index` for `wanted`; the error lists what there is.
pub fn choose<'a>(index: &'a Value, wanted: &Platform) -> anyhow::Result<&'a Value> {
    let manifests = index.get("manifests").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let candidates: Vec<&Value> =
        manifests.iter().filter(|m| m.get("platform").is_some_and(|p| wanted.matches(p))).collect();
    // Without a variant asked for, arm64 images may say v8 or nothing:
    // the first match, in index order, is what Docker takes too.
    if let Some(found) = candidates.first() {
        return Ok(found);
    }
    let available: Vec<String> = manifests
        .iter()
        .filter_map(|m| {
            let p = m.get("platform")?;
            let mut name = format!("{}/{}", p.get("os")?.as_str()?, p.get("architecture")?.as_str()?);
            if let Some(variant) = p.get("variant").and_then(Value::as_str) {
                name = format!("{name}/{variant}");
            }
            Some(name)
        })
        .collect();
    let variant = wanted.variant.as_deref().map(|v| format!("/{v}")).unwrap_or_default();
    bail!(
        "no manifest for platform {}/{}{variant} in the index (it has: {})",
        wanted.os,
        wanted.architecture,
        available.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_platform() {
        let index: Value = serde_json::from_str(
            r#"{"manifests":[
                {"digest":"a","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
                {"digest":"b","platform":{"os":"linux","architecture":"amd64"}},
                {"digest":"c","platform":{"os":"unknown","architecture":"unknown"}}]}"#,
        )
        .unwrap();
        let pick = |p: &str| {
            choose(&index, &Platform::parse(Some(p)).unwrap()).map(|m| m["digest"].as_str().unwrap().to_string())
        };
        assert_eq!(pick("linux/amd64").unwrap(), "b");
        assert_eq!(pick("linux/arm64").unwrap(), "a");
        assert_eq!(pick("linux/arm64/v8").unwrap(), "a");
        let err = pick("linux/s390x").unwrap_err().to_string();
        assert!(err.contains("linux/arm64/v8, linux/amd64"), "{err}");
        assert!(Platform::parse(Some("linux")).is_err());
    }
}
