//! A rumqttc (MQTT 3.1.1) client whose event loop runs in a task, with deadline-bounded waits
//! on what the broker sends.

use super::{QUIET, WAIT};
use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, LastWill, MqttOptions,
    Outgoing, Packet, Publish, QoS, SubscribeReasonCode,
};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{timeout_at, Instant};

/// Options for [`Client::connect_opts`]; start from [`options`].
pub fn options(addr: SocketAddr, client_id: &str) -> MqttOptions {
    let mut opts = MqttOptions::new(client_id, addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(true);
    opts
}

/// Options with a last will.
pub fn options_with_will(
    addr: SocketAddr,
    client_id: &str,
    will_topic: &str,
    will_payload: &str,
    will_qos: QoS,
    will_retain: bool,
) -> MqttOptions {
    let mut opts = options(addr, client_id);
    opts.set_last_will(LastWill::new(
        will_topic,
        will_payload.as_bytes().to_vec(),
        will_qos,
        will_retain,
    ));
    opts
}

pub struct Client {
    pub client: AsyncClient,
    pub id: String,
    publishes: mpsc::UnboundedReceiver<Publish>,
    /// Every other event; `Err` once, when the connection ends.
    control: mpsc::UnboundedReceiver<Result<Event, String>>,
    task: JoinHandle<()>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // Drops the event loop and with it the socket: an abrupt close, no DISCONNECT.
        self.task.abort();
    }
}

async fn pump(
    mut eventloop: EventLoop,
    publishes: mpsc::UnboundedSender<Publish>,
    control: mpsc::UnboundedSender<Result<Event, String>>,
) {
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let _ = publishes.send(p);
            }
            Ok(event) => {
                let _ = control.send(Ok(event));
            }
            Err(e) => {
                // Stop at the first error: rumqttc would otherwise reconnect on the next poll.
                let _ = control.send(Err(e.to_string()));
                return;
            }
        }
    }
}

impl Client {
    /// Clean-session client with keepalive 30 s; panics unless CONNACK 0 arrives.
    pub async fn connect(addr: SocketAddr, client_id: &str) -> Client {
        Self::connect_opts(options(addr, client_id)).await.0
    }

    /// Persistent-session (clean session 0) client; returns `session present` too.
    pub async fn connect_persistent(addr: SocketAddr, client_id: &str) -> (Client, bool) {
        let mut opts = options(addr, client_id);
        opts.set_clean_session(false);
        Self::connect_opts(opts).await
    }

    /// Connects with `opts`; panics unless CONNACK 0 arrives within [`WAIT`].
    /// Returns the client and the CONNACK's `session present` flag.
    pub async fn connect_opts(opts: MqttOptions) -> (Client, bool) {
        let id = opts.client_id();
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let first = tokio::time::timeout(WAIT, eventloop.poll()).await;
        let session_present = match first {
            Err(_) => panic!("client {id:?}: no CONNACK within {WAIT:?}"),
            Ok(Err(ConnectionError::ConnectionRefused(code))) => {
                panic!("client {id:?}: connection refused with {code:?}")
            }
            Ok(Err(e)) => panic!("client {id:?}: connect failed: {e}"),
            Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                assert_eq!(ack.code, ConnectReturnCode::Success);
                ack.session_present
            }
            Ok(Ok(other)) => panic!("client {id:?}: expected CONNACK, got {other:?}"),
        };
        let (pub_tx, publishes) = mpsc::unbounded_channel();
        let (ctl_tx, control) = mpsc::unbounded_channel();
        let task = tokio::spawn(pump(eventloop, pub_tx, ctl_tx));
        (
            Client {
                client,
                id,
                publishes,
                control,
                task,
            },
            session_present,
        )
    }

    /// Waits for the next control event matching `pred`, skipping others.
    async fn wait_for<T>(
        &mut self,
        what: &str,
        within: Duration,
        mut pred: impl FnMut(&Event) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.control.recv()).await {
                Err(_) => panic!("client {:?}: no {what} within {within:?}", self.id),
                Ok(None) => panic!("client {:?}: event loop ended waiting for {what}", self.id),
                Ok(Some(Err(e))) => {
                    panic!(
                        "client {:?}: connection lost waiting for {what}: {e}",
                        self.id
                    )
                }
                Ok(Some(Ok(event))) => {
                    if let Some(v) = pred(&event) {
                        return v;
                    }
                }
            }
        }
    }

    /// SUBSCRIBE one filter and wait for its SUBACK; returns the granted code.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> SubscribeReasonCode {
        self.client
            .subscribe(filter, qos)
            .await
            .expect("queue subscribe");
        self.wait_for("SUBACK", WAIT, |e| match e {
            Event::Incoming(Packet::SubAck(ack)) => Some(ack.return_codes[0]),
            _ => None,
        })
        .await
    }

    /// SUBSCRIBE and assert the broker granted exactly `qos`.
    pub async fn subscribe_ok(&mut self, filter: &str, qos: QoS) {
        let code = self.subscribe(filter, qos).await;
        assert_eq!(
            code,
            SubscribeReasonCode::Success(qos),
            "SUBACK for {filter:?}"
        );
    }

    /// UNSUBSCRIBE and wait for UNSUBACK.
    pub async fn unsubscribe(&mut self, filter: &str) {
        self.client
            .unsubscribe(filter)
            .await
            .expect("queue unsubscribe");
        self.wait_for("UNSUBACK", WAIT, |e| match e {
            Event::Incoming(Packet::UnsubAck(_)) => Some(()),
            _ => None,
        })
        .await
    }

    /// PUBLISH and wait until its flow completes (written for QoS 0, PUBACK for 1, PUBCOMP for 2).
    pub async fn publish(
        &mut self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: impl Into<Vec<u8>>,
    ) {
        self.client
            .publish(topic, qos, retain, payload)
            .await
            .expect("queue publish");
        let what = match qos {
            QoS::AtMostOnce => "outgoing PUBLISH",
            QoS::AtLeastOnce => "PUBACK",
            QoS::ExactlyOnce => "PUBCOMP",
        };
        self.wait_for(what, WAIT, |e| match (qos, e) {
            (QoS::AtMostOnce, Event::Outgoing(Outgoing::Publish(_))) => Some(()),
            (QoS::AtLeastOnce, Event::Incoming(Packet::PubAck(_))) => Some(()),
            (QoS::ExactlyOnce, Event::Incoming(Packet::PubComp(_))) => Some(()),
            _ => None,
        })
        .await
    }

    /// The next PUBLISH the broker delivers; panics after `within`.
    pub async fn expect_publish_within(&mut self, within: Duration) -> Publish {
        match timeout_at(Instant::now() + within, self.publishes.recv()).await {
            Ok(Some(p)) => p,
            Ok(None) => panic!(
                "client {:?}: connection ended while waiting for a PUBLISH",
                self.id
            ),
            Err(_) => panic!("client {:?}: no PUBLISH within {within:?}", self.id),
        }
    }

    /// The next PUBLISH within [`WAIT`].
    pub async fn expect_publish(&mut self) -> Publish {
        self.expect_publish_within(WAIT).await
    }

    /// The next PUBLISH must be on `topic` with `payload`; returns it for further checks.
    pub async fn expect_message(&mut self, topic: &str, payload: &str) -> Publish {
        let p = self.expect_publish().await;
        assert_eq!(
            (p.topic.as_str(), &p.payload[..]),
            (topic, payload.as_bytes()),
            "client {:?}: unexpected delivery {p:?}",
            self.id
        );
        p
    }

    /// Asserts no PUBLISH arrives for `quiet`.
    pub async fn expect_no_publish_for(&mut self, quiet: Duration) {
        if let Ok(Some(p)) = tokio::time::timeout(quiet, self.publishes.recv()).await {
            panic!("client {:?}: unexpected PUBLISH {p:?}", self.id);
        }
    }

    /// Asserts no PUBLISH arrives for [`QUIET`].
    pub async fn expect_no_publish(&mut self) {
        self.expect_no_publish_for(QUIET).await
    }

    /// Asserts the broker closes this connection within `within`.
    pub async fn expect_disconnected(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            match timeout_at(deadline, self.control.recv()).await {
                Err(_) => panic!(
                    "client {:?}: broker did not close the connection within {within:?}",
                    self.id
                ),
                Ok(None) | Ok(Some(Err(_))) => return,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Sends DISCONNECT and waits until the broker has closed the socket.
    pub async fn disconnect(mut self) {
        self.client.disconnect().await.expect("queue disconnect");
        self.expect_disconnected(WAIT).await;
    }
}
