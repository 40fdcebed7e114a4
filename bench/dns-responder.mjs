// A tiny loopback DNS server for the benchmarks, used when rbldnsd/dnsmasq cannot run (not root or
// not installed). It answers exactly the names the "typical" configuration asks about, so a run does
// the same lookups either way:
//   PTR  <client IP>  -> its name;  A <name> -> the client IP (forward-confirmed rDNS)
//   A/TXT <reversed 127.0.0.2>.<zone> for each zone -> 127.0.0.2 and a TXT reason (listed)
//   anything else -> NXDOMAIN (not listed)
// Requests are parsed defensively: malformed packets are dropped, never answered.
import { createSocket } from 'node:dgram';

const TYPE = { A: 1, PTR: 12, TXT: 16 };

function readName(msg, off) {
  const labels = [];
  for (let guard = 0; guard < 128; guard++) {
    if (off >= msg.length) return null;
    const len = msg[off];
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: off + 1 };
    if (len > 63 || off + 1 + len > msg.length) return null; // no compression in questions
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return null;
}

function encodeName(name) {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

function answer(msg, rcode, type, rdata) {
  const q = readName(msg, 12);
  const question = msg.subarray(12, q.end + 4);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8400 | ((msg[2] & 0x01) << 8) | 0x80 | rcode, 2); // QR AA RD? RA rcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdata ? 1 : 0, 6);
  if (!rdata) return Buffer.concat([header, question]);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0); // the question's name
  rr.writeUInt16BE(type, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, question, rr, rdata]);
}

/**
 * Starts the responder on 127.0.0.1 (random port). `clients` maps IP -> PTR name, `zones` are the
 * DNSBL zones; `listedIp` is listed in every zone.
 */
export async function startDnsResponder({ clients, zones, listedIp }) {
  const rev = (ip) => ip.split('.').reverse().join('.');
  const ptr = new Map(Object.entries(clients).map(([ip, name]) => [`${rev(ip)}.in-addr.arpa`, name]));
  const a = new Map(Object.entries(clients).map(([ip, name]) => [name.toLowerCase(), ip]));
  const listed = new Set(zones.map((z) => `${rev(listedIp)}.${z}`.toLowerCase()));
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (msg, peer) => {
    if (msg.length < 17 || msg[2] & 0x80 || msg.readUInt16BE(4) !== 1) return;
    const q = readName(msg, 12);
    if (!q || q.end + 4 > msg.length) return;
    queries++;
    const type = msg.readUInt16BE(q.end);
    let reply;
    if (type === TYPE.PTR && ptr.has(q.name)) reply = answer(msg, 0, TYPE.PTR, encodeName(ptr.get(q.name)));
    else if (type === TYPE.A && a.has(q.name))
      reply = answer(msg, 0, TYPE.A, Buffer.from(a.get(q.name).split('.').map(Number)));
    else if (listed.has(q.name) && type === TYPE.A)
      reply = answer(msg, 0, TYPE.A, Buffer.from([127, 0, 0, 2]));
    else if (listed.has(q.name) && type === TYPE.TXT) {
      const text = Buffer.from('Listed by the benchmark responder');
      reply = answer(msg, 0, TYPE.TXT, Buffer.concat([Buffer.from([text.length]), text]));
    } else if (listed.has(q.name) || a.has(q.name) || ptr.has(q.name)) reply = answer(msg, 0, type, null);
    else reply = answer(msg, 3, type, null);
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  return {
    port: socket.address().port,
    queries: () => queries,
    stop: () => new Promise((resolve) => socket.close(resolve)),
  };
}
