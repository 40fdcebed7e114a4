// The option table against spec §1.3, and every row parsed from the command line, a config file and a
// config-dir file with a valid value of its type.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OPTIONS } from '../../src/options/table';
import type { OptionDef } from '../../src/options/types';
import {
  applyConfigFile,
  ConfigError,
  createState,
  finish,
  loadOptions,
  parseCommandLine,
} from '../../src/options/parse';

const DEFS: readonly OptionDef[] = OPTIONS;
const SPAMDYKE = DEFS.filter((d) => !d.extension);
const EXTENSIONS = DEFS.filter((d) => d.extension);

/** Loads options from the command line plus in-memory config files. */
function load(argv: string[], files: Record<string, string> = {}) {
  return loadOptions(argv, (path) => {
    if (path in files) return files[path]!;
    // the sample values of config-file name these: empty files
    if (path.startsWith('/etc/levee/')) return '';
    throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  });
}

function valueOf(argv: string[], name: string, files: Record<string, string> = {}): unknown {
  const value = (load([...argv, 'qmail-smtpd'], files).options as Record<string, unknown>)[name];
  // config-file also lists the files the test itself read
  return name === 'config-file' ? (value as string[]).filter((f) => !(f in files)) : value;
}

describe('option table (spec §1.3)', () => {
  test('has the 127 spamdyke options and 10 aliases, plus levee extensions', () => {
    assert.equal(SPAMDYKE.length, 127);
    const aliases = DEFS.flatMap((d) => d.aliases ?? []);
    assert.equal(aliases.length, 10);
    assert.deepEqual(aliases.sort(), [
      'greylist-dir',
      'greylist-exception-ip-entry',
      'greylist-exception-ip-file',
      'greylist-exception-rdns-dir',
      'greylist-exception-rdns-entry',
      'greylist-exception-rdns-file',
      'greylist-level',
      'greylist-max-secs',
      'greylist-min-secs',
      'rejection-text-greylist',
    ]);
    assert.deepEqual(
      EXTENSIONS.map((d) => d.name),
      ['bare-lf', 'log-format', 'log-only'],
    );
    for (const def of EXTENSIONS) assert.equal(def.where.dir, def.name === 'log-only', def.name);
  });

  test('is alphabetical with unique names, and every alias is spelled greylist for graylist', () => {
    const names = DEFS.map((d) => d.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(new Set(names).size, names.length);
    for (const def of DEFS) {
      for (const alias of def.aliases ?? []) assert.equal(alias.replace('greylist', 'graylist'), def.name);
    }
  });

  test('short flags are exactly those of spamdyke', () => {
    const shorts = Object.fromEntries(DEFS.filter((d) => d.short).map((d) => [d.short, d.name]));
    assert.deepEqual(shorts, {
      f: 'config-file',
      t: 'connection-timeout-secs',
      x: 'dns-blacklist-entry',
      L: 'full-log-dir',
      g: 'graylist-dir',
      M: 'graylist-max-secs',
      m: 'graylist-min-secs',
      e: 'greeting-delay-secs',
      h: 'help',
      T: 'idle-timeout-secs',
      B: 'ip-blacklist-file',
      k: 'ip-in-rdns-keyword-blacklist-file',
      W: 'ip-whitelist-file',
      l: 'log-level',
      a: 'max-recipients',
      u: 'policy-url',
      d: 'qmail-rcpthosts-file',
      b: 'rdns-blacklist-dir',
      w: 'rdns-whitelist-file',
      S: 'recipient-blacklist-file',
      r: 'reject-empty-rdns',
      c: 'reject-ip-in-cc-rdns',
      R: 'reject-unresolvable-rdns',
      X: 'rhs-blacklist-entry',
      s: 'sender-blacklist-file',
      v: 'version',
    });
  });

  test('defaults match spamdyke when nothing is given', () => {
    const o = load(['qmail-smtpd']).options;
    assert.equal(o['log-level'], 'error');
    assert.deepEqual(o['log-target'], ['syslog']);
    assert.deepEqual(o['dns-query-type-a'], ['a', 'cname']);
    assert.deepEqual(o['dns-query-type-mx'], ['a', 'cname', 'mx']);
    assert.deepEqual(o['dns-query-type-ptr'], ['cname', 'ptr']);
    assert.deepEqual(o['dns-query-type-rbl'], ['a', 'cname', 'txt']);
    assert.equal(o['smtp-auth-level'], 'observe');
    assert.equal(o['tls-level'], 'smtp');
    assert.equal(o['tls-cipher-list'], 'DEFAULT');
    assert.equal(o['dns-timeout-secs'], 30);
    assert.equal(o['dns-max-retries-primary'], 1);
    assert.equal(o['dns-max-retries-total'], 3);
    assert.deepEqual(o['dns-resolv-conf'], ['/etc/resolv.conf']);
    assert.equal(o['dns-level'], 'aggressive');
    assert.equal(o['dns-spoof'], 'accept-all');
    assert.equal(o['dns-tcp'], 'normal');
    assert.equal(o['filter-level'], 'normal');
    assert.equal(o['graylist-level'], 'none');
    assert.equal(o['relay-level'], undefined);
    assert.deepEqual(o['qmail-rcpthosts-file'], []);
    assert.deepEqual(o['qmail-morercpthosts-cdb'], []);
    assert.equal(o['hostname-file'], undefined);
    assert.deepEqual(o['config-dir-search'], []);
    assert.deepEqual(o['reject-sender'], []);
    assert.equal(o['reject-empty-rdns'], false);
    assert.equal(o['max-recipients'], 0);
    assert.equal(o['policy-url'], undefined);
    assert.equal(o['bare-lf'], 'accept');
    assert.equal(o['log-format'], 'text');
    assert.deepEqual(o['log-only'], []);
    assert.equal(o.help, false);
  });
});

/** A valid value for the row and what parsing it must give. */
function sample(def: OptionDef): { raw: string; expected: unknown; second: string; both: unknown } {
  switch (def.kind) {
    case 'bool':
      return { raw: 'yes', expected: true, second: 'no', both: false };
    case 'int': {
      const base = (def.min ?? 0) + 7;
      return { raw: String(base), expected: base, second: String(base + 1), both: base + 1 };
    }
    case 'enum': {
      const values = def.values!;
      const pick = values.find((v) => v !== def.default)!;
      const other = values.find((v) => v !== def.default && v !== pick) ?? (def.default as string);
      return { raw: pick.toUpperCase(), expected: pick, second: other, both: other };
    }
    case 'enums': {
      const words = def.values!.filter((v) => v !== def.resetValue);
      const defaults = (def.default as readonly string[] | undefined) ?? [];
      const a = words.find((w) => !defaults.includes(w)) ?? words[words.length - 1]!;
      const b = words.find((w) => w !== a)!;
      return { raw: a, expected: [a], second: b, both: words.filter((w) => w === a || w === b) };
    }
    case 'string':
    case 'list': {
      const [raw, expected, second, secondExpected] =
        def.role === 'command'
          ? ['/bin/check,-x', '/bin/check -x', '/bin/other', '/bin/other']
          : def.role === 'dir'
            ? ['/var/tmp/a/', '/var/tmp/a', '/var/tmp/b', '/var/tmp/b']
            : def.role === 'file'
              ? ['/etc/levee/a', '/etc/levee/a', '/etc/levee/b', '/etc/levee/b']
              : ['some text', 'some text', 'other', 'other'];
      return def.kind === 'string'
        ? { raw, expected, second, both: secondExpected }
        : { raw, expected: [expected], second, both: [expected, secondExpected] };
    }
    case 'action':
      return { raw: '', expected: true, second: '', both: true };
  }
}

describe('every option, from every place it may be used', () => {
  for (const def of DEFS) {
    const s = sample(def);
    const spellings = [def.name, ...(def.aliases ?? [])];
    if (def.kind === 'action') {
      test(`${def.name}: command line only`, () => {
        const { state } = parseCommandLine([`--${def.name}`, 'qmail-smtpd']);
        assert.equal((finish(state) as Record<string, unknown>)[def.name], true);
        assert.throws(
          () => load(['-f', '/c', 'qmail-smtpd'], { '/c': def.name }),
          new ConfigError(
            `Option not allowed in configuration file, found in file /c on line 1: ${def.name}`,
          ),
        );
      });
      continue;
    }
    test(`${def.name}: ${def.kind} from the command line`, () => {
      for (const spelling of spellings) {
        assert.deepEqual(valueOf([`--${spelling}=${s.raw}`], def.name), s.expected, `--${spelling}=`);
        if (!def.optionalArg) assert.deepEqual(valueOf([`--${spelling}`, s.raw], def.name), s.expected);
      }
      if (def.short) assert.deepEqual(valueOf([`-${def.short}${s.raw}`], def.name), s.expected);
    });
    test(`${def.name}: repeated ${def.kind === 'list' || def.kind === 'enums' ? 'adds' : 'last one wins'}`, () => {
      assert.deepEqual(valueOf([`--${def.name}=${s.raw}`, `--${def.name}=${s.second}`], def.name), s.both);
    });
    if (def.where.file) {
      test(`${def.name}: from a config file, overriding the command line`, () => {
        for (const spelling of spellings) {
          const files = { '/etc/levee.conf': `# comment\n${spelling.toUpperCase()} = ${s.raw}\n` };
          assert.deepEqual(valueOf(['-f', '/etc/levee.conf'], def.name, files), s.expected, spelling);
        }
        const files = { '/c': `${def.name}=${s.second}\n` };
        assert.deepEqual(valueOf([`--${def.name}=${s.raw}`, '-f', '/c'], def.name, files), s.both);
      });
    } else {
      test(`${def.name}: refused in config files`, () => {
        assert.throws(
          () => load(['-f', '/c', 'qmail-smtpd'], { '/c': `\n${def.name}=${s.raw}\n` }),
          new ConfigError(
            `Option not allowed in configuration file, found in file /c on line 2: ${def.name}`,
          ),
        );
      });
    }
    test(`${def.name}: ${def.where.dir ? 'allowed and recorded' : 'refused'} in config-dir files`, () => {
      const state = createState();
      applyConfigFile(state, '/dir/_ip_/10', 'D', () => `${def.name}=${s.raw}\n`);
      const value = (finish(state) as Record<string, unknown>)[def.name];
      if (def.where.dir) {
        assert.deepEqual(value, s.expected);
        assert.equal(state.origin.get(def.name as never), 'D');
        assert.deepEqual(state.warnings, []);
      } else {
        assert.notDeepEqual(value, s.expected);
        assert.deepEqual(state.warnings, [
          `Option not allowed in configuration file, found in file /dir/_ip_/10 on line 1: ${def.name}`,
        ]);
      }
    });
  }
});
