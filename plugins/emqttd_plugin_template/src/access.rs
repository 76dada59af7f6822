//! Demo access providers: they log and count every check and answer `Ignore`, so the next
//! provider in the chain (or `mqtt.allow_anonymous` / `mqtt.acl_nomatch`) decides. A real auth
//! plugin answers `Allow` or `Deny` here (see emqttd_auth_username).

use crate::counts::Counts;
use crate::PREFIX;
use emqttd_plugin_api::{
    Access, AclClient, AclProvider, AclResult, AuthCheck, AuthProvider, AuthResult, ClientAuth,
};
use std::sync::Arc;

pub struct DemoAuth {
    pub counts: Arc<Counts>,
}

impl AuthProvider for DemoAuth {
    fn check(&self, client: &ClientAuth<'_>) -> AuthCheck {
        self.counts.hit("auth");
        log::info!(
            "{PREFIX} auth: client {} username {:?} from {}: ignore",
            client.client_id,
            client.username,
            client.ip
        );
        AuthResult::Ignore.into()
    }

    fn name(&self) -> &str {
        "emqttd_plugin_template auth"
    }
}

pub struct DemoAcl {
    pub counts: Arc<Counts>,
}

impl AclProvider for DemoAcl {
    fn check_acl(&self, client: &AclClient<'_>, access: Access, topic: &str) -> AclResult {
        self.counts.hit("acl");
        log::info!(
            "{PREFIX} acl: client {} {:?} {}: ignore",
            client.client_id,
            access,
            topic
        );
        AclResult::Ignore
    }

    fn name(&self) -> &str {
        "emqttd_plugin_template acl"
    }
}
