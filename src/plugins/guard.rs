//! The panic boundary between the broker and a plugin: every callback, provider and command a
//! plugin registers is wrapped so that a panic in it is caught, reported once (the host then
//! unloads the plugin), and answered as if the plugin had no opinion: `Continue` for a hook,
//! `Ignore` for an auth or ACL provider. Once a plugin is down, its wrappers no longer call in.

use emqttd_plugin_api::access::{
    Access, AclClient, AclProvider, AclResult, AuthCheck, AuthProvider, AuthResult, ClientAuth,
};
use emqttd_plugin_api::hooks::{
    ConnectAction, ConnectCallback, Flow, PublishAction, PublishCallback, SubscribeCallback,
    TopicEntry, UnsubscribeCallback,
};
use emqttd_plugin_api::{Client, Message};
use futures_util::FutureExt;
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Called once, on a loaded plugin's first panic, with what panicked and the panic message.
pub type OnCrash = Box<dyn Fn(&str, &str) + Send + Sync>;

/// One loaded instance of a plugin, as its wrappers see it.
pub struct Guard {
    plugin: String,
    down: AtomicBool,
    on_crash: OnCrash,
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

impl Guard {
    pub fn new(plugin: &str, on_crash: OnCrash) -> Arc<Guard> {
        Arc::new(Guard {
            plugin: plugin.to_string(),
            down: AtomicBool::new(false),
            on_crash,
        })
    }

    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    /// True once the plugin crashed or is being unloaded: its code is no longer called.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Stop calling into the plugin (it is being unloaded).
    pub fn set_down(&self) {
        self.down.store(true, Ordering::Release);
    }

    /// Call into the plugin: `None` when it is down or when `f` panicked (then reported).
    pub fn call<R>(&self, what: &str, f: impl FnOnce() -> R) -> Option<R> {
        if self.is_down() {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(result) => Some(result),
            Err(payload) => {
                self.crashed(what, &*payload);
                None
            }
        }
    }

    /// Report a panic of the plugin's code in `what`; only the first one reaches `on_crash`.
    pub fn crashed(&self, what: &str, payload: &(dyn Any + Send)) {
        self.report(what, panic_message(payload));
    }

    /// Report that `what`, started by the plugin, is gone while the plugin is loaded (an actor
    /// that panicked in a handler, or stopped): the plugin no longer works as loaded.
    pub fn stopped(&self, what: &str) {
        self.report(what, "it stopped while the plugin was loaded".to_string());
    }

    fn report(&self, what: &str, message: String) {
        if !self.down.swap(true, Ordering::AcqRel) {
            (self.on_crash)(what, &message);
        } else {
            log::warn!(
                "plugin {} failed again in {} while going down: {}",
                self.plugin,
                what,
                message
            );
        }
    }

    /// A `message.publish` callback behind the boundary.
    pub fn publish(self: &Arc<Self>, callback: Box<PublishCallback>) -> Box<PublishCallback> {
        let guard = self.clone();
        Box::new(move |message: &Message| {
            guard
                .call("its message.publish hook", || callback(message))
                .unwrap_or(PublishAction::Continue)
        })
    }

    /// A `client.connect` callback behind the boundary.
    pub fn connect(self: &Arc<Self>, callback: Box<ConnectCallback>) -> Box<ConnectCallback> {
        let guard = self.clone();
        Box::new(move |client: &Client, password: Option<&bytes::Bytes>| {
            guard
                .call("its client.connect hook", || callback(client, password))
                .unwrap_or(ConnectAction::Continue)
        })
    }

    /// A `client.subscribe` callback behind the boundary; a panic leaves the table as it was.
    pub fn subscribe(self: &Arc<Self>, callback: Box<SubscribeCallback>) -> Box<SubscribeCallback> {
        let guard = self.clone();
        Box::new(move |client: &Client, table: &mut [TopicEntry]| {
            if guard.is_down() {
                return Flow::Continue;
            }
            let before = table.to_vec();
            match guard.call("its client.subscribe hook", || callback(client, table)) {
                Some(flow) => flow,
                None => {
                    table.clone_from_slice(&before);
                    Flow::Continue
                }
            }
        })
    }

    /// A `client.unsubscribe` callback behind the boundary; a panic leaves the list as it was.
    pub fn unsubscribe(
        self: &Arc<Self>,
        callback: Box<UnsubscribeCallback>,
    ) -> Box<UnsubscribeCallback> {
        let guard = self.clone();
        Box::new(
            move |client: &Client, filters: &mut Vec<bytestring::ByteString>| {
                if guard.is_down() {
                    return Flow::Continue;
                }
                let before = filters.clone();
                match guard.call("its client.unsubscribe hook", || callback(client, filters)) {
                    Some(flow) => flow,
                    None => {
                        *filters = before;
                        Flow::Continue
                    }
                }
            },
        )
    }
}

/// An auth provider behind the boundary: a panic (now or in its pending future) is `Ignore`.
pub struct GuardedAuth {
    pub guard: Arc<Guard>,
    pub inner: Box<dyn AuthProvider>,
}

impl AuthProvider for GuardedAuth {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        match self
            .guard
            .call("its auth provider", || self.inner.check(client))
        {
            Some(AuthCheck::Pending(future)) => {
                let guard = self.guard.clone();
                AuthCheck::Pending(Box::pin(async move {
                    match AssertUnwindSafe(future).catch_unwind().await {
                        Ok(result) if !guard.is_down() => result,
                        Ok(_) => AuthResult::Ignore,
                        Err(payload) => {
                            guard.crashed("its auth provider", &*payload);
                            AuthResult::Ignore
                        }
                    }
                }))
            }
            Some(ready) => ready,
            None => AuthResult::Ignore.into(),
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// An ACL provider behind the boundary: a panic is `Ignore`.
pub struct GuardedAcl {
    pub guard: Arc<Guard>,
    pub inner: Box<dyn AclProvider>,
}

impl AclProvider for GuardedAcl {
    fn check_acl(&self, client: &AclClient<'_>, access: Access, topic: &str) -> AclResult {
        self.guard
            .call("its ACL provider", || {
                self.inner.check_acl(client, access, topic)
            })
            .unwrap_or(AclResult::Ignore)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn guard() -> (Arc<Guard>, Arc<Mutex<Vec<String>>>) {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let seen = reports.clone();
        let guard = Guard::new(
            "p",
            Box::new(move |what, message| {
                seen.lock().unwrap().push(format!("{what}: {message}"));
            }),
        );
        (guard, reports)
    }

    fn client() -> Client {
        Client {
            client_id: "c".into(),
            username: None,
            peer: "127.0.0.1:1".parse().unwrap(),
            protocol: 4,
            clean_session: true,
            keep_alive: 60,
            listener: "mqtt:tcp:test".into(),
            connected_at: std::time::SystemTime::now(),
        }
    }

    #[test]
    fn a_panic_is_reported_once_and_the_plugin_is_no_longer_called() {
        let (guard, reports) = guard();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let hook = guard.publish(Box::new(move |_: &Message| {
            counted.fetch_add(1, Ordering::SeqCst);
            panic!("boom {}", 7)
        }));
        let message = Message::new(
            "c".into(),
            "t".into(),
            bytes::Bytes::new(),
            emqttd_plugin_api::QoS::AtMostOnce,
            false,
        );
        assert!(matches!(hook(&message), PublishAction::Continue));
        assert!(matches!(hook(&message), PublishAction::Continue));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(guard.is_down());
        assert_eq!(
            *reports.lock().unwrap(),
            vec!["its message.publish hook: boom 7".to_string()]
        );
    }

    #[test]
    fn a_panicking_subscribe_hook_leaves_the_table_as_it_was() {
        let (guard, _) = guard();
        let hook = guard.subscribe(Box::new(|_: &Client, table: &mut [TopicEntry]| {
            table[0].refused = true;
            panic!("half done")
        }));
        let mut table = vec![TopicEntry {
            filter: "a/b".into(),
            qos: emqttd_plugin_api::QoS::AtLeastOnce,
            refused: false,
        }];
        assert_eq!(hook(&client(), &mut table), Flow::Continue);
        assert!(!table[0].refused);
    }

    struct PanicsAcl;
    impl AclProvider for PanicsAcl {
        fn check_acl(&self, _: &AclClient<'_>, _: Access, _: &str) -> AclResult {
            panic!("acl bug")
        }
    }

    #[test]
    fn a_panicking_provider_ignores() {
        let (guard, reports) = guard();
        let acl = GuardedAcl {
            guard,
            inner: Box::new(PanicsAcl),
        };
        let client = AclClient {
            client_id: "c",
            username: None,
            ip: None,
        };
        assert_eq!(
            acl.check_acl(&client, Access::Publish, "t"),
            AclResult::Ignore
        );
        assert_eq!(reports.lock().unwrap().len(), 1);
    }

    #[test]
    fn panic_messages_of_both_kinds() {
        let payload = catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*payload), "static");
        let payload = catch_unwind(|| panic!("formatted {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*payload), "formatted 1");
    }
}
