// The option-specific testers of --config-test (spec §6 step 7) and levee's additions: relay and
// rcpthosts sources, graylist settings, TLS certificate and key, SMTP AUTH commands with test
// credentials, and the RFC 5782 test points of every configured DNS list.
import { readFileSync, statSync } from 'node:fs';
import type { OptionValues } from '../options/table';
import { errnoText } from '../log';
import { Dns, dnsOptionsOf, dnsSettingsFromOptions, parseRblZoneEntry, type RblZone } from '../dns';
import { rcpthostsFiles, morercpthostsFiles } from '../filters/relay';
import {
  checkpasswordInput,
  describeCheckpasswordExit,
  runCheckpassword,
  splitCommand,
} from '../auth/checkpassword';
import { checkCdb } from './cdb-check';
import { checkGraylistTree } from './tree-checks';
import type { Report } from './report';
import { NATIVE_SPAWN_FILE, NATIVE_SPAWN_OFF, loadHelper } from '../relay/native-spawn';

const QMAIL_RCPTHOSTS = '/var/qmail/control/rcpthosts';
const QMAIL_MORERCPTHOSTS = '/var/qmail/control/morercpthosts.cdb';
/** A certificate that expires sooner than this gets a warning. */
const EXPIRY_WARNING_DAYS = 21;
/** DNS test points must answer within this, whatever dns-timeout-secs says. */
const DNS_PROBE_BUDGET_MS = 10_000;
const MAX_ZONES_PROBED = 40;
const AUTH_TEST_TIMEOUT_MS = 10_000;
/**
 * RFC 5782's IPv6 test point `::FFFF:7F00:2` as 32 reversed nibbles. Spelt out because the resolver
 * turns IPv4-mapped addresses into IPv4 (lists are keyed on that), which would ask 127.0.0.2 again.
 */
export const V6_TEST_LABELS = '2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0';

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'latin1')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/\r$/, ''));
  } catch {
    return []; // the generic file check has already reported it
  }
}

/**
 * log-target syslog needs the native unix-dgram addon and a /dev/log socket; without either, levee
 * drops syslog lines silently at run time, so this is the moment to say it.
 */
export function checkSyslog(report: Report, o: OptionValues, devLog = '/dev/log'): void {
  if (!(o['log-target'] as readonly string[]).includes('syslog')) return;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('unix-dgram');
  } catch (e) {
    report.error(
      `log-target syslog needs the unix-dgram addon, which cannot be loaded (${(e as Error).message.split('\n')[0]}); reinstall with "npm install -g --allow-scripts=unix-dgram levee" or use log-target stderr.`,
      'log-target',
    );
    return;
  }
  try {
    if (!statSync(devLog).isSocket()) throw new Error('not a socket');
    report.success(`Syslog socket found: ${devLog}`, 'log-target', true);
  } catch {
    report.warning(
      `No syslog socket at ${devLog}: log lines will be lost. Is a syslog daemon running?`,
      'log-target',
    );
  }
}

/**
 * The native spawn helper (native/spawn.c) starts each connection's child a few ms sooner than
 * libuv's fork; it is optional, so a machine without it only gets a warning.
 */
export function checkSpawnHelper(report: Report, file = NATIVE_SPAWN_FILE): void {
  const { helper, why } = loadHelper(file);
  if (helper) {
    const mapping =
      typeof helper.mapLatin1 === 'function'
        ? 'the bundle is mapped, shared between connections'
        : 'this Node has no external strings, so each connection reads the bundle';
    report.success(
      `Native spawn helper loaded (children start with posix_spawn; ${mapping}): ${file}`,
      undefined,
      true,
    );
  } else if (why === NATIVE_SPAWN_OFF) {
    report.info(
      "LEVEE_NATIVE_SPAWN=0: children start with libuv's fork-based spawn and each connection reads the bundle.",
    );
  } else {
    report.warning(
      `The native spawn helper cannot be loaded (${why}): each connection's child starts a few ms later and each connection holds its own copy of the bundle (~390 KB). Build it with "npm rebuild levee" (needs a C compiler, make and python3).`,
    );
  }
}

export function checkRelaySources(report: Report, o: OptionValues): void {
  const sources = rcpthostsFiles(o).length + morercpthostsFiles(o).length;
  if (o['relay-level'] !== 'allow-all' && sources === 0) {
    report.error(
      `No qmail-rcpthosts-file or qmail-morercpthosts-cdb is given and ${QMAIL_RCPTHOSTS} does not exist: every recipient will be rejected as relaying unless the client may relay.`,
      'relay-level',
    );
  }
  for (const f of o['qmail-rcpthosts-file']) {
    if (f !== QMAIL_RCPTHOSTS) {
      report.warning(
        `qmail-smtpd reads ${QMAIL_RCPTHOSTS}; levee uses ${f}. Make sure they list the same domains.`,
        'qmail-rcpthosts-file',
      );
    }
  }
  for (const f of morercpthostsFiles(o)) {
    if (f !== QMAIL_MORERCPTHOSTS) {
      report.warning(`qmail-smtpd reads ${QMAIL_MORERCPTHOSTS}; levee uses ${f}.`, 'qmail-morercpthosts-cdb');
    }
    let data: Buffer;
    try {
      data = readFileSync(f);
    } catch (e) {
      report.error(`Failed to open for reading: ${f}: ${errnoText(e)}`, 'qmail-morercpthosts-cdb');
      continue;
    }
    const r = checkCdb(data);
    if (r.problem) report.error(`Bad CDB file ${f}: ${r.problem}`, 'qmail-morercpthosts-cdb');
    else if (r.records === 0) report.warning(`CDB file is empty: ${f}`, 'qmail-morercpthosts-cdb');
    else report.success(`CDB file is valid (${r.records} records): ${f}`, 'qmail-morercpthosts-cdb');
  }
}

/** The domains of the rcpthosts files (`.example.com` lines name subdomains, not a directory). */
export function localDomains(o: OptionValues): string[] {
  return rcpthostsFiles(o)
    .flatMap(readLines)
    .map((l) => l.trim().toLowerCase())
    .filter((l) => l !== '' && !l.startsWith('.'));
}

export function checkGraylist(report: Report, o: OptionValues): void {
  const level = o['graylist-level'];
  const others = [
    o['graylist-dir'].length && 'graylist-dir',
    o['graylist-exception-ip-entry'].length && 'graylist-exception-ip-entry',
    o['graylist-exception-ip-file'].length && 'graylist-exception-ip-file',
    o['graylist-exception-rdns-entry'].length && 'graylist-exception-rdns-entry',
    o['graylist-exception-rdns-file'].length && 'graylist-exception-rdns-file',
    o['graylist-exception-rdns-dir'].length && 'graylist-exception-rdns-dir',
    o['graylist-min-secs'] > 0 && 'graylist-min-secs',
    o['graylist-max-secs'] > 0 && 'graylist-max-secs',
  ].filter((x): x is string => typeof x === 'string');
  if (level === 'none') {
    if (others.length) {
      report.error(
        `graylist-level is none but other graylist options are set (${others.join(', ')}): graylisting is off.`,
        'graylist-level',
      );
    }
    return;
  }
  if (o['graylist-dir'].length === 0) {
    report.error(`graylist-level is ${level} but no graylist-dir is given.`, 'graylist-level');
    return;
  }
  if (o['graylist-max-secs'] > 0 && o['graylist-max-secs'] <= o['graylist-min-secs']) {
    report.warning(
      'graylist-max-secs is not larger than graylist-min-secs: no sender can ever pass.',
      'graylist-max-secs',
    );
  }
  checkGraylistTree(report, { level, dirs: o['graylist-dir'], localDomains: localDomains(o) });
}

/** Reads the certificate and key the way a TLS connection will, and looks at the expiry date. */
export function checkTls(report: Report, o: OptionValues, now = new Date()): void {
  const certFile = o['tls-certificate-file'];
  if (!certFile) {
    if (o['tls-level'] === 'smtps')
      report.error('tls-level smtps needs a tls-certificate-file.', 'tls-level');
    if (o['tls-privatekey-file'])
      report.warning('tls-privatekey-file is set without tls-certificate-file.', 'tls-privatekey-file');
    return;
  }
  if (o['tls-level'] === 'none') {
    report.warning('A certificate is given but tls-level is none: TLS will not be offered.', 'tls-level');
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { X509Certificate } = require('node:crypto') as typeof import('node:crypto');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tls = require('node:tls') as typeof import('node:tls');
  try {
    const cert = readFileSync(certFile);
    const key = readFileSync(o['tls-privatekey-file'] ?? certFile);
    let passphrase = o['tls-privatekey-password'];
    if (o['tls-privatekey-password-file']) {
      passphrase = readFileSync(o['tls-privatekey-password-file'], 'utf8').split('\n')[0].replace(/\r$/, '');
    }
    const dhparam = o['tls-dhparams-file'] ? readFileSync(o['tls-dhparams-file']) : undefined;
    tls.createSecureContext({ cert, key, passphrase, dhparam, ciphers: o['tls-cipher-list'] || undefined });
    report.success(
      'Certificate and key loaded; SSL/TLS library successfully initialized',
      'tls-certificate-file',
    );
    const x509 = new X509Certificate(cert);
    const expires = new Date(x509.validTo);
    const days = Math.floor((expires.getTime() - now.getTime()) / 86_400_000);
    if (expires.getTime() < now.getTime()) {
      report.error(`Certificate expired on ${expires.toISOString()}: ${certFile}`, 'tls-certificate-file');
    } else if (days < EXPIRY_WARNING_DAYS) {
      report.warning(
        `Certificate expires in ${days} days (${expires.toISOString()}): ${certFile}`,
        'tls-certificate-file',
      );
    } else {
      report.info(
        `Certificate for ${x509.subject.replace(/\n/g, ', ')} is valid until ${expires.toISOString()}`,
        'tls-certificate-file',
      );
    }
  } catch (e) {
    // file errors read like strerror(); OpenSSL's own messages say more than their codes
    const message = (e as NodeJS.ErrnoException).syscall ? errnoText(e) : (e as Error).message;
    report.error(`Unable to load the certificate or key: ${message}`, 'tls-certificate-file');
  }
}

/** With --config-test-smtpauth-username/-password: does each command accept them? */
export async function checkAuthCommands(report: Report, o: OptionValues): Promise<void> {
  const user = o['config-test-smtpauth-username'];
  const password = o['config-test-smtpauth-password'];
  if (!user || !password || o['smtp-auth-command'].length === 0) return;
  const input = checkpasswordInput(Buffer.from(user), Buffer.from(password), Buffer.alloc(0));
  if (!input) return;
  for (const command of o['smtp-auth-command']) {
    const r = await runCheckpassword(splitCommand(command), input, AUTH_TEST_TIMEOUT_MS);
    if (r.status === 0)
      report.success(`Authentication succeeded for ${user}: ${command}`, 'smtp-auth-command');
    else {
      const why = r.status === null ? r.error : describeCheckpasswordExit(r.status);
      report.error(`Authentication failed for ${user} (${why}): ${command}`, 'smtp-auth-command');
    }
  }
}

interface ZoneSource {
  option: string;
  kind: 'ip' | 'rhs';
  entries: readonly string[];
  files: readonly string[];
}

/** Every configured DNS list zone, with the option it came from; malformed ones are reported. */
export function configuredZones(
  report: Report,
  o: OptionValues,
): { option: string; kind: 'ip' | 'rhs'; zone: RblZone }[] {
  const sources: ZoneSource[] = [
    {
      option: 'dns-blacklist',
      kind: 'ip',
      entries: o['dns-blacklist-entry'],
      files: o['dns-blacklist-file'],
    },
    {
      option: 'dns-whitelist',
      kind: 'ip',
      entries: o['dns-whitelist-entry'],
      files: o['dns-whitelist-file'],
    },
    {
      option: 'rhs-blacklist',
      kind: 'rhs',
      entries: o['rhs-blacklist-entry'],
      files: o['rhs-blacklist-file'],
    },
    {
      option: 'rhs-whitelist',
      kind: 'rhs',
      entries: o['rhs-whitelist-entry'],
      files: o['rhs-whitelist-file'],
    },
  ];
  const zones: { option: string; kind: 'ip' | 'rhs'; zone: RblZone }[] = [];
  const seen = new Set<string>();
  for (const s of sources) {
    for (const text of [...s.entries, ...s.files.flatMap(readLines)]) {
      const zone = parseRblZoneEntry(text);
      if (!zone) {
        report.error(`Not a DNS list zone: ${text}`, `${s.option}-entry`);
        continue;
      }
      const key = `${s.kind} ${zone.zone}`;
      if (seen.has(key)) continue;
      seen.add(key);
      zones.push({ option: `${s.option}-entry`, kind: s.kind, zone });
    }
  }
  return zones;
}

/**
 * RFC 5782 §5: an IP list must list 127.0.0.2 and must not list 127.0.0.1; a domain list must list
 * `test` and not `invalid`. An error code answer (127.255.255.x) shows a refused resolver.
 */
export async function checkDnsLists(report: Report, o: OptionValues, dnsTimeoutSet?: boolean): Promise<void> {
  const zones = configuredZones(report, o);
  if (zones.length === 0) return;
  if (o['dns-level'] === 'none') {
    report.info('dns-level is none: the DNS lists are not queried and not tested.', 'dns-level');
    return;
  }
  const settings = dnsSettingsFromOptions(dnsOptionsOf(o, dnsTimeoutSet), process.env);
  for (const p of settings.problems) report.warning(p, 'dns-resolv-conf');
  settings.totalTimeoutMs = Math.min(settings.totalTimeoutMs, DNS_PROBE_BUDGET_MS);
  settings.perTryTimeoutMs = Math.min(settings.perTryTimeoutMs, settings.totalTimeoutMs);
  const dns = new Dns(settings);
  if (zones.length > MAX_ZONES_PROBED)
    report.warning(`Only the first ${MAX_ZONES_PROBED} of ${zones.length} DNS lists are tested.`);
  const results = await Promise.all(
    zones.slice(0, MAX_ZONES_PROBED).map(async ({ option, kind, zone }) => {
      const [listed, unlisted] =
        kind === 'ip'
          ? await Promise.all([dns.rbl('127.0.0.2', zone), dns.rbl('127.0.0.1', zone)])
          : await Promise.all([dns.rhsbl('test', zone), dns.rhsbl('invalid', zone)]);
      const v6 = kind === 'ip' ? await dns.a(`${V6_TEST_LABELS}.${zone.zone}`) : undefined;
      return { option, kind, zone, listed, unlisted, v6 };
    }),
  );
  dns.cancelAll();
  for (const { option, kind, zone, listed, unlisted, v6 } of results) {
    const [yes, no] = kind === 'ip' ? ['127.0.0.2', '127.0.0.1'] : ['test', 'invalid'];
    const name = zone.displayZone;
    const zoneError = listed.zoneError ?? unlisted.zoneError;
    if (zoneError) {
      report.error(`${name}: ${zoneError}`, option);
      continue;
    }
    if (listed.failure && listed.failure !== 'nxdomain' && listed.failure !== 'nodata') {
      report.error(
        `${name}: no answer for the test point ${yes} (${listed.failure}); check dns-server-ip and the resolver`,
        option,
      );
      continue;
    }
    if (unlisted.listed) {
      report.error(
        `${name} lists ${no}, which no list may list: the zone or the resolver is broken, or it lists everything.`,
        option,
      );
    } else if (!listed.listed) {
      report.warning(
        `${name} does not list the RFC 5782 test point ${yes}: the zone may be misspelt or not serve test points.`,
        option,
      );
    } else {
      report.success(`${name} lists ${yes} and not ${no} (RFC 5782 test points).`, option);
    }
    if (v6) {
      report.info(
        v6.ok
          ? `${name} lists the IPv6 test point ::FFFF:7F00:2.`
          : `${name} does not answer for the IPv6 test point ::FFFF:7F00:2 (IPv4-only list?).`,
        option,
        true,
      );
    }
  }
}
