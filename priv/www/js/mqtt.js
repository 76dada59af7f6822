// MQTT 3.1.1 over WebSocket for the browser: the packet codec and a small client (QoS 0 and 1).

const TYPE = {
  connect: 1, connack: 2, publish: 3, puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7,
  subscribe: 8, suback: 9, unsubscribe: 10, unsuback: 11, pingreq: 12, pingresp: 13, disconnect: 14,
};
const NAME = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k]));
const MAX_REMAINING = 268435455;

export const CONNACK_ERRORS = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
};

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** Remaining length → its 1 to 4 byte variable-length encoding. */
export function encodeRemainingLength(length) {
  if (!Number.isInteger(length) || length < 0 || length > MAX_REMAINING) {
    throw new RangeError(`remaining length out of range: ${length}`);
  }
  const out = [];
  let n = length;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/**
 * Decodes a remaining length at `offset`: { value, bytes } or null when more bytes are
 * needed. Throws on a fifth length byte (malformed).
 */
export function decodeRemainingLength(buf, offset = 0) {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 4; i += 1) {
    if (offset + i >= buf.length) return null;
    const byte = buf[offset + i];
    value += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 };
    multiplier *= 128;
  }
  throw new Error('malformed remaining length');
}

/** UTF-8 string with its 2-byte big-endian length prefix. */
function str(text) {
  const bytes = typeof text === 'string' ? utf8.encode(text) : text;
  if (bytes.length > 0xffff) throw new RangeError('string longer than 65535 bytes');
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
}

function u16(n) {
  return [(n >> 8) & 0xff, n & 0xff];
}

function frame(firstByte, body) {
  const out = new Uint8Array(1 + 4 + body.length);
  const len = encodeRemainingLength(body.length);
  out[0] = firstByte;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out.subarray(0, 1 + len.length + body.length);
}

function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  parts.forEach((p) => { out.set(p, at); at += p.length; });
  return out;
}

/** Encodes one packet object (see the decoder for the shapes) into its bytes. */
export function encode(packet) {
  switch (packet.type) {
    case 'connect': {
      let flags = packet.clean === false ? 0 : 0x02;
      const payload = [...str(packet.clientId || '')];
      if (packet.will) {
        flags |= 0x04 | ((packet.will.qos || 0) << 3) | (packet.will.retain ? 0x20 : 0);
        payload.push(...str(packet.will.topic), ...str(toBytes(packet.will.payload)));
      }
      if (packet.username !== undefined && packet.username !== '') {
        flags |= 0x80;
        payload.push(...str(packet.username));
        if (packet.password !== undefined && packet.password !== '') {
          flags |= 0x40;
          payload.push(...str(packet.password));
        }
      }
      const header = [...str('MQTT'), 4, flags, ...u16(packet.keepalive ?? 60)];
      return frame(TYPE.connect << 4, concat([Uint8Array.from(header), Uint8Array.from(payload)]));
    }
    case 'publish': {
      const qos = packet.qos || 0;
      const first = (TYPE.publish << 4) | (packet.dup ? 0x08 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
      const head = [...str(packet.topic), ...(qos > 0 ? u16(packet.id) : [])];
      return frame(first, concat([Uint8Array.from(head), toBytes(packet.payload)]));
    }
    case 'puback':
    case 'pubrec':
    case 'pubcomp':
      return frame(TYPE[packet.type] << 4, Uint8Array.from(u16(packet.id)));
    case 'pubrel':
      return frame((TYPE.pubrel << 4) | 0x02, Uint8Array.from(u16(packet.id)));
    case 'subscribe': {
      const body = [...u16(packet.id)];
      packet.topics.forEach((t) => body.push(...str(t.topic), t.qos || 0));
      return frame((TYPE.subscribe << 4) | 0x02, Uint8Array.from(body));
    }
    case 'unsubscribe': {
      const body = [...u16(packet.id)];
      packet.topics.forEach((t) => body.push(...str(t)));
      return frame((TYPE.unsubscribe << 4) | 0x02, Uint8Array.from(body));
    }
    case 'pingreq':
    case 'disconnect':
      return Uint8Array.of(TYPE[packet.type] << 4, 0);
    default:
      throw new Error(`cannot encode packet type ${packet.type}`);
  }
}

function toBytes(payload) {
  if (payload === undefined || payload === null) return new Uint8Array(0);
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return utf8.encode(String(payload));
}

function decodeBody(first, body) {
  const type = NAME[first >> 4];
  const id = () => (body[0] << 8) | body[1];
  switch (type) {
    case 'connack':
      if (body.length !== 2) throw new Error('malformed CONNACK');
      return { type, sessionPresent: (body[0] & 1) === 1, returnCode: body[1] };
    case 'publish': {
      const qos = (first >> 1) & 3;
      if (qos === 3) throw new Error('PUBLISH with QoS 3');
      const topicLen = (body[0] << 8) | body[1];
      let at = 2 + topicLen;
      const topic = utf8Decoder.decode(body.subarray(2, at));
      let packetId;
      if (qos > 0) { packetId = (body[at] << 8) | body[at + 1]; at += 2; }
      if (at > body.length) throw new Error('malformed PUBLISH');
      return { type, topic, qos, id: packetId, retain: (first & 1) === 1, dup: (first & 8) === 8, payload: body.slice(at) };
    }
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': case 'unsuback':
      if (body.length !== 2) throw new Error(`malformed ${type.toUpperCase()}`);
      return { type, id: id() };
    case 'suback':
      return { type, id: id(), granted: Array.from(body.subarray(2)) };
    case 'pingresp':
      return { type };
    default:
      throw new Error(`unexpected packet type ${first >> 4} from the server`);
  }
}

/** Reassembles packets from a byte stream that WebSocket frames may split or join. */
export class Parser {
  constructor() {
    this.buf = new Uint8Array(0);
  }

  /** Adds bytes; returns the packets now complete. */
  push(bytes) {
    this.buf = this.buf.length ? concat([this.buf, bytes]) : new Uint8Array(bytes);
    const packets = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const len = decodeRemainingLength(this.buf, 1);
      if (!len) break;
      const start = 1 + len.bytes;
      if (this.buf.length < start + len.value) break;
      packets.push(decodeBody(this.buf[0], this.buf.subarray(start, start + len.value)));
      this.buf = this.buf.slice(start + len.value);
    }
    return packets;
  }
}

/** A topic name a client may publish to: not empty, no wildcards. */
export function validTopicName(topic) {
  return typeof topic === 'string' && topic.length > 0 && !/[+#]/.test(topic) && !topic.includes('\u0000');
}

/** A topic filter: '#' only last and alone in its level, '+' alone in its level. */
export function validTopicFilter(filter) {
  if (typeof filter !== 'string' || filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => (
    (level === '#' && i === levels.length - 1)
    || level === '+'
    || !/[+#]/.test(level)
  ));
}

/**
 * An MQTT 3.1.1 client over one WebSocket (sub-protocol "mqtt").
 * Events: 'message' (detail { topic, payload: Uint8Array, text, qos, retain }),
 * 'close' (detail { reason }), 'packet' (detail: each packet in or out, for logging).
 */
export class MqttClient extends EventTarget {
  constructor(url, { clientId, username, password, keepalive = 60, clean = true } = {}) {
    super();
    this.url = url;
    this.options = { clientId, username, password, keepalive, clean };
    this.state = 'new';
    this.parser = new Parser();
    this.pending = new Map(); // packet id → { resolve, reject, type }
    this.incomingQos2 = new Set();
    this.nextId = 1;
    this.pingTimer = 0;
    this.awaitingPong = false;
    this.ws = null;
  }

  /** Opens the WebSocket and sends CONNECT; resolves on CONNACK 0 with { sessionPresent }. */
  connect() {
    if (this.state !== 'new') return Promise.reject(new Error('already used; make a new client'));
    this.state = 'connecting';
    return new Promise((resolve, reject) => {
      this.connackWaiter = { resolve, reject };
      let ws;
      try {
        ws = new WebSocket(this.url, ['mqtt']);
      } catch (e) {
        this.state = 'closed';
        reject(e);
        return;
      }
      this.ws = ws;
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => this.send({ type: 'connect', ...this.options });
      ws.onmessage = (ev) => this.onData(ev.data);
      ws.onerror = () => this.close('WebSocket error');
      ws.onclose = (ev) => this.close(ev.reason || `connection closed (code ${ev.code})`);
    });
  }

  /** Subscribes to one filter; resolves with the granted QoS, rejects on a refusal (0x80). */
  async subscribe(topic, qos = 0) {
    if (!validTopicFilter(topic)) throw new Error(`not a valid topic filter: ${topic}`);
    const suback = await this.request({ type: 'subscribe', topics: [{ topic, qos }] }, 'suback');
    const granted = suback.granted[0];
    if (granted === 0x80) throw new Error(`subscription to ${topic} refused`);
    return granted;
  }

  async unsubscribe(topic) {
    await this.request({ type: 'unsubscribe', topics: [topic] }, 'unsuback');
  }

  /** Publishes; QoS 0 resolves once sent, QoS 1 on PUBACK. */
  async publish(topic, payload, { qos = 0, retain = false } = {}) {
    if (!validTopicName(topic)) throw new Error(`not a valid topic name: ${topic}`);
    if (qos !== 0 && qos !== 1) throw new Error('QoS must be 0 or 1');
    if (qos === 0) {
      this.send({ type: 'publish', topic, payload, qos, retain });
      return;
    }
    await this.request({ type: 'publish', topic, payload, qos, retain }, 'puback');
  }

  /** Sends DISCONNECT and closes the socket. */
  end() {
    if (this.state === 'connected') this.send({ type: 'disconnect' });
    this.close('disconnected by the user');
  }

  request(packet, replyType) {
    if (this.state !== 'connected') return Promise.reject(new Error('not connected'));
    const id = this.allocateId();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, type: replyType });
      this.send({ ...packet, id });
    });
  }

  allocateId() {
    for (let i = 0; i < 65535; i += 1) {
      const id = this.nextId;
      this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new Error('no free packet identifier');
  }

  send(packet) {
    if (!this.ws || this.ws.readyState !== 1) throw new Error('not connected');
    this.ws.send(encode(packet));
    this.dispatchEvent(new CustomEvent('packet', { detail: { direction: 'out', packet } }));
    this.armPing();
  }

  /** A PINGREQ after `keepalive` seconds without sending; no PINGRESP by the next one closes. */
  armPing() {
    clearTimeout(this.pingTimer);
    const keepalive = this.options.keepalive;
    if (!keepalive || this.state !== 'connected') return;
    this.pingTimer = setTimeout(() => {
      if (this.awaitingPong) {
        this.close('no PINGRESP from the broker');
        return;
      }
      this.awaitingPong = true;
      this.send({ type: 'pingreq' });
    }, keepalive * 1000);
  }

  onData(data) {
    let packets;
    try {
      packets = this.parser.push(new Uint8Array(data));
    } catch (e) {
      this.close(`protocol error: ${e.message}`);
      return;
    }
    packets.forEach((p) => this.onPacket(p));
  }

  onPacket(p) {
    this.dispatchEvent(new CustomEvent('packet', { detail: { direction: 'in', packet: p } }));
    switch (p.type) {
      case 'connack': {
        const waiter = this.connackWaiter;
        this.connackWaiter = null;
        if (!waiter) { this.close('unexpected CONNACK'); return; }
        if (p.returnCode !== 0) {
          waiter.reject(new Error(`connection refused: ${CONNACK_ERRORS[p.returnCode] || p.returnCode}`));
          this.close('connection refused');
          return;
        }
        this.state = 'connected';
        this.armPing();
        waiter.resolve({ sessionPresent: p.sessionPresent });
        return;
      }
      case 'publish':
        if (p.qos === 1) this.send({ type: 'puback', id: p.id });
        if (p.qos === 2) {
          this.send({ type: 'pubrec', id: p.id });
          if (this.incomingQos2.has(p.id)) return; // a redelivery: already handed over
          this.incomingQos2.add(p.id);
        }
        this.dispatchEvent(new CustomEvent('message', {
          detail: { topic: p.topic, payload: p.payload, text: utf8Decoder.decode(p.payload), qos: p.qos, retain: p.retain },
        }));
        return;
      case 'pubrel':
        this.incomingQos2.delete(p.id);
        this.send({ type: 'pubcomp', id: p.id });
        return;
      case 'pingresp':
        this.awaitingPong = false;
        return;
      default: {
        const waiter = this.pending.get(p.id);
        if (waiter && waiter.type === p.type) {
          this.pending.delete(p.id);
          waiter.resolve(p);
        }
      }
    }
  }

  close(reason) {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.pingTimer);
    const error = new Error(reason);
    if (this.connackWaiter) { this.connackWaiter.reject(error); this.connackWaiter = null; }
    this.pending.forEach((w) => w.reject(error));
    this.pending.clear();
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.onerror = null;
      this.ws.onmessage = null;
      try { this.ws.close(); } catch { /* already closed */ }
    }
    this.dispatchEvent(new CustomEvent('close', { detail: { reason } }));
  }
}
