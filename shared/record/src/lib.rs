//! `#[derive(Record)]`, `#[derive(Columns)]` and `#[derive(Shown)]`: a stored record declared
//! once.
//!
//! The struct is the record: each field is a column of the same name (or `#[column(name =
//! "…")]`), stored the way its type says (`qiancheng_platform::record::Column`). The derive
//! writes what a store module wrote by hand before: the column list, the row decoding (by
//! position, in field order), the insert and update binds, and the SQL made from them; `Shown`
//! writes how the record fills its API message (see [`derive_shown`]).
//!
//! ```text
//! #[derive(Record)]
//! #[record(table = "training_class", alias = "c", key = "id", what = "the class")]
//! pub struct ClassRecord {
//!     pub id: String,
//!     #[column(name = "region_code")]
//!     pub region: RegionCode,
//!     #[column(json)]
//!     pub teachers: Vec<TeacherRecord>,
//!     #[column(computed = "(SELECT COUNT(*) FROM trainee t WHERE t.class_id = c.id)")]
//!     pub roster_size: i64,
//!     #[column(stamp)]
//!     pub stamp: Stamp,
//! }
//! ```
//!
//! Field attributes:
//! - `name = "…"`: the column's name, when it is not the field's;
//! - `json`: a document stored as JSON text;
//! - `flatten`: a group of columns (a type with `#[derive(Columns)]`);
//! - `stamp`: the record's `Stamp` (revision and times): updates are optimistic;
//! - `computed = "SQL"`: read from other SQL (a joined column, a count), never written;
//! - `fixed`: written when the record is created, never updated (who filed it, when);
//! - `sealed`: written when the record is created, never read back nor updated (ciphertext);
//! - `skip`: not a column; reads leave the field's default;
//! - `hidden`: not shown in the record's messages (`#[derive(Shown)]`).
//!
//! Struct attributes (`Record` only): `table` (required), `key` (the key column, default `id`),
//! `alias` (what rows are called in reads, default the table), `from` (what reads select from,
//! default `table alias`), `what` (the record in messages, default `the <table>`).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, Type, parse_macro_input};

/// How one field is stored.
#[derive(Default)]
struct FieldSpec {
    name: Option<String>,
    json: bool,
    flatten: bool,
    stamp: bool,
    computed: Option<String>,
    fixed: bool,
    sealed: bool,
    skip: bool,
    hidden: bool,
}

fn field_spec(field: &syn::Field) -> syn::Result<FieldSpec> {
    let mut spec = FieldSpec::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("column")) {
        attr.parse_nested_meta(|meta| {
            let word = |flag: &mut bool| {
                *flag = true;
                Ok(())
            };
            if meta.path.is_ident("name") {
                spec.name = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else if meta.path.is_ident("computed") {
                spec.computed = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else if meta.path.is_ident("json") {
                word(&mut spec.json)
            } else if meta.path.is_ident("flatten") {
                word(&mut spec.flatten)
            } else if meta.path.is_ident("stamp") {
                spec.flatten = true;
                word(&mut spec.stamp)
            } else if meta.path.is_ident("fixed") {
                word(&mut spec.fixed)
            } else if meta.path.is_ident("sealed") {
                word(&mut spec.sealed)
            } else if meta.path.is_ident("skip") {
                word(&mut spec.skip)
            } else if meta.path.is_ident("hidden") {
                word(&mut spec.hidden)
            } else {
                Err(meta.error("unknown column attribute; see qiancheng-record's documentation"))
            }
        })?;
    }
    Ok(spec)
}

/// The record's own attributes.
#[derive(Default)]
struct RecordSpec {
    table: Option<String>,
    key: Option<String>,
    alias: Option<String>,
    from: Option<String>,
    what: Option<String>,
}

fn record_spec(input: &DeriveInput) -> syn::Result<RecordSpec> {
    let mut spec = RecordSpec::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("record")) {
        attr.parse_nested_meta(|meta| {
            let value = meta.value()?.parse::<LitStr>()?.value();
            let slot = if meta.path.is_ident("table") {
                &mut spec.table
            } else if meta.path.is_ident("key") {
                &mut spec.key
            } else if meta.path.is_ident("alias") {
                &mut spec.alias
            } else if meta.path.is_ident("from") {
                &mut spec.from
            } else if meta.path.is_ident("what") {
                &mut spec.what
            } else {
                return Err(meta.error("unknown record attribute; one of table, key, alias, from, what"));
            };
            *slot = Some(value);
            Ok(())
        })?;
    }
    Ok(spec)
}

/// The fields of a struct with named fields.
fn named_fields(input: &DeriveInput) -> syn::Result<impl Iterator<Item = &syn::Field>> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "a record is a struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(input, "a record's fields are named"));
    };
    Ok(fields.named.iter())
}

/// The parts of `Columns` the fields make, and what `Record` needs of them.
struct Generated {
    describe: Vec<Tokens>,
    read: Vec<Tokens>,
    bind_insert: Vec<Tokens>,
    bind_update: Vec<Tokens>,
    stamp: Option<syn::Ident>,
    key: Option<(syn::Ident, Type)>,
}

fn generate(input: &DeriveInput, key_column: Option<&str>) -> syn::Result<Generated> {
    let platform = quote!(::qiancheng_platform::record);
    let mut out = Generated {
        describe: Vec::new(),
        read: Vec::new(),
        bind_insert: Vec::new(),
        bind_update: Vec::new(),
        stamp: None,
        key: None,
    };
    for field in named_fields(input)? {
        let spec = field_spec(field)?;
        let ident = field.ident.clone().ok_or_else(|| syn::Error::new_spanned(field, "a named field"))?;
        let ty = &field.ty;
        let column = spec.name.clone().unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
        if spec.skip {
            out.read.push(quote!(#ident: ::std::default::Default::default()));
            continue;
        }
        if spec.stamp {
            out.stamp = Some(ident.clone());
        }
        let is_key = key_column == Some(column.as_str());
        if is_key {
            out.key = Some((ident.clone(), ty.clone()));
        }
        if spec.flatten {
            let (insert, update, read) = (spec.computed.is_none(), !spec.fixed && !spec.sealed, !spec.sealed);
            out.describe.push(quote! {
                let from = out.len();
                <#ty as #platform::Columns>::describe(out);
                for column in &mut out[from..] {
                    column.insert &= #insert;
                    column.update &= #update;
                    column.read &= #read;
                }
            });
            if spec.sealed {
                out.read.push(quote!(#ident: ::std::default::Default::default()));
            } else {
                out.read.push(quote!(#ident: <#ty as #platform::Columns>::read_from(cells, at)?));
            }
            out.bind_insert.push(quote!(let query = #platform::Columns::bind_insert(&self.#ident, query);));
            if update {
                out.bind_update.push(quote!(let query = #platform::Columns::bind_update(&self.#ident, query);));
            }
            continue;
        }
        let computed = match &spec.computed {
            Some(sql) => quote!(::std::option::Option::Some(#sql)),
            None => quote!(::std::option::Option::None),
        };
        let stored = spec.computed.is_none();
        let update = stored && !spec.fixed && !spec.sealed && !is_key;
        let read = !spec.sealed;
        out.describe.push(quote! {
            out.push(#platform::ColumnDef { name: #column, computed: #computed, insert: #stored, update: #update, read: #read });
        });
        let (read_value, bind_value) = if spec.json {
            (
                quote!(#platform::read_json::<#ty, _>(cells, *at, #column)?),
                quote!(#platform::bind_json(&self.#ident, query)),
            )
        } else {
            (
                quote!(<#ty as #platform::Column>::read(cells, *at, #column)?),
                quote!(#platform::Column::bind(&self.#ident, query)),
            )
        };
        if read {
            out.read.push(quote!(#ident: { let value = #read_value; *at += 1; value }));
        } else {
            out.read.push(quote!(#ident: ::std::default::Default::default()));
        }
        if stored {
            out.bind_insert.push(quote!(let query = #bind_value;));
        }
        if update {
            out.bind_update.push(quote!(let query = #bind_value;));
        }
    }
    Ok(out)
}

fn columns_impl(input: &DeriveInput, generated: &Generated) -> Tokens {
    let name = &input.ident;
    let platform = quote!(::qiancheng_platform::record);
    let Generated { describe, read, bind_insert, bind_update, .. } = generated;
    quote! {
        impl #platform::Columns for #name {
            fn describe(out: &mut ::std::vec::Vec<#platform::ColumnDef>) {
                #(#describe)*
            }
            #[allow(unused_variables)]
            fn read_from<C: #platform::Cells + ?Sized>(
                cells: &C,
                at: &mut usize,
            ) -> ::std::result::Result<Self, ::qiancheng_platform::Error> {
                ::std::result::Result::Ok(Self { #(#read),* })
            }
            fn bind_insert<'q>(&self, query: #platform::AnyQuery<'q>) -> #platform::AnyQuery<'q> {
                #(#bind_insert)*
                query
            }
            fn bind_update<'q>(&self, query: #platform::AnyQuery<'q>) -> #platform::AnyQuery<'q> {
                #(#bind_update)*
                query
            }
        }
    }
}

/// A group of columns flattened into records (`#[column(flatten)]`).
#[proc_macro_derive(Columns, attributes(column))]
pub fn derive_columns(input: TokenStream) -> TokenStream {
    expand(input, |input| Ok(columns_impl(input, &generate(input, None)?)))
}

/// A stored record: its table, key, columns, decoding and binds.
#[proc_macro_derive(Record, attributes(record, column))]
pub fn derive_record(input: TokenStream) -> TokenStream {
    expand(input, record)
}

/// The derive `derive` makes of `input`, or its error as a compile error.
fn expand(input: TokenStream, derive: impl FnOnce(&DeriveInput) -> syn::Result<Tokens>) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive(&input).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn record(input: &DeriveInput) -> syn::Result<Tokens> {
    let spec = record_spec(input)?;
    let table = spec.table.ok_or_else(|| syn::Error::new_spanned(input, "#[record(table = \"…\")] is required"))?;
    let key = spec.key.unwrap_or_else(|| "id".to_owned());
    let alias = spec.alias.unwrap_or_else(|| table.clone());
    let from = spec.from.unwrap_or_else(|| if alias == table { table.clone() } else { format!("{table} {alias}") });
    let what = spec.what.unwrap_or_else(|| format!("the {}", table.replace('_', " ")));
    let generated = generate(input, Some(&key))?;
    let (key_ident, key_type) = generated
        .key
        .clone()
        .ok_or_else(|| syn::Error::new_spanned(input, format!("no field is the key column {key}")))?;
    let integer_key = matches!(&key_type, Type::Path(p) if p.path.is_ident("i64"));
    let platform = quote!(::qiancheng_platform::record);
    let key_value = if integer_key {
        quote!(#platform::Bind::Int(self.#key_ident))
    } else {
        quote!(#platform::Bind::Text(::std::string::ToString::to_string(&self.#key_ident)))
    };
    let (stamped, stamp) = match &generated.stamp {
        Some(ident) => (true, quote!(::std::option::Option::Some(&self.#ident))),
        None => (false, quote!(::std::option::Option::None)),
    };
    let name = &input.ident;
    let columns = columns_impl(input, &generated);
    Ok(quote! {
        #columns
        impl #platform::Record for #name {
            const TABLE: &'static str = #table;
            const ALIAS: &'static str = #alias;
            const FROM: &'static str = #from;
            const KEY: &'static str = #key;
            const INTEGER_KEY: bool = #integer_key;
            const WHAT: &'static str = #what;
            fn sql() -> &'static #platform::RecordSql {
                static SQL: ::std::sync::OnceLock<#platform::RecordSql> = ::std::sync::OnceLock::new();
                #platform::make_sql::<Self>(&SQL, #stamped)
            }
            fn key(&self) -> #platform::Bind {
                #key_value
            }
            fn stamp(&self) -> ::std::option::Option<&::qiancheng_platform::Stamp> {
                #stamp
            }
        }
    })
}

/// A record, or a group of its columns, shown in its messages (`#[derive(Shown)]`): every field
/// is set on the message field named as its column (`#[shown(name = "…")]` when the message
/// names it otherwise) through `qiancheng_api::convert::IntoProto`, a group (`#[column(flatten)]`)
/// shows its own fields, the `Stamp` (`#[column(stamp)]`) shows as the message's times and etag,
/// and `#[column(hidden)]` (or `sealed`) leaves a field out. A message field the record does not
/// have keeps its default, for the record's own conversion to set:
///
/// ```text
/// #[derive(Record, Shown)]
/// #[shown(message = "proto::Session")]
/// pub struct SessionRecord {
///     #[column(hidden)]
///     pub id: String,
///     pub held_on: NaiveDate,
///     pub hours: u32,
/// }
///
/// proto::Session { name: self.name(), ..self.shown() }
/// ```
#[proc_macro_derive(Shown, attributes(shown, column))]
pub fn derive_shown(input: TokenStream) -> TokenStream {
    expand(input, shown)
}

fn shown(input: &DeriveInput) -> syn::Result<Tokens> {
    let mut messages = Vec::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("shown")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("message") {
                messages.push(meta.value()?.parse::<LitStr>()?.parse::<syn::Path>()?);
                Ok(())
            } else {
                Err(meta.error("unknown shown attribute; message = \"…\""))
            }
        })?;
    }
    if messages.is_empty() {
        return Err(syn::Error::new_spanned(input, "#[shown(message = \"…\")] is required"));
    }
    let convert = quote!(::qiancheng_api::convert);
    let (mut sets, mut moves) = (Vec::new(), Vec::new());
    for field in named_fields(input)? {
        let ident = field.ident.clone().ok_or_else(|| syn::Error::new_spanned(field, "a named field"))?;
        let mut name = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("shown")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let lit = meta.value()?.parse::<LitStr>()?;
                    name = Some(syn::Ident::new(&lit.value(), lit.span()));
                    Ok(())
                } else {
                    Err(meta.error("unknown shown attribute; name = \"…\""))
                }
            })?;
        }
        let column = field_spec(field)?;
        if column.hidden || column.sealed {
            continue;
        }
        if column.stamp {
            let stamp = quote! {
                message.create_time_micros = self.#ident.create_time_micros;
                message.update_time_micros = self.#ident.update_time_micros;
                message.etag = self.#ident.etag();
            };
            sets.push(stamp.clone());
            moves.push(stamp);
        } else if column.flatten {
            sets.push(quote!(#convert::Shown::show_into(&self.#ident, message);));
            moves.push(quote!(#convert::Shown::move_into(self.#ident, message);));
        } else {
            let target = match (name, &column.name) {
                (Some(name), _) => name,
                (None, Some(column)) => syn::Ident::new(column, ident.span()),
                (None, None) => ident.clone(),
            };
            sets.push(
                quote!(message.#target = #convert::IntoProto::into_proto(::std::clone::Clone::clone(&self.#ident));),
            );
            moves.push(quote!(message.#target = #convert::IntoProto::into_proto(self.#ident);));
        }
    }
    let name = &input.ident;
    let impls = messages.iter().map(|message| {
        quote! {
            impl #convert::Shown<#message> for #name {
                fn show_into(&self, message: &mut #message) {
                    #(#sets)*
                }
                fn move_into(self, message: &mut #message) {
                    #(#moves)*
                }
            }
        }
    });
    Ok(quote!(#(#impls)*))
}
