//! Update masks (AIP-134), the suite's one rule for updates: every Update RPC takes an
//! `update_mask` naming the top-level fields of the resource to change. Fields not named keep
//! their stored values. A mask that is absent, empty or `*` replaces every editable field with
//! the request's (a full replacement, validated as a whole). A field that cannot change is
//! refused by name, quoting at most a short piece of it.

use crate::error::Error;

/// The validated paths of an update mask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMask(Vec<String>);

impl UpdateMask {
    /// Checks `mask` against the fields that may change.
    pub fn parse(mask: Option<&prost_types::FieldMask>, editable: &[&str]) -> Result<Self, Error> {
        let paths = mask.map(|m| m.paths.clone()).unwrap_or_default();
        if paths.is_empty() || paths == ["*"] {
            return Ok(Self(editable.iter().map(|p| (*p).to_owned()).collect()));
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

    /// Applies the mask: copies each named field from `input` onto `stored` (the resource as
    /// the API shows it), which the caller then validates as a whole.
    pub fn merge<M: qiancheng_api::Fields>(&self, stored: &mut M, input: &M) {
        for path in &self.0 {
            // Every path was checked against the editable fields, which are the resource's own.
            let known = stored.copy_field(input, path);
            debug_assert!(known, "{path} is an editable field of the resource");
        }
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
        assert!(UpdateMask::parse(Some(&mask(&["b"])), &["a"]).is_err());
        assert!(UpdateMask::parse(Some(&mask(&["a", "*"])), &["a"]).is_err(), "* stands alone");
        let ok = UpdateMask::parse(Some(&mask(&["a"])), &["a", "b"]).expect("editable");
        assert!(ok.names("a") && !ok.names("b"));
    }

    #[test]
    fn no_mask_or_a_star_replaces_every_editable_field() {
        for all in [UpdateMask::parse(None, &["a", "b"]), UpdateMask::parse(Some(&mask(&["*"])), &["a", "b"])] {
            let all = all.expect("a full replacement");
            assert!(all.names("a") && all.names("b"));
        }
    }
}
