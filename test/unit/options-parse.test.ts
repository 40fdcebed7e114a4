// Command-line parsing (spec §1.1) and value semantics (§1.2), with property tests for the value kinds.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, loadOptions, needsChild, parseCommandLine } from '../../src/options/parse';
import type { OptionValues } from '../../src/options/table';

const noFiles = (path: string): string => {
  throw Object.assign(new Error(path), { code: 'ENOENT' });
};
const load = (...argv: string[]) => loadOptions(argv, noFiles);
const opts = (...argv: string[]): OptionValues => load(...argv, 'qmail-smtpd').options;
const fails = (argv: string[], message: string) =>
  assert.throws(() => loadOptions(argv, noFiles), new ConfigError(message));

describe('command line', () => {
  test('the first non-option word starts the qmail command; later options belong to it', () => {
    const r = load('-ldebug', '/var/qmail/bin/qmail-smtpd', '--log-level=none', '-x', 'z');
    assert.deepEqual(r.child, ['/var/qmail/bin/qmail-smtpd', '--log-level=none', '-x', 'z']);
    assert.equal(r.options['log-level'], 'debug');
    assert.deepEqual(r.options['dns-blacklist-entry'], []);
  });

  test('-- ends the options, and a lone - is a command word', () => {
    assert.deepEqual(load('-r', '--', '-not-an-option').child, ['-not-an-option']);
    assert.deepEqual(load('-r', '-', 'x').child, ['-', 'x']);
  });

  test('long options: =value, separate value, unambiguous prefixes, exact name before prefix', () => {
    assert.equal(opts('--tls-certificate', '/c.pem')['tls-certificate-file'], '/c.pem');
    assert.equal(opts('--tls-certificate=/c.pem')['tls-certificate-file'], '/c.pem');
    assert.equal(opts('--max-rec=4')['max-recipients'], 4);
    // config-dir is also a prefix of config-dir-search; dns-server-ip of dns-server-ip-primary
    assert.deepEqual(opts('--config-dir', '/d')['config-dir'], ['/d']);
    assert.deepEqual(opts('--dns-server-ip=10.0.0.1')['dns-server-ip'], ['10.0.0.1']);
    assert.deepEqual(opts('--dns-server-ip=10.0.0.1')['dns-server-ip-primary'], []);
    fails(['--dns-black=x', 'q'], 'Unknown or incomplete option: --dns-black=x');
  });

  test('a required value may start with a dash', () => {
    assert.equal(opts('--rejection-text-timeout', '-- go away')['rejection-text-timeout'], '-- go away');
  });

  test('optional values must be attached', () => {
    assert.equal(opts('--log-level')['log-level'], 'info');
    assert.equal(opts('-l')['log-level'], 'info');
    assert.equal(opts('-lverbose')['log-level'], 'verbose');
    assert.equal(opts('--log-level=DEBUG')['log-level'], 'debug');
    const r = load('--log-level', 'debug', 'qmail-smtpd');
    assert.equal(r.options['log-level'], 'info');
    assert.deepEqual(r.child, ['debug', 'qmail-smtpd']);
    assert.equal(opts('-r')['reject-empty-rdns'], true);
    assert.equal(opts('-rno')['reject-empty-rdns'], false);
    assert.equal(opts('--reject-empty-rdns=')['reject-empty-rdns'], true);
  });

  test('short flags: -f FILE, -fFILE, clusters of flags', () => {
    assert.deepEqual(opts('-x', 'a.example', '-xb.example')['dns-blacklist-entry'], [
      'a.example',
      'b.example',
    ]);
    const o = opts('-r', '-c', '-R', '-a5');
    assert.deepEqual(
      [o['reject-empty-rdns'], o['reject-ip-in-cc-rdns'], o['reject-unresolvable-rdns']],
      [true, true, true],
    );
    assert.equal(o['max-recipients'], 5);
    // like getopt: after an optional-value flag, the rest of the word is its value
    fails(['-rc', 'q'], 'Bad or unparsable value for option reject-empty-rdns: c');
  });

  test('errors carry spamdyke texts', () => {
    fails(['--bogus', 'q'], 'Unknown or incomplete option: --bogus');
    fails(['-Z', 'q'], 'Unknown or incomplete option: -Z');
    fails(['--config-file'], 'Unknown or incomplete option: --config-file');
    fails(['-f'], 'Unknown or incomplete option: -f');
    fails(['--help=yes', 'q'], 'Unknown or incomplete option: --help=yes');
    fails(
      ['--log-level=bogus', 'q'],
      'Illegal value for option log-level: bogus (must be one of none, error, info, verbose, debug, excessive)',
    );
    fails(
      ['-t', '-5', 'q'],
      'Illegal value for option connection-timeout-secs: -5 (must be between 0 and 2147483647)',
    );
    fails(
      ['--dns-max-retries-total=0', 'q'],
      'Illegal value for option dns-max-retries-total: 0 (must be between 1 and 2147483647)',
    );
    fails(['--max-recipients=many', 'q'], 'Bad or unparsable value for option max-recipients: many');
    fails(['-rmaybe', 'q'], 'Bad or unparsable value for option reject-empty-rdns: maybe');
    fails(['--hostname='], 'Bad or unparsable value for option hostname: ');
  });

  test('a missing qmail command is an error unless an action makes it unneeded', () => {
    fails(['-r'], 'Missing qmail-smtpd command');
    fails([], 'Missing qmail-smtpd command');
    for (const action of ['--help', '--more-help', '--version', '--config-test', '-h', '-v']) {
      const r = load(action);
      assert.deepEqual(r.child, []);
      assert.equal(needsChild(r.options), false, action);
    }
    assert.equal(needsChild(opts('-r')), true);
  });

  test('--help, --more-help and --version stop parsing where they stand', () => {
    const r = load('-r', '--help', '--bogus', '-f', '/missing');
    assert.equal(r.options.help, true);
    assert.equal(r.options['reject-empty-rdns'], true);
    assert.deepEqual(r.options['config-file'], []);
    fails(['--bogus', '--help'], 'Unknown or incomplete option: --bogus');
  });

  test('greylist spellings work on the command line too (errata 4)', () => {
    const o = opts('--greylist-level=always', '--greylist-dir', '/g/', '--greylist-min=60');
    assert.equal(o['graylist-level'], 'always');
    assert.deepEqual(o['graylist-dir'], ['/g']);
    assert.equal(o['graylist-min-secs'], 60);
    assert.equal(opts('--rejection-text-greylist=Later')['rejection-text-graylist'], 'Later');
  });

  test('records which options the user set', () => {
    assert.equal(load('--dns-timeout-secs=30', 'q').userSet.has('dns-timeout-secs'), true);
    assert.equal(load('q').userSet.has('dns-timeout-secs'), false);
  });

  test('integers are read like sscanf("%lld"): leading blanks and sign, trailing text ignored', () => {
    assert.equal(opts('-a', ' +12')['max-recipients'], 12);
    assert.equal(opts('-a', '12abc')['max-recipients'], 12);
    fails(
      ['-a', '99999999999999999999', 'q'],
      'Illegal value for option max-recipients: 99999999999999999999 (must be between 0 and 2147483647)',
    );
  });
});

describe('value rules (spec §1.2)', () => {
  test('lists: duplicates once, !value removes one, !!! clears, default dropped once given', () => {
    const o = opts('-x', 'a', '-x', 'b', '-x', 'a', '-x', 'c', '-x', '!b');
    assert.deepEqual(o['dns-blacklist-entry'], ['a', 'c']);
    assert.deepEqual(opts('-x', 'a', '-x', '!!!', '-x', 'd')['dns-blacklist-entry'], ['d']);
    assert.deepEqual(opts('--dns-resolv-conf=/r')['dns-resolv-conf'], ['/r']);
    assert.deepEqual(opts('--dns-resolv-conf=!!!')['dns-resolv-conf'], []);
  });

  test('directories lose trailing slashes; commands turn commas into spaces', () => {
    assert.deepEqual(opts('-g', '/var/graylist//')['graylist-dir'], ['/var/graylist']);
    assert.equal(opts('-L', '/var/log/full/')['full-log-dir'], '/var/log/full');
    assert.deepEqual(opts('--smtp-auth-command=/bin/checkpassword,/bin/true')['smtp-auth-command'], [
      '/bin/checkpassword /bin/true',
    ]);
    assert.equal(opts('--hostname-command=/bin/hostname,-f')['hostname-command'], '/bin/hostname -f');
  });

  test('strings: last wins, !value clears only that value, !!! clears even a default', () => {
    assert.equal(opts('-u', 'http://a/', '-u', 'http://b/')['policy-url'], 'http://b/');
    assert.equal(opts('-u', 'http://a/', '-u', '!http://x/')['policy-url'], 'http://a/');
    assert.equal(opts('-u', 'http://a/', '-u', '!http://a/')['policy-url'], undefined);
    assert.equal(opts('--tls-cipher-list=!!!')['tls-cipher-list'], undefined);
  });

  test('enum: case-insensitive, last wins, !!! goes back to the default', () => {
    assert.equal(opts('--tls-level=SMTPS', '--tls-level=none')['tls-level'], 'none');
    assert.equal(opts('--tls-level=smtps', '--tls-level=!!!')['tls-level'], 'smtp');
    assert.equal(opts('--relay-level=allow-all', '--relay-level=!!!')['relay-level'], undefined);
    assert.equal(opts('--tls-level=smtps', '--tls-level=!smtps')['tls-level'], 'smtp');
  });

  test('enum sets: giving one replaces the default; none/first and !!! empty it; !word removes', () => {
    assert.deepEqual(opts('--dns-query-type-a=cname')['dns-query-type-a'], ['cname']);
    assert.deepEqual(opts('--dns-query-type-a=!!!')['dns-query-type-a'], []);
    // removing a word that is not there changes nothing, so the default stays (spamdyke)
    assert.deepEqual(opts('--dns-query-type-a=!cname')['dns-query-type-a'], ['a', 'cname']);
    const o = opts('--reject-sender=not-local', '--reject-sender=NO-MX', '--reject-sender=!not-local');
    assert.deepEqual(o['reject-sender'], ['no-mx']);
    assert.deepEqual(opts('--reject-sender=no-mx', '--reject-sender=none')['reject-sender'], []);
    assert.deepEqual(
      opts('--config-dir-search=all-ip', '--config-dir-search=first')['config-dir-search'],
      [],
    );
    assert.deepEqual(opts('--log-target=stderr', '--log-target=syslog')['log-target'], ['stderr', 'syslog']);
    assert.deepEqual(opts('--log-only=graylist', '--log-only=dns-blacklist')['log-only'], [
      'dns-blacklist',
      'graylist',
    ]);
  });

  test('over-long strings are cut and reported with spamdyke text', () => {
    const r = load(`--rejection-text-timeout=${'x'.repeat(150)}`, 'q');
    assert.equal(r.options['rejection-text-timeout'], 'x'.repeat(100));
    assert.deepEqual(r.warnings, [
      'Value for option rejection-text-timeout is 150 characters, length limit is 100 characters',
    ]);
  });
});

describe('value rules, for any input (fast-check)', () => {
  const valueText = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0'));

  test('bool: only the first character decides', () => {
    fc.assert(
      fc.property(fc.constantFrom(...'1tTyY0fFnN'), fc.string({ maxLength: 20 }), (first, rest) => {
        assert.equal(
          opts(`--reject-empty-rdns=${first}${rest}`)['reject-empty-rdns'],
          '1tTyY'.includes(first),
        );
      }),
    );
    fc.assert(
      fc.property(
        valueText.filter((s) => !'1tTyY0fFnN'.includes(s[0]!)),
        (value) => {
          fails(
            ['--reject-empty-rdns=' + value, 'q'],
            `Bad or unparsable value for option reject-empty-rdns: ${value}`,
          );
        },
      ),
    );
  });

  test('int: every number in range is kept, every number outside is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2147483647 }), (n) => {
        assert.equal(opts(`--dns-max-retries-total=${n}`)['dns-max-retries-total'], n);
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: -(2n ** 62n), max: 0n }), fc.bigInt({ min: 2147483648n, max: 2n ** 62n })),
        (n) => {
          fails(
            [`--dns-max-retries-total=${n}`, 'q'],
            `Illegal value for option dns-max-retries-total: ${n} (must be between 1 and 2147483647)`,
          );
        },
      ),
    );
  });

  test('list: adds, removals and !!! behave like an ordered set', () => {
    const entry = fc.stringMatching(/^[a-z0-9.]{1,8}$/);
    const op = fc.oneof(
      entry.map((v) => ({ add: v })),
      entry.map((v) => ({ remove: v })),
      fc.constant({ clear: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
        const model: string[] = [];
        const argv: string[] = [];
        for (const o of ops) {
          if ('add' in o) {
            argv.push(`--ip-blacklist-entry=${o.add}`);
            if (!model.includes(o.add)) model.push(o.add);
          } else if ('remove' in o) {
            argv.push(`--ip-blacklist-entry=!${o.remove}`);
            const at = model.indexOf(o.remove);
            if (at >= 0) model.splice(at, 1);
          } else {
            argv.push('--ip-blacklist-entry=!!!');
            model.length = 0;
          }
        }
        assert.deepEqual(opts(...argv)['ip-blacklist-entry'], model);
      }),
    );
  });

  test('enum sets: any mix of words, !words and case gives the set the words describe', () => {
    const words = ['no-mx', 'not-local', 'authentication-mismatch', 'authentication-domain-mismatch'];
    const op = fc.record({
      word: fc.constantFrom(...words, 'none'),
      remove: fc.boolean(),
      upper: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), (ops) => {
        const model = new Set<string>();
        const argv = ops.map(({ word, remove, upper }) => {
          if (word === 'none' && !remove) model.clear();
          else if (word !== 'none' && remove) model.delete(word);
          else if (word !== 'none') model.add(word);
          return `--reject-sender=${remove ? '!' : ''}${upper ? word.toUpperCase() : word}`;
        });
        assert.deepEqual(
          opts(...argv)['reject-sender'],
          words.filter((w) => model.has(w)),
        );
      }),
    );
  });

  test('enum: the last word wins, whatever its case; anything else is refused', () => {
    const levels = ['none', 'error', 'info', 'verbose', 'debug', 'excessive'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...levels), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (seq, upper) => {
          const argv = seq.map((l) => `--log-level=${upper ? l.toUpperCase() : l}`);
          assert.equal(opts(...argv)['log-level'], seq[seq.length - 1]);
        },
      ),
    );
    fc.assert(
      fc.property(
        valueText.filter((s) => !levels.includes(s.toLowerCase()) && s !== '!!!' && !s.startsWith('!')),
        (v) => {
          fails(
            [`--log-level=${v}`, 'q'],
            `Illegal value for option log-level: ${v} (must be one of ${levels.join(', ')})`,
          );
        },
      ),
    );
  });

  test('strings: kept as given up to the length limit, cut and reported beyond it', () => {
    fc.assert(
      fc.property(
        valueText.filter((s) => !s.startsWith('!')),
        (text) => {
          const r = load(`--policy-url=${text}`, 'q');
          assert.equal(r.options['policy-url'], text.slice(0, 100));
          assert.equal(r.warnings.length, text.length > 100 ? 1 : 0);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 101, maxLength: 300 }).filter((s) => !s.startsWith('!')),
        (text) => {
          const r = load(`--policy-url=${text}`, 'q');
          assert.equal(r.options['policy-url'], text.slice(0, 100));
          assert.deepEqual(r.warnings, [
            `Value for option policy-url is ${text.length} characters, length limit is 100 characters`,
          ]);
        },
      ),
    );
  });
});

test('parseCommandLine alone reads no files', () => {
  const { state, child } = parseCommandLine(['-f', '/nonexistent/levee.conf', 'q']);
  assert.deepEqual(state.values.get('config-file'), ['/nonexistent/levee.conf']);
  assert.deepEqual(child, ['q']);
});
