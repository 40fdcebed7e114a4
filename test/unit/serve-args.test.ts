// `levee serve` flags, the XCLIENT / PROXY text levee sends an MTA, and run-as-user look-ups.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostPort, parseServeArgs, ServeUsageError } from '../../src/serve/args';
import { ehloKeywords, proxyV1Header, xclientCommand, xtext } from '../../src/serve/handoff';
import { resolveIdentity } from '../../src/serve/user';
import { ConnectionLimits } from '../../src/serve/server';

describe('serve arguments', () => {
  test('daemon flags are taken out, filter options pass through in order, --exec ends the line', () => {
    const a = parseServeArgs([
      '--listen',
      '127.0.0.1:2525',
      '-f',
      '/etc/levee.conf',
      '--listen=[::1]:25',
      '--max-per-ip',
      '3',
      '--ip-blacklist-entry',
      '10.0.0.1',
      '--exec',
      '/var/qmail/bin/qmail-smtpd',
      '--listen',
      'x',
    ]);
    assert.deepEqual(a.listen, [
      { host: '127.0.0.1', port: 2525 },
      { host: '::1', port: 25 },
    ]);
    assert.deepEqual(a.filterArgs, ['-f', '/etc/levee.conf', '--ip-blacklist-entry', '10.0.0.1']);
    assert.deepEqual(a.exec, ['/var/qmail/bin/qmail-smtpd', '--listen', 'x']);
    assert.equal(a.maxPerIp, 3);
    assert.equal(a.maxConnections, 40);
  });

  test('--forward with --proxy-protocol or --no-xclient', () => {
    const a = parseServeArgs(['--inetd', '--forward', 'mx.internal:2525', '--proxy-protocol']);
    assert.deepEqual(a.forward, { host: 'mx.internal', port: 2525 });
    assert.equal(a.proxyProtocol, true);
    assert.equal(parseServeArgs(['--inetd', '--forward', '10.0.0.2:25', '--no-xclient']).xclient, false);
  });

  test('mistakes are usage errors', () => {
    const bad = [
      [],
      ['--listen', '127.0.0.1:25'],
      ['--listen', '127.0.0.1:25', '--exec'],
      ['--listen', '127.0.0.1', '--exec', 'q'],
      ['--listen', '127.0.0.1:99999', '--exec', 'q'],
      ['--listen', '127.0.0.1:25', '--forward', 'h:25', '--exec', 'q'],
      ['--inetd', '--listen', '127.0.0.1:25', '--exec', 'q'],
      ['--listen', '127.0.0.1:25', '--proxy-protocol', '--exec', 'q'],
      ['--listen', '127.0.0.1:25', '--max-connections', '0', '--exec', 'q'],
      ['--listen', '127.0.0.1:25', '--max-connections', '-1', '--exec', 'q'],
    ];
    for (const argv of bad) assert.throws(() => parseServeArgs(argv), ServeUsageError, argv.join(' '));
    assert.throws(() => parseHostPort('[1.2.3.4:5', 'x'), ServeUsageError);
  });
});

const client = {
  remoteIp: '192.0.2.7',
  remotePort: 40000,
  localIp: '198.51.100.1',
  localPort: 25,
  rdns: 'mail.example.com',
  rdnsTemporaryFailure: false,
};

describe('client hand-off to the MTA', () => {
  test('PROXY v1 lines for IPv4, IPv6 and mixed families', () => {
    assert.equal(proxyV1Header(client).toString(), 'PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\n');
    const v6 = { ...client, remoteIp: '2001:db8::7', localIp: '2001:db8::1' };
    assert.equal(proxyV1Header(v6).toString(), 'PROXY TCP6 2001:db8::7 2001:db8::1 40000 25\r\n');
    assert.equal(proxyV1Header({ ...client, remoteIp: '2001:db8::7' }).toString(), 'PROXY UNKNOWN\r\n');
  });

  test('XCLIENT sends only advertised attributes, xtext-encoded', () => {
    assert.equal(
      xclientCommand(client, ['NAME', 'ADDR']).toString(),
      'XCLIENT ADDR=192.0.2.7 NAME=mail.example.com\r\n',
    );
    const v6 = { ...client, remoteIp: '2001:db8::7', rdns: '', rdnsTemporaryFailure: true };
    assert.equal(
      xclientCommand(v6, []).toString(),
      'XCLIENT ADDR=IPV6:2001:db8::7 PORT=40000 NAME=[TEMPUNAVAIL]\r\n',
    );
    assert.equal(xtext('a+b=c d\r\n\xe9'), 'a+2Bb+3Dc+20d+0D+0A+C3+A9');
  });

  test('a client-chosen rDNS name cannot smuggle a command into XCLIENT', () => {
    const evil = { ...client, rdns: 'x.test\r\nRCPT TO:<a@b>' };
    const line = xclientCommand(evil, []).toString();
    assert.equal(line.indexOf('\r\n'), line.length - 2);
  });

  test('EHLO keywords with their parameters', () => {
    const k = ehloKeywords(['250-mx.test', '250-PIPELINING', '250-xclient name addr', '250 SIZE 100']);
    assert.deepEqual(k.get('XCLIENT'), ['NAME', 'ADDR']);
    assert.deepEqual(k.get('SIZE'), ['100']);
    assert.equal(k.has('MX.TEST'), false);
  });
});

describe('limits and identities', () => {
  test('connection limits: total and per IP, released slots are reusable', () => {
    const l = new ConnectionLimits(
      () => 3,
      () => 2,
    );
    assert.equal(l.acquire('a'), 'ok');
    assert.equal(l.acquire('a'), 'ok');
    assert.equal(l.acquire('a'), 'per-ip');
    assert.equal(l.acquire('b'), 'ok');
    assert.equal(l.acquire('c'), 'total');
    l.release('a');
    assert.equal(l.acquire('c'), 'ok');
    assert.equal(l.active, 3);
  });

  test('run-as-user: names, numbers, USER:GROUP', () => {
    const passwd = 'root:x:0:0::/root:/bin/sh\nvpopmail:x:89:89::/home/vpopmail:/bin/false\n';
    const group = 'root:x:0:\nvchkpw:x:89:\nmail:x:8:\n';
    assert.deepEqual(resolveIdentity('vpopmail', passwd, group), { uid: 89, gid: 89, name: 'vpopmail' });
    assert.deepEqual(resolveIdentity('vpopmail:mail', passwd, group), { uid: 89, gid: 8, name: 'vpopmail' });
    assert.deepEqual(resolveIdentity('1234:8', passwd, group), { uid: 1234, gid: 8, name: undefined });
    assert.throws(() => resolveIdentity('nobody-here', passwd, group), /no such user/);
    assert.throws(() => resolveIdentity('vpopmail:nogroup', passwd, group), /no such group/);
    assert.throws(() => resolveIdentity('1234', passwd, group), /no group/);
  });
});
