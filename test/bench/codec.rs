//! Criterion micro-benchmarks of the MQTT codec: decode and encode of a 100 B QoS 1 PUBLISH,
//! a CONNECT and a 10-filter SUBSCRIBE (`cargo bench --bench codec`).

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use emqttd::mqtt::decode::decode_packet;
use emqttd::mqtt::encode::encode_packet;
use emqttd::mqtt::packet::{Connect, Packet, PacketId, ProtocolLevel, Publish, QoS, Subscribe};

const MAX: usize = 1024 * 1024;

fn publish() -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: ByteString::from_static("devices/sensor-0042/telemetry"),
        packet_id: PacketId::new(7),
        payload: Bytes::from(vec![0x5a; 100]),
    })
}

fn connect() -> Packet {
    Packet::Connect(Box::new(Connect {
        protocol: ProtocolLevel::V311,
        clean_session: true,
        keep_alive: 60,
        client_id: ByteString::from_static("bench_client_000042"),
        will: None,
        username: Some(ByteString::from_static("user")),
        password: Some(Bytes::from_static(b"secret")),
    }))
}

fn subscribe() -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(1).expect("non-zero"),
        topic_filters: (0..10)
            .map(|n| {
                (
                    ByteString::from(format!("devices/+/room{n}/#")),
                    QoS::AtLeastOnce,
                )
            })
            .collect(),
    })
}

fn wire(packet: &Packet) -> Bytes {
    let mut buf = BytesMut::new();
    encode_packet(packet, &mut buf).expect("encodable");
    buf.freeze()
}

fn codec(c: &mut Criterion) {
    for (name, packet) in [
        ("publish_100B", publish()),
        ("connect", connect()),
        ("subscribe_10", subscribe()),
    ] {
        let bytes = wire(&packet);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("decode", |b| {
            b.iter(|| {
                let mut buf = BytesMut::from(&bytes[..]);
                black_box(decode_packet(&mut buf, MAX).expect("valid"))
            })
        });
        group.bench_function("encode", |b| {
            let mut buf = BytesMut::with_capacity(4096);
            b.iter(|| {
                buf.clear();
                encode_packet(black_box(&packet), &mut buf).expect("encodable");
                black_box(buf.len())
            })
        });
        group.finish();
    }
    // A read buffer holding 64 back-to-back publishes, decoded one after the other.
    let one = wire(&publish());
    let stream: Vec<u8> = one.iter().copied().cycle().take(one.len() * 64).collect();
    let mut group = c.benchmark_group("publish_100B_stream");
    group.throughput(Throughput::Elements(64));
    group.bench_function("decode_64", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&stream[..]);
            let mut n = 0;
            while let Some(packet) = decode_packet(&mut buf, MAX).expect("valid") {
                black_box(packet);
                n += 1;
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
