//! Update masks (AIP-134), the suite's one rule for partial updates: every Update RPC takes an
//! `update_mask` naming the top-level fields of the resource to change; an empty mask is refused
//! (a client that meant "everything" says so field by field), and a field that cannot change is
//! refused by name. Fields not named keep their stored values.

use crate::error::Error;

/// The validated paths of an update mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMask(Vec<String>);

impl UpdateMask {
    /// Checks `mask` against the fields that may change.
    pub fn parse(mask: Option<&prost_types::FieldMask>, editable: &[&str]) -> Result<Self, Error> {
        let paths = mask.map(|m| m.paths.clone()).unwrap_or_default();
        if paths.is_empty() {
            return Err(Error::invalid("update_mask", "REQUIRED", "name the fields to change"));
        }
        if let Some(bad) = paths.iter().find(|p| !editable.contains(&p.as_str())) {
            let shown: String = bad.chars().take(40).collect();
            return Err(Error::invalid("update_mask", "UPDATE-MASK", format!("{shown} cannot be changed")));
        }
        Ok(Self(paths))
    }

    /// Whether the mask names `field`.
    pub fn names(&self, field: &str) -> bool {
        self.0.iter().any(|p| p == field)
    }

    /// The paths, as given.
    pub fn paths(&self) -> &[String] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(paths: &[&str]) -> prost_types::FieldMask {
        prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
    }

    #[test]
    fn an_update_mask_names_editable_fields_only() {
        assert!(UpdateMask::parse(None, &["a"]).is_err());
        assert!(UpdateMask::parse(Some(&mask(&[])), &["a"]).is_err());
        assert!(UpdateMask::parse(Some(&mask(&["b"])), &["a"]).is_err());
        let ok = UpdateMask::parse(Some(&mask(&["a"])), &["a", "b"]).expect("editable");
        assert!(ok.names("a") && !ok.names("b"));
    }
}
