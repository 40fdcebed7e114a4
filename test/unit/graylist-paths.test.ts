// Graylist entry paths and the pass/expire rule (spec §4.8), pure.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { posix } from 'node:path';
import {
  canonicalComponent,
  decideEntry,
  entryKey,
  entryRelPath,
  legacyRelPath,
  passLine,
  MAX_COMPONENT,
} from '../../src/graylist/paths';

describe('canonicalComponent', () => {
  test("spamdyke's rule: lower case, outside a-z0-9@_-. becomes _", () => {
    assert.equal(canonicalComponent('Fred.Smith'), 'fred.smith');
    assert.equal(canonicalComponent('a+b=c/d'), 'a_b_c_d');
    assert.equal(canonicalComponent('x@y-z_1'), 'x@y-z_1');
    assert.equal(canonicalComponent('gr\u00fc\u00df'), 'gr__');
    assert.equal(canonicalComponent('a\0b'), 'a_b');
  });
  test('never ., .., empty or hidden', () => {
    assert.equal(canonicalComponent('..'), '_.');
    assert.equal(canonicalComponent('.'), '_');
    assert.equal(canonicalComponent(''), '_');
    assert.equal(canonicalComponent('.profile'), '_profile');
  });
  test('long components are cut, and two different long ones stay different', () => {
    const a = canonicalComponent('a'.repeat(600));
    const b = canonicalComponent('a'.repeat(599) + 'b');
    assert.ok(a.length < 255 && b.length < 255);
    assert.notEqual(a, b);
    assert.equal(canonicalComponent('a'.repeat(MAX_COMPONENT)), 'a'.repeat(MAX_COMPONENT));
  });
  test('property: any string gives one safe path component', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 700 }), (s) => {
        const c = canonicalComponent(s);
        assert.match(c, /^[a-z0-9@_-][a-z0-9@_.~-]*$/);
        assert.ok(Buffer.byteLength(c) <= 255);
        assert.notEqual(c, '.');
        assert.notEqual(c, '..');
      }),
      { numRuns: 500 },
    );
  });
});

describe('entryKey', () => {
  test('recipient domain / user / sender domain / sender user', () => {
    const k = entryKey('Bob@Example.ORG', 'alice@mail.example.net');
    assert.ok(k);
    assert.equal(k.domain, 'example.org');
    assert.equal(entryRelPath(k), 'bob/mail.example.net/alice');
    assert.equal(legacyRelPath(k), 'bob/alice@mail.example.net');
  });
  test('null sender is _none/_none; a sender without domain gets _none as domain', () => {
    assert.equal(entryRelPath(entryKey('bob@example.org', '')!), 'bob/_none/_none');
    assert.equal(legacyRelPath(entryKey('bob@example.org', '')!), null);
    assert.equal(entryRelPath(entryKey('bob@example.org', 'alice')!), 'bob/_none/alice');
  });
  test('no graylisting without a recipient domain or user', () => {
    assert.equal(entryKey('bob', 'a@b.c'), null);
    assert.equal(entryKey('@example.org', 'a@b.c'), null);
  });
  test('property: hostile addresses never leave the root', () => {
    const part = fc.oneof(
      fc.constantFrom('..', '.', '/', '../..', '/etc/passwd', '\0', 'a/../../b', '\u2028', '%2e%2e'),
      fc.string({ unit: 'binary', maxLength: 600 }),
    );
    fc.assert(
      fc.property(part, part, part, part, (ru, rd, su, sd) => {
        const k = entryKey(`${ru}@${rd}`, `${su}@${sd}`);
        if (!k) return;
        const rel = `${k.domain}/${entryRelPath(k)}`;
        const resolved = posix.resolve('/root', rel);
        assert.ok(resolved.startsWith('/root/'), rel);
        assert.equal(rel.split('/').length, 4);
        assert.equal(posix.normalize(rel), rel);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decideEntry', () => {
  const at = (mtime: number, size: number, minSecs: number, maxSecs: number) =>
    decideEntry({ now: 10_000, mtime, size, minSecs, maxSecs });
  test('min-secs: too new is graylisted, old enough passes (boundary included)', () => {
    assert.deepEqual(at(10_000 - 299, 0, 300, 0), { pass: false, expired: false });
    assert.deepEqual(at(10_000 - 300, 0, 300, 0), { pass: true, expired: false });
  });
  test('a non-empty entry passes even when young; min 0 always passes', () => {
    assert.equal(at(10_000, 12, 300, 0).pass, true);
    assert.equal(at(10_000, 0, 0, 0).pass, true);
  });
  test('max-secs: an entry older than max is expired (truncated), at max it still passes', () => {
    assert.deepEqual(at(10_000 - 1000, 20, 300, 999), { pass: false, expired: true });
    assert.deepEqual(at(10_000 - 1000, 20, 300, 1000), { pass: true, expired: false });
    assert.deepEqual(at(0, 20, 300, 0), { pass: true, expired: false });
  });
});

test('passLine: "ip rdns" or "ip"; a hostile PTR name stays one line', () => {
  assert.equal(passLine('11.22.33.44', 'mail.example.com'), '11.22.33.44 mail.example.com');
  assert.equal(passLine('2001:db8::1', ''), '2001:db8::1');
  assert.equal(passLine('1.2.3.4', 'a\nb c'), '1.2.3.4 a_b_c');
});
