//! Compiles every `.proto` under the workspace's `proto/` folder with `protox` (no `protoc`
//! needed), generates the prost messages and tonic clients and servers, and from the same
//! descriptors generates what the platform needs to know of each RPC without a hand-typed string:
//!
//! - `impl Rpc for <Request>`: the RPC's package, service and method, its response type, the
//!   roles it allows (the `qiancheng.type.v1.allowed_roles` option) and its `request_id`;
//! - `RPCS`: a table of every RPC, for the authentication layer, telemetry and tests;
//! - one macro per service, `<service>_service!(Type, handlers)`, that implements the generated
//!   server trait by calling `handlers::<rpc_name>(&*self, call)` for each RPC, where `call` is
//!   built from the request by `TryFrom` (the platform's `Call`: caller and message), and mapping
//!   the result once to a gRPC status;
//! - `impl Validate for <Message>`: the checks each field declares with the
//!   `qiancheng.type.v1.field` option (required, length, range, items, resource name, county or
//!   region code, a real date and one not before today, rule code), descending into nested
//!   messages that declare any;
//! - `impl Fields for <Message>`: copying one top-level field by name from another message of the
//!   type, which is how an update applies the paths of its `update_mask`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost_reflect::{Cardinality, DescriptorPool, Kind, MessageDescriptor, MethodDescriptor, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it was compiled: worktrees that share one target
    // directory share the compiled script, and each must read its own protos.
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir.join("../../proto");
    let mut files = Vec::new();
    collect_protos(&root, &mut files)?;
    files.sort();
    // Relative to the package root, so that cargo checks the protos of the tree it builds.
    println!("cargo:rerun-if-changed=../../proto");
    for file in &files {
        let relative = file.strip_prefix(&manifest_dir).unwrap_or(file);
        println!("cargo:rerun-if-changed={}", relative.display());
    }

    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_source_info(true).include_imports(true).open_files(&files)?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // The encoded set keeps custom options (allowed roles), so reflection shows them.
    std::fs::write(out_dir.join("qiancheng_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    std::fs::write(out_dir.join("qiancheng_rpc.rs"), rpc_code(&compiler.descriptor_pool())?)?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .codec_path("crate::codec::SuiteCodec")
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

/// `qiancheng.demand.v1.CreateVacancyRequest` as a path from the crate root.
fn rust_path(full_name: &str) -> String {
    let parts: Vec<&str> = full_name.split('.').collect();
    let (name, package) = parts.split_last().expect("a qualified name");
    let package: Vec<String> =
        package.iter().map(|p| if *p == "type" { "r#type".to_owned() } else { (*p).to_owned() }).collect();
    format!("$crate::{}::{name}", package.join("::"))
}

/// `CreateVacancy` → `create_vacancy`, as tonic names trait methods.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase() || previous.is_ascii_digit() || (previous.is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// `CreateVacancy` in `DemandService` → the associated stream type's name, as tonic names it.
fn stream_type(method: &str) -> String {
    format!("{method}Stream")
}

fn roles(pool: &DescriptorPool, method: &MethodDescriptor) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let extension = pool
        .get_extension_by_name("qiancheng.type.v1.allowed_roles")
        .ok_or("qiancheng.type.v1.allowed_roles is not defined")?;
    let role_enum = pool.get_enum_by_name("qiancheng.type.v1.Role").ok_or("qiancheng.type.v1.Role is not defined")?;
    let options = method.options();
    let mut names = Vec::new();
    if options.has_extension(&extension)
        && let Value::List(values) = options.get_extension(&extension).as_ref()
    {
        for value in values {
            let number = value.as_enum_number().ok_or("allowed_roles holds roles")?;
            let name = role_enum.get_value(number).ok_or("an allowed role is a Role")?.name().to_owned();
            let variant: String = name
                .trim_start_matches("ROLE_")
                .split('_')
                .map(|w| format!("{}{}", &w[..1], w[1..].to_lowercase()))
                .collect();
            names.push(format!("$crate::qiancheng::r#type::v1::Role::{variant}"));
        }
    }
    Ok(names)
}

/// The RPC's `qiancheng.type.v1.public_limit`, as the `public` field of its `RpcInfo`: `None`, or
/// `Some(crate::PublicLimit { .. })`. An RPC both public and declaring roles is refused: it would
/// say two things about who may call it.
fn public_limit(pool: &DescriptorPool, method: &MethodDescriptor) -> Result<String, Box<dyn std::error::Error>> {
    let extension = pool
        .get_extension_by_name("qiancheng.type.v1.public_limit")
        .ok_or("qiancheng.type.v1.public_limit is not defined")?;
    let options = method.options();
    if !options.has_extension(&extension) {
        return Ok("None".to_owned());
    }
    if !roles(pool, method)?.is_empty() {
        return Err(format!("{} is public and declares allowed_roles too", method.full_name()).into());
    }
    let value = options.get_extension(&extension);
    let limit = value.as_message().ok_or("public_limit is a message")?;
    let figure = |name: &str| limit.get_field_by_name(name).and_then(|v| v.as_u32()).unwrap_or(0);
    let (peer, process) = (figure("per_peer_per_minute"), figure("per_process_per_minute"));
    if peer == 0 || process == 0 {
        return Err(format!("{} is public without both of its limits", method.full_name()).into());
    }
    Ok(format!("Some(crate::PublicLimit {{ per_peer_per_minute: {peer}, per_process_per_minute: {process} }})"))
}

fn rpc_code(pool: &DescriptorPool) -> Result<String, Box<dyn std::error::Error>> {
    let mut code = String::from("// Generated by shared/api/build.rs from the descriptors of proto/.\n\n");
    let mut table = String::from("/// Every RPC of the suite.\npub static RPCS: &[RpcInfo] = &[\n");
    let mut macros = String::new();
    for service in pool.services().filter(|s| s.package_name().starts_with("qiancheng.")) {
        let package = service.package_name();
        let short = package.split('.').nth(1).ok_or("a package qiancheng.<service>.v1")?;
        let module = format!("$crate::{}", package.split('.').collect::<Vec<_>>().join("::"));
        let trait_path = format!("{module}::{}_server::{}", snake(service.name()), service.name());
        let mut methods = String::new();
        for method in service.methods() {
            let input = method.input();
            let output = method.output();
            let roles = roles(pool, &method)?;
            let public = public_limit(pool, &method)?;
            let path = format!("/{}/{}", service.full_name(), method.name());
            let request_id = if input.get_field_by_name("request_id").is_some() {
                "    fn request_id(&self) -> &str {\n        &self.request_id\n    }\n"
            } else {
                ""
            };
            let request = rust_path(input.full_name()).replace("$crate", "crate");
            let response = rust_path(output.full_name()).replace("$crate", "crate");
            let role_list = roles.join(", ").replace("$crate", "crate");
            writeln!(
                code,
                "impl crate::Rpc for {request} {{\n    type Response = {response};\n    \
                 const PACKAGE: &'static str = \"{package}\";\n    \
                 const SERVICE: &'static str = \"{}\";\n    \
                 const METHOD: &'static str = \"{}\";\n    \
                 const PATH: &'static str = \"{path}\";\n    \
                 const ROLES: &'static [crate::qiancheng::r#type::v1::Role] = &[{role_list}];\n{request_id}}}\n",
                service.full_name(),
                method.name(),
            )?;
            writeln!(
                table,
                "    RpcInfo {{ path: \"{path}\", package: \"{package}\", service: \"{}\", method: \"{}\", \
                 roles: &[{role_list}], public: {public}, client_streaming: {}, server_streaming: {}, request: \"{}\" }},",
                service.full_name(),
                method.name(),
                method.is_client_streaming(),
                method.is_server_streaming(),
                input.full_name(),
            )?;
            let name = snake(method.name());
            let request_type = rust_path(input.full_name());
            let response_type = rust_path(output.full_name());
            let argument = if method.is_client_streaming() {
                format!("tonic::Request<tonic::Streaming<{request_type}>>")
            } else {
                format!("tonic::Request<{request_type}>")
            };
            if method.is_server_streaming() {
                let stream = stream_type(method.name());
                writeln!(
                    methods,
                    "        type {stream} = $crate::ResponseStream<{response_type}>;\n        \
                     async fn {name}(&self, request: {argument}) -> ::std::result::Result<tonic::Response<Self::{stream}>, tonic::Status> {{\n            \
                     $crate::respond::<{request_type}, _, _>(match ::std::convert::TryFrom::try_from(request) {{ Ok(call) => $handlers::{name}(self, call).await, Err(error) => Err(error) }})\n        }}"
                )?;
            } else {
                writeln!(
                    methods,
                    "        async fn {name}(&self, request: {argument}) -> ::std::result::Result<tonic::Response<{response_type}>, tonic::Status> {{\n            \
                     $crate::respond::<{request_type}, _, _>(match ::std::convert::TryFrom::try_from(request) {{ Ok(call) => $handlers::{name}(self, call).await, Err(error) => Err(error) }})\n        }}"
                )?;
            }
        }
        writeln!(
            macros,
            "/// Implements `{}` for `$service` by calling `$handlers::<rpc>(&*self, call)` for every\n\
             /// RPC, `call` made from the request by `TryFrom`; each handler returns its response or an\n\
             /// error that maps to a status.\n\
             #[macro_export]\nmacro_rules! {short}_service {{\n    ($service:ty, $handlers:ident) => {{\n        \
             #[tonic::async_trait]\n        impl {trait_path} for $service {{\n{methods}        }}\n    }};\n}}\n",
            service.full_name()
        )?;
    }
    table.push_str("];\n");
    let rules = FieldRulesReader::new(pool)?;
    let mut with_rules = std::collections::HashMap::new();
    for message in pool.all_messages().filter(|m| m.package_name().starts_with("qiancheng.")) {
        code.push_str(&texts_impl(&message));
        code.push_str(&validate_impl(&message, &rules, &mut with_rules)?);
        code.push_str(&fields_impl(&message));
        code.push_str(&report_impl(&message));
    }
    for proto_enum in pool.all_enums().filter(|e| e.package_name().starts_with("qiancheng.")) {
        let path = rust_path(proto_enum.full_name()).replace("$crate", "crate");
        writeln!(
            code,
            "impl crate::convert::ProtoEnumName for {path} {{\n    fn number_of(name: &str) -> Option<i32> {{\n        \
             Self::from_str_name(name).map(|v| v as i32)\n    }}\n    fn name_of(value: i32) -> Option<&'static str> {{\n        \
             Self::try_from(value).ok().map(|v| v.as_str_name())\n    }}\n}}\n"
        )?;
    }
    code.push_str(&table);
    code.push('\n');
    code.push_str(&macros);
    Ok(code)
}

/// A field name as prost writes it in Rust.
fn rust_field(name: &str) -> String {
    match name {
        "type" | "match" | "ref" | "move" | "fn" | "mod" | "use" | "impl" | "self" | "as" | "in" | "loop" => {
            format!("r#{name}")
        }
        other => other.to_owned(),
    }
}

/// `impl Texts for <Message>`: finds the first string of the message (nested messages and field
/// masks included) that `ok` refuses, and returns its path; no allocation unless one is found.
fn texts_impl(message: &MessageDescriptor) -> String {
    let mut body = String::new();
    for field in message.fields() {
        let name = field.name();
        let rust = rust_field(name);
        let repeated = field.cardinality() == Cardinality::Repeated;
        match field.kind() {
            Kind::String if repeated => body.push_str(&format!(
                "        for (i, v) in self.{rust}.iter().enumerate() {{ if !ok(v) {{ return Some(format!(\"{name}[{{i}}]\")); }} }}\n"
            )),
            Kind::String => body.push_str(&format!(
                "        if !ok(&self.{rust}) {{ return Some(\"{name}\".to_owned()); }}\n"
            )),
            Kind::Message(inner) if inner.full_name() == "google.protobuf.FieldMask" => body.push_str(&format!(
                "        if let Some(m) = &self.{rust} {{ for (i, v) in m.paths.iter().enumerate() {{ if !ok(v) {{ return Some(format!(\"{name}.paths[{{i}}]\")); }} }} }}\n"
            )),
            Kind::Message(inner) if inner.package_name().starts_with("qiancheng.") && repeated => body.push_str(&format!(
                "        for (i, m) in self.{rust}.iter().enumerate() {{ if let Some(p) = crate::Texts::first_bad_text(m, ok) {{ return Some(format!(\"{name}[{{i}}].{{p}}\")); }} }}\n"
            )),
            Kind::Message(inner) if inner.package_name().starts_with("qiancheng.") => body.push_str(&format!(
                "        if let Some(m) = &self.{rust} && let Some(p) = crate::Texts::first_bad_text(m, ok) {{ return Some(format!(\"{name}.{{p}}\")); }}\n"
            )),
            _ => {}
        }
    }
    let path = rust_path(message.full_name()).replace("$crate", "crate");
    let ok = if body.is_empty() { "_ok" } else { "ok" };
    format!(
        "impl crate::Texts for {path} {{\n    fn first_bad_text(&self, {ok}: &dyn Fn(&str) -> bool) -> Option<String> {{\n{body}        None\n    }}\n}}\n\n"
    )
}

/// Reads the `qiancheng.type.v1.field` option of a field.
struct FieldRulesReader {
    extension: prost_reflect::ExtensionDescriptor,
}

/// The rules a field declares, as Rust source for `crate::rules::Rules`.
#[derive(Debug, Default)]
struct DeclaredRules {
    required: bool,
    max_length: u32,
    min: Option<i64>,
    max: Option<i64>,
    max_items: u32,
    rule: String,
    resource: String,
    code: String,
    from_today: bool,
}

impl DeclaredRules {
    fn source(&self) -> String {
        let option_str = |s: &str| if s.is_empty() { "None".to_owned() } else { format!("Some({s:?})") };
        let option_i64 = |n: Option<i64>| n.map_or("None".to_owned(), |n| format!("Some({n})"));
        format!(
            "crate::rules::Rules {{ required: {}, max_length: {}, min: {}, max: {}, max_items: {}, rule: {}, resource: {}, code: {}, from_today: {} }}",
            self.required,
            self.max_length,
            option_i64(self.min),
            option_i64(self.max),
            self.max_items,
            option_str(&self.rule),
            option_str(&self.resource),
            option_str(&self.code),
            self.from_today,
        )
    }
}

impl FieldRulesReader {
    fn new(pool: &DescriptorPool) -> Result<Self, Box<dyn std::error::Error>> {
        let extension =
            pool.get_extension_by_name("qiancheng.type.v1.field").ok_or("qiancheng.type.v1.field is not defined")?;
        Ok(Self { extension })
    }

    fn of(&self, field: &prost_reflect::FieldDescriptor) -> Option<DeclaredRules> {
        let options = field.options();
        if !options.has_extension(&self.extension) {
            return None;
        }
        let value = options.get_extension(&self.extension);
        let message = value.as_message()?;
        let get = |name: &str| message.get_field_by_name(name);
        let has = |name: &str| message.has_field_by_name(name);
        Some(DeclaredRules {
            required: get("required").and_then(|v| v.as_bool()).unwrap_or(false),
            max_length: get("max_length").and_then(|v| v.as_u32()).unwrap_or(0),
            min: if has("min") { get("min").and_then(|v| v.as_i64()) } else { None },
            max: if has("max") { get("max").and_then(|v| v.as_i64()) } else { None },
            max_items: get("max_items").and_then(|v| v.as_u32()).unwrap_or(0),
            rule: get("rule").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            resource: get("resource").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            code: get("code").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            from_today: get("from_today").and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }
}

impl FieldRulesReader {
    /// The `qiancheng.type.v1.range` options of a message: (low, high, rule code).
    fn ranges(&self, message: &MessageDescriptor) -> Vec<(String, String, String)> {
        let Some(extension) = message.parent_pool().get_extension_by_name("qiancheng.type.v1.range") else {
            return Vec::new();
        };
        let options = message.options();
        if !options.has_extension(&extension) {
            return Vec::new();
        }
        let value = options.get_extension(&extension);
        let Some(items) = value.as_list() else { return Vec::new() };
        items
            .iter()
            .filter_map(|item| {
                let m = item.as_message()?;
                let text = |name: &str| m.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_owned));
                let rule = text("rule").filter(|r| !r.is_empty()).unwrap_or_else(|| "RANGE".to_owned());
                Some((text("low")?, text("high")?, rule))
            })
            .collect()
    }
}

/// Whether a message declares field rules itself or in a message it holds.
fn has_rules(
    message: &MessageDescriptor,
    rules: &FieldRulesReader,
    memo: &mut std::collections::HashMap<String, bool>,
) -> bool {
    if let Some(known) = memo.get(message.full_name()) {
        return *known;
    }
    // A message that holds itself is taken to have none until shown otherwise.
    memo.insert(message.full_name().to_owned(), false);
    let found = !rules.ranges(message).is_empty()
        || message.fields().any(|field| {
            rules.of(&field).is_some()
                || matches!(field.kind(), Kind::Message(inner)
                if inner.package_name().starts_with("qiancheng.") && has_rules(&inner, rules, memo))
        });
    memo.insert(message.full_name().to_owned(), found);
    found
}

/// `impl Validate for <Message>`: every declared rule of its fields, and the rules of the
/// messages it holds (not inside the resource of an update under an `update_mask`, which the
/// handler checks once merged).
fn validate_impl(
    message: &MessageDescriptor,
    rules: &FieldRulesReader,
    memo: &mut std::collections::HashMap<String, bool>,
) -> Result<String, Box<dyn std::error::Error>> {
    let path = rust_path(message.full_name()).replace("$crate", "crate");
    let masked_update = message.get_field_by_name("update_mask").is_some();
    let mut body = String::new();
    for field in message.fields() {
        if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) || field.is_map() {
            continue;
        }
        let name = field.name();
        let rust = rust_field(name);
        let declared = rules.of(&field);
        let optional = field.supports_presence() && !matches!(field.kind(), Kind::Message(_));
        let repeated = field.cardinality() == Cardinality::Repeated;
        if let Some(declared) = &declared {
            if !matches!(declared.code.as_str(), "" | "county" | "region") {
                return Err(format!("{}: a code is county or region, not {}", field.full_name(), declared.code).into());
            }
            let r = declared.source();
            // `{value}` is the field's value, `{reference}` a reference to it, `{at}` its name.
            let check = match field.kind() {
                Kind::String => Some("crate::rules::text({reference}, &RULES, prefix, {at}, out);".to_owned()),
                Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => {
                    Some("crate::rules::number(i64::from({value}), &RULES, prefix, {at}, out);".to_owned())
                }
                Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                    Some("crate::rules::number({value}, &RULES, prefix, {at}, out);".to_owned())
                }
                Kind::Uint64 | Kind::Fixed64 => Some(
                    "crate::rules::number(i64::try_from({value}).unwrap_or(i64::MAX), &RULES, prefix, {at}, out);"
                        .to_owned(),
                ),
                Kind::Enum(e) => {
                    let enum_path = rust_path(e.full_name()).replace("$crate", "crate");
                    Some(format!(
                        "crate::rules::enumerated({{value}}, {enum_path}::try_from({{value}}).is_ok(), &RULES, prefix, {{at}}, out);"
                    ))
                }
                _ => None,
            };
            let mut lines = String::new();
            if repeated {
                writeln!(lines, "crate::rules::items(self.{rust}.len(), &RULES, prefix, \"{name}\", out);")?;
                if let Some(check) = &check {
                    let each = check
                        .replace("{value}", "*v")
                        .replace("{reference}", "v")
                        .replace("{at}", &format!("&format!(\"{name}[{{i}}]\")"));
                    writeln!(lines, "for (i, v) in self.{rust}.iter().enumerate() {{ {each} }}")?;
                }
            } else if let Kind::Message(m) = field.kind() {
                if m.full_name() == "qiancheng.type.v1.Date" {
                    writeln!(lines, "crate::rules::date(self.{rust}.as_ref(), &RULES, prefix, \"{name}\", out);")?;
                } else {
                    writeln!(lines, "crate::rules::present(self.{rust}.is_some(), &RULES, prefix, \"{name}\", out);")?;
                }
            } else if optional {
                if let Some(check) = &check {
                    let one = check
                        .replace("{value}", "*v")
                        .replace("{reference}", "v")
                        .replace("{at}", &format!("\"{name}\""));
                    writeln!(
                        lines,
                        "if let Some(v) = &self.{rust} {{ {one} }} else {{ crate::rules::present(false, &RULES, prefix, \"{name}\", out); }}"
                    )?;
                }
            } else if let Some(check) = &check {
                let one = check
                    .replace("{value}", &format!("self.{rust}"))
                    .replace("{reference}", &format!("&self.{rust}"))
                    .replace("{at}", &format!("\"{name}\""));
                writeln!(lines, "{one}")?;
            }
            if !lines.is_empty() {
                writeln!(
                    body,
                    "        {{
            const RULES: crate::rules::Rules = {r};"
                )?;
                for line in lines.lines() {
                    writeln!(body, "            {line}")?;
                }
                writeln!(body, "        }}")?;
            }
        }
        if let Kind::Message(inner) = field.kind()
            && inner.package_name().starts_with("qiancheng.")
            && has_rules(&inner, rules, memo)
            && !(masked_update && name != "update_mask")
        {
            if repeated {
                writeln!(
                    body,
                    "        for (i, m) in self.{rust}.iter().enumerate() {{ crate::rules::Validate::check_at(m, &crate::rules::item(prefix, \"{name}\", i), out); }}"
                )?;
            } else {
                writeln!(
                    body,
                    "        if let Some(m) = &self.{rust} {{ crate::rules::Validate::check_at(m, &crate::rules::nested(prefix, \"{name}\"), out); }}"
                )?;
            }
        }
    }
    for (low, high, rule) in rules.ranges(message) {
        let kind = message.get_field_by_name(&low).map(|f| f.kind());
        let (low_rust, high_rust) = (rust_field(&low), rust_field(&high));
        let above = match kind {
            Some(Kind::Message(m)) if m.full_name() == "qiancheng.type.v1.Date" => format!(
                "matches!((&self.{low_rust}, &self.{high_rust}), (Some(l), Some(h)) if (h.year, h.month, h.day) < (l.year, l.month, l.day))"
            ),
            Some(_) => format!("self.{high_rust} < self.{low_rust}"),
            None => return Err(format!("{}: no field {low} for a range", message.full_name()).into()),
        };
        writeln!(
            body,
            "        if {above} {{ out.push(crate::rules::FieldViolation::new(format!(\"{{prefix}}{high}\"), {rule:?}, \"{high} is below {low}\")); }}"
        )?;
    }
    let args = if body.is_empty() { "_prefix: &str, _out" } else { "prefix: &str, out" };
    Ok(format!(
        "impl crate::rules::Validate for {path} {{\n    fn check_at(&self, {args}: &mut Vec<crate::rules::FieldViolation>) {{\n{body}    }}\n}}\n\n"
    ))
}

/// `impl Fields for <Message>`: copies a top-level field, named as the proto names it, from
/// another message of the same type.
fn fields_impl(message: &MessageDescriptor) -> String {
    let path = rust_path(message.full_name()).replace("$crate", "crate");
    let mut arms = String::new();
    for field in message.fields() {
        if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
            continue;
        }
        let rust = rust_field(field.name());
        arms.push_str(&format!("            \"{}\" => self.{rust} = from.{rust}.clone(),\n", field.name()));
    }
    let (from, field) = if arms.is_empty() { ("_from", "_field") } else { ("from", "field") };
    format!(
        "// prost derives Copy for some messages and not others: one clone for all.\n\
         #[allow(clippy::clone_on_copy, clippy::match_single_binding)]\n\
         impl crate::Fields for {path} {{\n    fn copy_field(&mut self, {from}: &Self, {field}: &str) -> bool {{\n        \
         match {field} {{\n{arms}            _ => return false,\n        }}\n        #[allow(unreachable_code)]\n        true\n    }}\n}}\n\n"
    )
}

/// `impl From<AuditChainReport> for <Message>` for a message that is only a report of the audit
/// chain (every service's `VerifyAuditChainResponse`), so one platform handler answers for all.
fn report_impl(message: &MessageDescriptor) -> String {
    let fields: Vec<_> = message.fields().collect();
    let only_report = matches!(fields.as_slice(), [field]
        if field.name() == "report"
            && matches!(field.kind(), Kind::Message(m) if m.full_name() == "qiancheng.type.v1.AuditChainReport"));
    if !only_report {
        return String::new();
    }
    let path = rust_path(message.full_name()).replace("$crate", "crate");
    format!(
        "impl From<crate::qiancheng::r#type::v1::AuditChainReport> for {path} {{\n    \
         fn from(report: crate::qiancheng::r#type::v1::AuditChainReport) -> Self {{\n        \
         Self {{ report: Some(report) }}\n    }}\n}}\n\n"
    )
}
