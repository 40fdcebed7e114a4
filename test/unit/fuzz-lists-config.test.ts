// Fuzzing the list matchers, the rDNS directory path builder, the DNS name helpers and the
// configuration reader. Their inputs mix administrator text (list entries, config files) with network
// text (client IP from the environment, rDNS names, sender domains); the properties hold for any mix:
// no exception other than the documented ConfigError, bounded time, and paths that stay inside their
// directory tree. FUZZ_RUNS sets the number of cases per property.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { matchIpEntry, normalizeClientIp } from '../../src/match/ip';
import { matchRdnsEntry, rdnsDirPaths, domain2path, baseDomain } from '../../src/match/rdns';
import { isIpInName, isIpInCcRdns, matchKeywordEntry } from '../../src/match/ip-in-name';
import { fnmatch, matchHeaderEntry, HeaderUnfolder, MAX_HEADER_BYTES } from '../../src/match/header';
import { parseConfigText } from '../../src/options/config-file';
import { applyConfigFile, createState, loadOptions, ConfigError } from '../../src/options/parse';
import { normaliseHostName, rhsblCandidates, MAX_RHSBL_NAMES } from '../../src/dns/names';
import { parseRblZoneEntry, sanitiseDnsText } from '../../src/dns/rbl';
import { parseServerSpec } from '../../src/dns/settings';

const RUNS = Number(process.env.FUZZ_RUNS) || 300;
const CALL_MS = 250;

function timed<T>(what: string, fn: () => T, ms = CALL_MS): T {
  const started = performance.now();
  const value = fn();
  const took = performance.now() - started;
  assert.ok(took < ms, `${what} took ${took.toFixed(1)} ms`);
  return value;
}

const ipLike = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '0.0.0.0',
    '::',
    '::ffff:127.0.0.1',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    'fe80::1%eth0',
    '',
  ),
  fc.string({ maxLength: 40 }),
);
/** List entries: the IP grammar's pieces (ranges, masks, info@, =rdns, :instructions) glued together. */
const ipEntry = fc
  .array(
    fc.oneof(
      ipLike,
      fc.constantFrom(
        '.',
        '-',
        '/',
        ':',
        '@',
        '=',
        '[',
        ']',
        '*',
        '0',
        '255',
        '999',
        '/32',
        '/0',
        '/129',
        ':allow',
      ),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join(''));
const hostName = fc.oneof(
  fc.domain(),
  fc.constantFrom('', '.', '..', '../../etc/passwd', 'a/b.example', 'a\0b.example', '-.example', 'x..y'),
  fc.string({ maxLength: 60 }),
  fc
    .array(fc.constantFrom('a', 'b', '.', '..', '/', '%2f', '\\', '\0', '127', '0', '-', 'dsl'), {
      maxLength: 30,
    })
    .map((p) => p.join('')),
);

describe('fuzz: list matchers', () => {
  test('matchIpEntry: a boolean for any entry and any client address, quickly', () => {
    fc.assert(
      fc.property(
        ipEntry,
        ipLike,
        hostName,
        fc.option(fc.string({ maxLength: 10 })),
        (entry, ip, rdns, info) => {
          const client = { ip, rdns, remoteInfo: info ?? undefined };
          assert.equal(typeof timed('matchIpEntry', () => matchIpEntry(entry, client)), 'boolean');
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('normalizeClientIp: null or a fixed point (normalising twice changes nothing)', () => {
    fc.assert(
      fc.property(ipLike, (raw) => {
        const once = normalizeClientIp(raw);
        if (once !== null) assert.equal(normalizeClientIp(once), once);
      }),
      { numRuns: RUNS },
    );
  });

  test('rDNS, keyword and IP-in-name matchers: booleans, quickly', () => {
    fc.assert(
      fc.property(hostName, hostName, ipLike, (entry, name, ip) => {
        timed('matchers', () => {
          assert.equal(typeof matchRdnsEntry(entry, name), 'boolean');
          assert.equal(typeof isIpInName(ip, name), 'boolean');
          assert.equal(typeof isIpInCcRdns(ip, name), 'boolean');
          assert.equal(typeof matchKeywordEntry(entry, ip, name), 'boolean');
          assert.equal(typeof baseDomain(name), 'string');
          assert.equal(typeof domain2path(name, true), 'string');
        });
      }),
      { numRuns: RUNS },
    );
  });

  test('rdnsDirPaths: every path stays inside the tree, whatever the rDNS name', () => {
    fc.assert(
      fc.property(hostName, (name) => {
        for (const rel of rdnsDirPaths(name)) {
          assert.ok(!rel.startsWith('/'), rel);
          assert.ok(!rel.includes('\0'), rel);
          for (const part of rel.split('/')) assert.ok(part !== '' && part !== '.' && part !== '..', rel);
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('fnmatch never backtracks exponentially', () => {
    const pattern = '*a'.repeat(200) + 'b';
    const text = 'a'.repeat(4000);
    assert.equal(
      timed('fnmatch', () => fnmatch(pattern, text), 2000),
      false,
    );
    fc.assert(
      fc.property(
        fc
          .array(fc.constantFrom('*', '?', 'a', 'b', '[', ']', '!', '^', '-', '\\', '[:alpha:]', ':'), {
            maxLength: 40,
          })
          .map((p) => p.join('')),
        fc.string({ maxLength: 200 }),
        (p, t) => {
          assert.equal(typeof timed('fnmatch', () => fnmatch(p, t)), 'boolean');
          assert.equal(typeof matchHeaderEntry(p, t), 'boolean');
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('HeaderUnfolder: completed headers never exceed MAX_HEADER_BYTES', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 50 }), fc.constantFrom(' ', '\t', '', 'X'.repeat(20000))), {
          maxLength: 20,
        }),
        (lines) => {
          const u = new HeaderUnfolder();
          for (const line of lines) {
            const h = u.push(line);
            if (h !== null) assert.ok(h.length <= MAX_HEADER_BYTES);
          }
          const last = u.finish();
          if (last !== null) assert.ok(last.length <= MAX_HEADER_BYTES);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('fuzz: DNS names from the wire', () => {
  test('normaliseHostName: null or a legal query name; rhsblCandidates stays bounded', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          hostName,
          fc.array(fc.domain(), { maxLength: 40 }).map((d) => d.join('.')),
        ),
        (name) => {
          const n = normaliseHostName(name);
          if (n !== null) {
            assert.ok(n.length <= 255);
            assert.match(n, /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/);
            assert.ok(rhsblCandidates(n).length <= MAX_RHSBL_NAMES);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('sanitiseDnsText: printable ASCII, at most 200 characters, from any TXT record', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2000 }), (txt) => {
        const s = sanitiseDnsText(txt);
        assert.match(s, /^[\x20-\x7e]{0,200}$/);
      }),
      { numRuns: RUNS },
    );
  });

  test('parseRblZoneEntry and parseServerSpec: null or well-formed, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(ipEntry, hostName), (text) => {
        const z = parseRblZoneEntry(text);
        if (z) assert.equal(normaliseHostName(z.zone), z.zone);
        const s = parseServerSpec(text, 53);
        if (s) assert.ok(Number.isInteger(s.port) && s.port >= 1 && s.port <= 65535, JSON.stringify(s));
      }),
      { numRuns: RUNS },
    );
  });
});

// ---- configuration files ---------------------------------------------------------------------------

const configText = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.constantFrom(
          'ip-blacklist-entry=1.2.3.4',
          'idle-timeout-secs=',
          'idle-timeout-secs=!!!',
          'max-recipients = 5',
          '  # indented',
          '#comment',
          'reject-empty-rdns',
          'reject-empty-rdns yes',
          'config-file=self',
          'config-file=other',
          'log-level=excessive',
          'no-such-option=1',
          '=value',
          ' ',
          '',
          '\r',
          '\u00e9=\u00e9',
        ),
        fc.string({ maxLength: 30 }),
      ),
      { maxLength: 25 },
    ),
    fc.constantFrom('\n', '\r\n', '\r'),
  )
  .map(([lines, eol]) => lines.join(eol));

describe('fuzz: configuration reader', () => {
  test('parseConfigText: directives in line order, lower-case names without separators', () => {
    fc.assert(
      fc.property(configText, (text) => {
        const lines = timed('parseConfigText', () => parseConfigText(text));
        const total = text.split(/\r\n|\r|\n/).length;
        let last = 0;
        for (const l of lines) {
          assert.ok(l.line > last && l.line <= total, `line ${l.line} of ${total}`);
          last = l.line;
          if ('name' in l) {
            assert.ok(l.name.length > 0 && !/[= \t]/.test(l.name), l.name);
            assert.equal(l.name, l.name.toLowerCase());
            if (l.value !== undefined) assert.notEqual(l.value, '');
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  test('applyConfigFile: only ConfigError escapes, include cycles end, config-dir files never throw', () => {
    fc.assert(
      fc.property(configText, configText, (self, other) => {
        const files: Record<string, string> = { self, other };
        const read = (path: string): string => {
          const text = files[path];
          if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
          return text;
        };
        try {
          timed('applyConfigFile F', () => applyConfigFile(createState(), 'self', 'F', read), 1000);
        } catch (err) {
          assert.ok(err instanceof ConfigError, String(err));
        }
        const state = createState();
        timed('applyConfigFile D', () => applyConfigFile(state, 'self', 'D', read), 1000);
        for (const w of state.warnings) assert.equal(typeof w, 'string');
      }),
      { numRuns: RUNS },
    );
  });

  test('loadOptions: any argv gives options or a ConfigError, never another exception', () => {
    const word = fc.oneof(
      fc.constantFrom(
        '--idle-timeout-secs',
        '--idle-timeout-secs=',
        '--log-level',
        '-l',
        '-ldebug',
        '--config-file',
        '--ip-blacklist-entry',
        '--dns-server-ip',
        '--',
        '-',
        '--help',
        '--version',
        '--config-test',
        '/var/qmail/bin/qmail-smtpd',
        '-rc',
        '-x',
      ),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 10 }), (argv) => {
        const read = (): string => {
          throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
        };
        try {
          const parsed = timed('loadOptions', () => loadOptions(argv, read));
          assert.ok(Array.isArray(parsed.child));
        } catch (err) {
          assert.ok(err instanceof ConfigError, `${String(err)} for ${JSON.stringify(argv)}`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
