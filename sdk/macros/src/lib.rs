//! The `#[connector]` attribute of `connector-sdk`. Use it through `connector_sdk::connector`;
//! its documentation is there.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ImplItem, ItemImpl, parse_macro_input};

/// Trait methods that are unified operations, with the `Operation` case each one stands for.
/// Everything else a connector may define (`new`, `connect`, `invoke`, the webhook methods)
/// is declared by other means or required.
const OPERATIONS: &[(&str, &str)] = &[
    ("containers", "Containers"),
    ("items", "Items"),
    ("item", "Item"),
    ("comments", "Comments"),
    ("search", "Search"),
    ("create_item", "CreateItem"),
    ("create_comment", "CreateComment"),
    ("update_item", "UpdateItem"),
];

/// See `connector_sdk::connector`.
#[proc_macro_attribute]
pub fn connector(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "#[connector] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let block = parse_macro_input!(item as ItemImpl);
    let is_connector_impl = block
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|segment| segment.ident == "Connector");
    if !is_connector_impl {
        return syn::Error::new_spanned(
            &block.self_ty,
            "#[connector] goes on `impl Connector for YourType { ... }`",
        )
        .to_compile_error()
        .into();
    }
    let defined: Vec<String> = block
        .items
        .iter()
        .filter_map(|item| match item {
            ImplItem::Fn(function) => Some(function.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    let operations = OPERATIONS
        .iter()
        .filter(|(method, _)| defined.iter().any(|d| d == method))
        .map(|(_, case)| {
            let case = syn::Ident::new(case, proc_macro2::Span::call_site());
            quote!(::connector_sdk::Operation::#case)
        });
    let self_ty = &block.self_ty;
    quote! {
        #block

        impl ::connector_sdk::ImplementedOperations for #self_ty {
            const OPERATIONS: &'static [::connector_sdk::Operation] = &[#(#operations),*];
            const CRATE_VERSION: &'static str = env!("CARGO_PKG_VERSION");
        }

        ::connector_sdk::export_connector!(#self_ty);
    }
    .into()
}
