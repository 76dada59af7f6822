//! The application message routed between clients (replaces emqttd's #mqtt_message{} record).

pub use emqttd_plugin_api::Message;
