// What the benchmarks run against: list files, the "typical" 20-line configuration, a config that
// makes levee exit right after parsing, the spawn-cat script, and a loopback DNS server that answers
// the rDNS and DNSBL lookups (rbldnsd + dnsmasq from test/harness when root with both installed,
// else bench/dns-responder.mjs in this process).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, cleanEnv } from './lib.mjs';
import { startDnsResponder } from './dns-responder.mjs';

/** the connecting client: has PTR good.client.test whose A points back (in both DNS set-ups) */
export const CLIENT = { ip: '127.0.0.5', name: 'good.client.test' };
/** listed in zen.test (both set-ups): used to prove the DNSBL filter really runs */
export const LISTED_IP = '127.0.0.2';
export const ZONES = ['zen.test', 'dbl.test', 'wl.test'];

function haveCommand(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startDns() {
  const root = process.getuid?.() === 0;
  if (root && haveCommand('rbldnsd') && haveCommand('dnsmasq')) {
    const { tsImport } = await import('tsx/esm/api');
    const harness = await tsImport(join(REPO, 'test', 'harness', 'dns-servers.ts'), import.meta.url);
    const servers = await harness.startDnsServers();
    return {
      port: servers.port,
      kind: 'rbldnsd + dnsmasq (test/harness startDnsServers)',
      stop: () => servers.stop(),
    };
  }
  const responder = await startDnsResponder({
    clients: { [CLIENT.ip]: CLIENT.name },
    zones: ZONES,
    listedIp: LISTED_IP,
  });
  const why = root ? 'rbldnsd/dnsmasq not installed' : 'not root';
  return {
    port: responder.port,
    kind: `in-process UDP responder (bench/dns-responder.mjs; ${why})`,
    stop: responder.stop,
  };
}

function lines(prefix, n, make) {
  return Array.from({ length: n }, (_, i) => make(i)).join('\n') + `\n# ${prefix}\n`;
}

export async function setUpFixtures(tools) {
  const dir = mkdtempSync(join(tmpdir(), 'levee-bench-'));
  const file = (name, text) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const dns = await startDns();
  const lists = {
    ip: file(
      'ip-blacklist',
      lines('ip', 50, (i) => `192.0.2.${i + 1}`),
    ),
    rdns: file(
      'rdns-blacklist',
      lines('rdns', 50, (i) => `.dyn${i}.isp.example`),
    ),
    sender: file(
      'sender-blacklist',
      lines('sender', 50, (i) => `spam${i}@spammer.example`),
    ),
    recipient: file(
      'recipient-blacklist',
      lines('rcpt', 50, (i) => `nobody${i}@example.org`),
    ),
    rcpthosts: file('rcpthosts', 'example.org\n.example.org\n'),
  };
  // 20 lines, the shape of a real /etc/spamdyke.conf: DNSBLs, rDNS checks, four list files
  const typicalLines = [
    'log-level=info',
    'log-target=stderr',
    `dns-server-ip=127.0.0.1:${dns.port}`,
    'dns-timeout-secs=5',
    ...ZONES.map((z) => `dns-blacklist-entry=${z}`),
    'reject-empty-rdns',
    'reject-unresolvable-rdns',
    `ip-blacklist-file=${lists.ip}`,
    `rdns-blacklist-file=${lists.rdns}`,
    `sender-blacklist-file=${lists.sender}`,
    `recipient-blacklist-file=${lists.recipient}`,
    `qmail-rcpthosts-file=${lists.rcpthosts}`,
    'max-recipients=20',
    'idle-timeout-secs=60',
    'connection-timeout-secs=600',
    'policy-url=http://example.org/policy',
    'rejection-text-dns-blacklist=Refused: your address is on a block list',
    'greeting-delay-secs=0',
  ];
  if (typicalLines.length !== 20) throw new Error(`typical config has ${typicalLines.length} lines, not 20`);
  const typical = file('typical.conf', typicalLines.join('\n') + '\n');
  // the same 20 lines and one unknown option: levee reads everything, then exits 111 (no session)
  const parseOnly = file('parse-only.conf', typicalLines.join('\n') + '\nbench-stop-here=1\n');
  // without the rDNS checks (the listed test address has no PTR): shows that the DNSBLs answer
  const dnsblCheck = file(
    'dnsbl-check.conf',
    typicalLines.filter((l) => !l.startsWith('reject-')).join('\n') + '\n',
  );
  const spawnCat = file(
    'spawn-cat.cjs',
    "const { spawn } = require('node:child_process');\n" +
      "spawn('cat', [], { stdio: ['pipe', 'inherit', 'inherit'] }).stdin.end('220 cat ready\\r\\n');\n",
  );
  const envNone = cleanEnv({ TCPREMOTEIP: CLIENT.ip, RELAYCLIENT: '' });
  const envTypical = cleanEnv({ TCPREMOTEIP: CLIENT.ip });
  return {
    dir,
    dns,
    lists,
    typical,
    parseOnly,
    dnsblCheck,
    spawnCat,
    envNone,
    envTypical,
    envListed: cleanEnv({ TCPREMOTEIP: LISTED_IP }),
    /** levee with no filters: no DNS, nothing to check, the client may relay */
    noneArgs: ['--dns-level', 'none', '--log-target', 'stderr', tools.sink],
    typicalArgs: ['--config-file', typical, tools.sink],
    async close() {
      await dns.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
