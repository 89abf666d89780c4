//! The current contract's (0.3.0) exports, called one at a time.
//!
//! bindgen's `ConnectorPluginPre::instantiate_async` type-checks all fifteen exports on every
//! instantiation, though a call uses one of them: on a small page that check was ~3% of the
//! host's CPU. Here all fifteen are checked once, when the plugin loads ([`CurrentPre::new`]),
//! and each call instantiates the component and checks only the function it calls.

use wasmtime::component::{
    ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Lower,
};
use wasmtime::{Store, format_err};

use super::super::call_state::CallState;
use super::bindings::wit;

/// The `connector` interface of 0.3.0, as the component names it.
const INTERFACE: &str = "connector:plugin/connector@0.3.0";

/// Where each export of the `connector` interface is, looked up once per component.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exports {
    pub(crate) info: ComponentExportIndex,
    pub(crate) validate: ComponentExportIndex,
    pub(crate) connect: ComponentExportIndex,
    pub(crate) containers: ComponentExportIndex,
    pub(crate) items: ComponentExportIndex,
    pub(crate) get_item: ComponentExportIndex,
    pub(crate) comments: ComponentExportIndex,
    pub(crate) search: ComponentExportIndex,
    pub(crate) create_item: ComponentExportIndex,
    pub(crate) create_comment: ComponentExportIndex,
    pub(crate) update_item: ComponentExportIndex,
    pub(crate) invoke_action: ComponentExportIndex,
    pub(crate) webhook_event: ComponentExportIndex,
    pub(crate) register_webhook: ComponentExportIndex,
    pub(crate) unregister_webhook: ComponentExportIndex,
}

/// A 0.3.0 plugin linked and checked, ready to be instantiated for each call. Cloning shares
/// the compiled component (the declarative interpreter's is shared by every manifest).
#[derive(Clone)]
pub(crate) struct CurrentPre {
    pre: wit::ConnectorPluginPre<CallState>,
    exports: Exports,
}

impl CurrentPre {
    /// Type-checks every export of `instance_pre` against 0.3.0 in one trial instance (in
    /// `store`, which is thrown away), so a wrongly typed export is refused at load.
    pub(crate) async fn new(
        instance_pre: InstancePre<CallState>,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Self> {
        let pre = wit::ConnectorPluginPre::new(instance_pre)?;
        pre.instantiate_async(&mut *store).await?;
        let component = pre.instance_pre().component();
        let interface = component
            .get_export_index(None, INTERFACE)
            .ok_or_else(|| format_err!("no `{INTERFACE}` export"))?;
        let export = |name: &str| {
            component
                .get_export_index(Some(&interface), name)
                .ok_or_else(|| format_err!("no `{name}` in `{INTERFACE}`"))
        };
        let exports = Exports {
            info: export("info")?,
            validate: export("validate")?,
            connect: export("connect")?,
            containers: export("containers")?,
            items: export("items")?,
            get_item: export("get-item")?,
            comments: export("comments")?,
            search: export("search")?,
            create_item: export("create-item")?,
            create_comment: export("create-comment")?,
            update_item: export("update-item")?,
            invoke_action: export("invoke-action")?,
            webhook_event: export("webhook-event")?,
            register_webhook: export("register-webhook")?,
            unregister_webhook: export("unregister-webhook")?,
        };
        Ok(Self { pre, exports })
    }

    /// A fresh instance in `store`, its exports not yet type-checked.
    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<CurrentInstance> {
        let instance = self.pre.instance_pre().instantiate_async(store).await?;
        Ok(CurrentInstance {
            instance,
            exports: self.exports,
        })
    }
}

/// One call's instance of a 0.3.0 plugin.
pub(crate) struct CurrentInstance {
    instance: Instance,
    pub(crate) exports: Exports,
}

impl CurrentInstance {
    /// Calls `export` with `params`, type-checking that one function first. (wasmtime runs the
    /// guest's post-return itself.)
    pub(crate) async fn call<Params, Result>(
        &self,
        store: &mut Store<CallState>,
        export: ComponentExportIndex,
        params: Params,
    ) -> wasmtime::Result<Result>
    where
        Params: ComponentNamedList + Lower + Send + Sync,
        (Result,): ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let function = self
            .instance
            .get_typed_func::<Params, (Result,)>(&mut *store, export)?;
        let (result,) = function.call_async(&mut *store, params).await?;
        Ok(result)
    }
}
