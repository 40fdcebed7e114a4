// Body relay over STARTTLS that levee terminates itself (--tls-certificate-file, an EC P-256 cert made
// with openssl for the run), against the same levee without TLS and against the C relay, all three
// under tcpserver on loopback (the production shape: the socket on fd 0/1) in front of the C sink,
// and fed by the same client in this process (node:tls, verifying the certificate). Runs interleave
// the three variants. The client's own encryption shares the machine's CPUs with levee: the TLS
// figure is what one client and one levee achieve together, not levee's decryption alone.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { LEVEE, NODE, median, row } from './lib.mjs';
import { ReplyReader, connect, startTcpserver, withTimeout } from './serve-load.mjs';

const LINE = 78; // 76 letters + CRLF, as runstat writes them
const BLOCK_LINES = 840;

function bodyBlock(lines) {
  const b = Buffer.alloc(lines * LINE);
  for (let i = 0; i < lines; i++) {
    b.fill(97 + (i % 26), i * LINE, i * LINE + 76);
    b.write('\r\n', i * LINE + 76, 'latin1');
  }
  return b;
}

function makeCertificate(dir) {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=mx.test'],
      ...['-addext', 'subjectAltName=DNS:mx.test'],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert, key };
}

/** resolves when `s` can take more, rejects when it closes or fails first */
function drained(s) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const done = (e) => {
        s.off('drain', ok);
        s.off('close', closed);
        s.off('error', done);
        if (e) reject(e);
      };
      const ok = () => (done(), resolve());
      const closed = () => done(new Error('connection closed while writing the body'));
      s.once('drain', ok);
      s.once('close', closed);
      s.once('error', done);
    }),
    60000,
    'drain',
  );
}

/** the kB of VmHWM (peak RSS) of tcpserver's only child, or NaN */
function childPeakKb(tcpserverPid) {
  try {
    const kids = readFileSync(`/proc/${tcpserverPid}/task/${tcpserverPid}/children`, 'utf8')
      .trim()
      .split(' ');
    if (kids.length !== 1 || !kids[0]) return NaN;
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${kids[0]}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * One session: EHLO, [STARTTLS, handshake, EHLO,] MAIL, RCPT, DATA with `mib` MiB of 78-byte lines,
 * QUIT. Returns ms from connect() to the close, ms from 354 to "250 ok queued", the child's peak RSS
 * just before QUIT and the negotiated cipher.
 */
async function relaySession(server, { mib, ca }) {
  const block = bodyBlock(BLOCK_LINES);
  const lines = Math.ceil((mib * 1048576) / LINE);
  const t0 = performance.now();
  let s = await withTimeout(connect(server.port), 30000, 'connect');
  try {
    const r = new ReplyReader(s);
    await r.expect('220', 'greeting');
    s.write('EHLO bench.test\r\n');
    const ehlo = await r.expect('250', 'EHLO');
    let cipher = '';
    if (ca) {
      if (!/^250[- ]STARTTLS\r?$/im.test(ehlo)) throw new Error(`no STARTTLS offered: ${ehlo}`);
      s.write('STARTTLS\r\n');
      await r.expect('220', 'STARTTLS');
      s.removeAllListeners('data');
      const t = tls.connect({ socket: s, ca, servername: 'mx.test' });
      await withTimeout(once(t, 'secureConnect'), 10000, 'TLS handshake');
      cipher = `${t.getProtocol()} ${t.getCipher().name}`;
      r.attach(t);
      s = t;
      s.write('EHLO bench.test\r\n');
      await r.expect('250', 'EHLO inside TLS');
    }
    s.write('MAIL FROM:<sender@sender.test>\r\n');
    await r.expect('250', 'MAIL');
    s.write('RCPT TO:<rcpt@example.org>\r\n');
    await r.expect('250', 'RCPT');
    s.write('DATA\r\n');
    await r.expect('354', 'DATA');
    const tBody = performance.now();
    s.write('Subject: bench\r\n\r\n');
    for (let left = lines; left > 0; left -= BLOCK_LINES) {
      const chunk = left >= BLOCK_LINES ? block : block.subarray(0, left * LINE);
      if (!s.write(chunk)) await drained(s);
    }
    s.write('.\r\n');
    await r.expect('250 ok queued', 'end of DATA', 120000);
    const bodyMs = performance.now() - tBody;
    const peakKb = childPeakKb(server.pid);
    s.write('QUIT\r\n');
    await r.expect('221', 'QUIT');
    const sock = s;
    await withTimeout(
      new Promise((resolve) => (sock.destroyed ? resolve() : sock.once('close', resolve))),
      10000,
      'close after QUIT',
    );
    return { totalMs: performance.now() - t0, bodyMs, peakMb: peakKb / 1024, cipher };
  } finally {
    s.destroy();
  }
}

export async function tlsRelayBench(ctx) {
  const { tools, fx } = ctx;
  const mib = 50;
  const runs = ctx.quick ? 5 : Math.max(5, Math.round(ctx.runs / 2));
  const { cert, key } = makeCertificate(join(fx.dir, 'tls'));
  const ca = readFileSync(cert);
  const plainArgs = ['--dns-level', 'none', '--log-target', 'stderr'];
  const tlsArgs = [...plainArgs, '--tls-certificate-file', cert, '--tls-privatekey-file', key];
  const env = fx.envNone;
  const variants = [];
  try {
    variants.push({
      server: await startTcpserver('levee STARTTLS', [NODE, LEVEE, ...tlsArgs, tools.sink], env),
      ca,
      runs: [],
    });
    variants.push({
      server: await startTcpserver('levee plain', [NODE, LEVEE, ...plainArgs, tools.sink], env),
      ca: null,
      runs: [],
    });
    variants.push({
      server: await startTcpserver('C relay plain', [tools.relay, tools.sink], env),
      ca: null,
      runs: [],
    });
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        const r = await relaySession(v.server, { mib, ca: v.ca }).catch((e) => {
          throw new Error(`${mib} MiB through ${v.server.label}: ${e.message}\n${v.server.stderr()}`);
        });
        v.runs.push(r);
      }
      ctx.progress(`tls-relay ${mib} MiB run ${i + 1}/${runs}`);
    }
  } finally {
    for (const v of variants) await v.server.stop();
  }
  const [secure, plain, c] = variants.map((v) => v.runs);
  const rate = (list, field) => (mib * 1000) / median(list.map((r) => r[field]));
  // per-run ratios (the runs are interleaved, so a load burst hits the pair alike)
  const pairRatio = (a, b, field) => median(a.map((r, i) => b[i][field] / r[field]));
  return [
    row(
      'tls-relay',
      `${mib} MiB body over STARTTLS (${secure[0].cipher}), whole session, runs: ${runs}`,
      rate(secure, 'totalMs'),
      'MiB/s',
      {
        baseLabel: 'levee plain',
        base: rate(plain, 'totalMs'),
        ratio: pairRatio(secure, plain, 'totalMs'),
      },
    ),
    row('tls-relay', '  body only (354 → 250), levee STARTTLS', rate(secure, 'bodyMs'), 'MiB/s', {
      baseLabel: 'levee plain',
      base: rate(plain, 'bodyMs'),
      ratio: pairRatio(secure, plain, 'bodyMs'),
    }),
    row('tls-relay', '  levee plain, whole session', rate(plain, 'totalMs'), 'MiB/s', {
      baseLabel: 'C relay',
      base: rate(c, 'totalMs'),
      ratio: pairRatio(plain, c, 'totalMs'),
    }),
    row(
      'tls-relay',
      '  levee peak RSS (VmHWM) after the STARTTLS body',
      median(secure.map((r) => r.peakMb)),
      'MB',
      {
        baseLabel: 'levee plain',
        base: median(plain.map((r) => r.peakMb)),
        ratio: median(secure.map((r) => r.peakMb)) / median(plain.map((r) => r.peakMb)),
      },
    ),
  ];
}
