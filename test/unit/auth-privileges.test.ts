// run-as-user USER[:GROUP]: names and numbers resolved like getpwnam/getgrnam would.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resolveRunAs, dropPrivileges } from '../../src/auth/privileges';
import { Logger } from '../../src/log';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/bash',
  'qmaild:x:64011:65534::/var/qmail:/usr/sbin/nologin',
  'vpopmail:x:89:89::/home/vpopmail:/usr/sbin/nologin',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'nogroup:x:65534:', 'vchkpw:x:89:', ''].join('\n');

describe('resolveRunAs', () => {
  test('a user name takes its primary group', () => {
    assert.deepEqual(resolveRunAs('qmaild', PASSWD, GROUP), { uid: 64011, gid: 65534 });
  });
  test('USER:GROUP by names and by numbers', () => {
    assert.deepEqual(resolveRunAs('vpopmail:vchkpw', PASSWD, GROUP), { uid: 89, gid: 89 });
    assert.deepEqual(resolveRunAs('vpopmail:0', PASSWD, GROUP), { uid: 89, gid: 0 });
    assert.deepEqual(resolveRunAs('1234:5678', PASSWD, GROUP), { uid: 1234, gid: 5678 });
  });
  test('a numeric user found in passwd takes its group', () => {
    assert.deepEqual(resolveRunAs('89', PASSWD, GROUP), { uid: 89, gid: 89 });
  });
  test('unknown names and a numeric user without a group are errors', () => {
    assert.match(resolveRunAs('nobody-here', PASSWD, GROUP) as string, /unknown user nobody-here/);
    assert.match(resolveRunAs('qmaild:nogrp', PASSWD, GROUP) as string, /unknown group nogrp/);
    assert.match(resolveRunAs('4242', PASSWD, GROUP) as string, /no passwd entry/);
    assert.match(resolveRunAs(':x', PASSWD, GROUP) as string, /no user name/);
  });
});

describe('dropPrivileges', () => {
  test('without run-as-user nothing changes', () => {
    const uid = process.getuid?.();
    assert.equal(
      dropPrivileges(
        { 'run-as-user': undefined },
        new Logger({ level: 'none', targets: [], format: 'text' }),
      ),
      true,
    );
    assert.equal(process.getuid?.(), uid);
  });
  test('an unknown user is refused with an error', () => {
    assert.equal(
      dropPrivileges(
        { 'run-as-user': 'no-such-user-levee' },
        new Logger({ level: 'none', targets: [], format: 'text' }),
      ),
      false,
    );
  });
});
