//! Every protobuf package of the suite follows the conventions of docs/ARCHITECTURE.md ("Conventions the contracts test enforces"),
//! beyond what `buf lint` checks: safe retries, pagination, a comment on every RPC saying who
//! may call it, and the suite's one habit for updates, instants, dates and money:
//!
//! - every `Update…` RPC takes a `google.protobuf.FieldMask update_mask` (absent or `*` replaces
//!   every editable field) and every resource it updates carries an `etag`;
//! - instants are `int64` microseconds since the epoch, named `…_micros`; no
//!   `google.protobuf.Timestamp`;
//! - civil dates are `qiancheng.type.v1.Date`;
//! - money is `int64` fen, named `…_fen`; never a float anywhere.

use prost::Message as _;
use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet};

fn suite_files() -> Vec<FileDescriptorProto> {
    FileDescriptorSet::decode(qiancheng_api::FILE_DESCRIPTOR_SET)
        .expect("the descriptor set decodes")
        .file
        .into_iter()
        .filter(|f| f.package().starts_with("qiancheng."))
        .collect()
}

fn message<'a>(file: &'a FileDescriptorProto, type_name: &str) -> &'a DescriptorProto {
    let name = type_name.rsplit('.').next().expect("a type name");
    file.message_type.iter().find(|m| m.name() == name).unwrap_or_else(|| panic!("{type_name} is in {}", file.name()))
}

fn has_field(message: &DescriptorProto, name: &str) -> bool {
    message.field.iter().any(|f| f.name() == name)
}

/// Reads only, so a retry is harmless without an id.
fn is_read(rpc: &str) -> bool {
    ["Get", "List", "Match", "Summarize", "Verify", "Check", "Evaluate"].iter().any(|p| rpc.starts_with(p))
}

#[test]
fn packages_are_versioned_and_services_named_after_them() {
    let files = suite_files();
    assert!(files.iter().any(|f| f.package() == "qiancheng.type.v1"), "shared messages live in qiancheng.type.v1");
    for file in files.iter().filter(|f| !f.service.is_empty()) {
        let parts: Vec<&str> = file.package().split('.').collect();
        assert_eq!(parts.len(), 3, "{} is qiancheng.<service>.v1", file.package());
        assert_eq!(parts[2], "v1");
        assert_eq!(file.name(), format!("qiancheng/{}/v1/{}.proto", parts[1], parts[1]), "the folder is the package");
        let expected = format!("{}{}Service", parts[1][..1].to_uppercase(), &parts[1][1..]);
        assert_eq!(file.service.len(), 1, "one service per package");
        assert_eq!(file.service[0].name(), expected);
    }
}

#[test]
fn every_mutating_rpc_takes_a_request_id_and_every_list_pages() {
    for file in suite_files() {
        for service in &file.service {
            for method in &service.method {
                let rpc = method.name();
                let request = message(&file, method.input_type());
                let response = message(&file, method.output_type());
                if method.client_streaming() {
                    continue;
                }
                if !is_read(rpc) {
                    assert!(has_field(request, "request_id"), "{rpc} can be retried safely with a request_id");
                }
                // A change feed is read with a cursor instead (`after` in, `next_after` out): its end
                // is not the end of the data, so an empty page token cannot say "done".
                let feed = has_field(request, "after") && has_field(response, "next_after");
                if rpc.starts_with("List") && !feed {
                    assert!(has_field(request, "page_size") && has_field(request, "page_token"), "{rpc} pages");
                    assert!(has_field(response, "next_page_token"), "{rpc} returns the next page token");
                }
            }
        }
    }
}

#[test]
fn every_rpc_says_who_may_call_it() {
    for file in suite_files() {
        let info = file.source_code_info.as_ref().expect("comments are kept in the descriptor set");
        for (s, service) in file.service.iter().enumerate() {
            for (m, method) in service.method.iter().enumerate() {
                // Path of a method: service = 6, index, method = 2, index.
                let path = [6, i32::try_from(s).expect("few services"), 2, i32::try_from(m).expect("few methods")];
                let comment = info
                    .location
                    .iter()
                    .find(|l| l.path == path)
                    .map(|l| l.leading_comments().trim().to_owned())
                    .unwrap_or_default();
                assert!(!comment.is_empty(), "{} has a comment", method.name());
            }
        }
    }
}

#[test]
fn enums_start_with_an_unspecified_zero() {
    for file in suite_files() {
        let nested = file.message_type.iter().flat_map(|m| m.enum_type.iter());
        for e in file.enum_type.iter().chain(nested) {
            let zero =
                e.value.iter().find(|v| v.number() == 0).unwrap_or_else(|| panic!("{} has a zero value", e.name()));
            assert!(zero.name().ends_with("_UNSPECIFIED"), "{}'s zero value is {}", e.name(), zero.name());
        }
    }
}

fn all_messages(file: &FileDescriptorProto) -> Vec<&DescriptorProto> {
    fn walk<'a>(message: &'a DescriptorProto, out: &mut Vec<&'a DescriptorProto>) {
        out.push(message);
        for nested in &message.nested_type {
            walk(nested, out);
        }
    }
    let mut out = Vec::new();
    for message in &file.message_type {
        walk(message, &mut out);
    }
    out
}

fn field<'a>(message: &'a DescriptorProto, name: &str) -> Option<&'a FieldDescriptorProto> {
    message.field.iter().find(|f| f.name() == name)
}

#[test]
fn every_update_takes_a_field_mask_and_its_resource_an_etag() {
    for file in suite_files() {
        for service in &file.service {
            for method in service.method.iter().filter(|m| m.name().starts_with("Update")) {
                let request = message(&file, method.input_type());
                let mask =
                    field(request, "update_mask").unwrap_or_else(|| panic!("{} takes an update_mask", method.name()));
                assert_eq!(mask.type_name(), ".google.protobuf.FieldMask", "{}", method.name());
                let resource = request
                    .field
                    .iter()
                    .find(|f| f.r#type() == Type::Message && f.type_name().starts_with(".qiancheng."))
                    .unwrap_or_else(|| panic!("{} carries its resource", method.name()));
                let resource = message(&file, resource.type_name());
                assert!(
                    has_field(resource, "etag") || has_field(request, "etag"),
                    "{} sends the etag of what it changes",
                    method.name()
                );
            }
        }
    }
}

#[test]
fn instants_are_micros_dates_are_civil_dates_and_money_is_fen() {
    for file in suite_files() {
        for message in all_messages(&file) {
            for f in &message.field {
                let name = f.name();
                let at = format!("{}.{name}", message.name());
                assert!(
                    !matches!(f.r#type(), Type::Float | Type::Double),
                    "{at}: no floating point in the suite's contracts (rates are fractions, money is fen)"
                );
                assert_ne!(f.type_name(), ".google.protobuf.Timestamp", "{at}: instants are int64 …_micros");
                if name.ends_with("_micros") {
                    assert_eq!(f.r#type(), Type::Int64, "{at}: microseconds since the epoch are int64");
                }
                if name.ends_with("_fen") {
                    assert_eq!(f.r#type(), Type::Int64, "{at}: money is int64 fen");
                }
                if name.ends_with("_time") || name.ends_with("_at") {
                    panic!("{at}: an instant is named …_micros");
                }
                if name.ends_with("_on") || name.ends_with("_date") || name == "as_of" {
                    assert_eq!(
                        f.type_name(),
                        ".qiancheng.type.v1.Date",
                        "{at}: a civil date is a qiancheng.type.v1.Date"
                    );
                }
            }
        }
    }
}

/// An RPC open to the public without an account is a decision, not an omission: it declares
/// `qiancheng.type.v1.public_limit` (the build refuses one that also declares roles or lacks a
/// limit), every other RPC declares its roles, and the public ones are these.
#[test]
fn only_the_public_notice_and_the_public_objection_are_open_without_an_account() {
    let public: Vec<&str> = qiancheng_api::RPCS.iter().filter(|r| r.public.is_some()).map(|r| r.path).collect();
    assert_eq!(
        public,
        [
            "/qiancheng.subsidy.v1.SubsidyService/ListClaimNotices",
            "/qiancheng.subsidy.v1.SubsidyService/SubmitObjection",
        ]
    );
    for rpc in qiancheng_api::RPCS {
        assert!(rpc.public.is_some() == rpc.roles.is_empty(), "{} declares roles or is public, not both", rpc.path);
    }
}
