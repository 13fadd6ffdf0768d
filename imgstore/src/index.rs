//! index.json of the layout: one descriptor per pulled reference.

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::{Digest, OCI_INDEX, REF_NAME};

pub fn empty() -> Value {
    json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [] })
}

/// A descriptor (image-spec `descriptor.md`) for index.json.
pub fn descriptor(media_type: &str, digest: &Digest, size: u64) -> Value {
    json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size })
}

fn name_of(entry: &Value) -> Option<&str> {
    entry.get("annotations")?.get(REF_NAME)?.as_str()
}

/// The digest named `reference`, if any.
pub fn find<'a>(index: &'a Value, reference: &str) -> Option<&'a str> {
    let manifests = index.get("manifests")?.as_array()?;
    manifests.iter().find(|m| name_of(m) == Some(reference))?.get("digest")?.as_str()
}

/// (reference, manifest digest, manifest size) of every named entry.
pub fn entries(index: &Value) -> Vec<(String, String, u64)> {
    let Some(manifests) = index.get("manifests").and_then(Value::as_array) else { return Vec::new() };
    manifests
        .iter()
        .filter_map(|m| {
            let digest = m.get("digest")?.as_str()?.to_string();
            let size = m.get("size").and_then(Value::as_u64).unwrap_or(0);
            Some((name_of(m)?.to_string(), digest, size))
        })
        .collect()
}

/// Remove the entry named `reference` and add `new` (named so) if given.
/// Returns whether an entry was removed.
pub fn replace(index: &mut Value, reference: &str, new: Option<Value>) -> anyhow::Result<bool> {
    let Some(manifests) = index.get_mut("manifests").and_then(Value::as_array_mut) else {
        bail!("index.json has no manifests list");
    };
    let before = manifests.len();
    manifests.retain(|m| name_of(m) != Some(reference));
    let removed = manifests.len() != before;
    if let Some(mut new) = new {
        let object = new.as_object_mut().context("a descriptor must be a JSON object")?;
        object.insert("annotations".into(), json!({ REF_NAME: reference }));
        manifests.push(new);
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_one_entry_per_name() {
        let mut index = empty();
        let d = Digest::of(b"a");
        replace(&mut index, "x:1", Some(descriptor("t", &d, 1))).unwrap();
        replace(&mut index, "x:1", Some(descriptor("t", &d, 2))).unwrap();
        replace(&mut index, "y:1", Some(descriptor("t", &d, 3))).unwrap();
        assert_eq!(entries(&index).len(), 2);
        assert_eq!(find(&index, "x:1"), Some(d.to_string().as_str()));
        assert!(replace(&mut index, "x:1", None).unwrap());
        assert_eq!(find(&index, "x:1"), None);
    }
}
