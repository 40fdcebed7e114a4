// Configuration files (spec §4.7, §3.5, errata 3): syntax, error messages with file and line,
// includes, and the points where the `ini` package would read the same text differently.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ini from 'ini';
import { parseConfigText } from '../../src/options/config-file';
import { applyConfigFile, ConfigError, createState, finish, loadOptions } from '../../src/options/parse';

/** Loads `levee -f /etc/levee.conf qmail-smtpd` with in-memory files. */
function loadFiles(files: Record<string, string>, argv: string[] = []) {
  return loadOptions([...argv, '-f', '/etc/levee.conf', 'qmail-smtpd'], (path) => {
    if (path in files) return files[path]!;
    throw Object.assign(new Error(path), { code: 'ENOENT' });
  });
}
const fromFile = (text: string) => loadFiles({ '/etc/levee.conf': text }).options;
const fileFails = (text: string, message: string) =>
  assert.throws(() => loadFiles({ '/etc/levee.conf': text }), new ConfigError(message));

describe('config file syntax', () => {
  test('name=value, name = value, bare booleans, any case, blank lines and comments', () => {
    const o = fromFile(
      '# levee\n\nLOG-LEVEL = debug\n  max-recipients=5  \n\treject-empty-rdns\nip-blacklist-entry\t=\t10.\n',
    );
    assert.equal(o['log-level'], 'debug');
    assert.equal(o['max-recipients'], 5);
    assert.equal(o['reject-empty-rdns'], true);
    assert.deepEqual(o['ip-blacklist-entry'], ['10.']);
  });

  test('values are literal: quotes, ;, inline # and = stay, trailing blanks go', () => {
    const o = fromFile(
      'rejection-text-timeout="Too slow"; try again # later  \npolicy-url=http://x/?a=b#c\n',
    );
    assert.equal(o['rejection-text-timeout'], '"Too slow"; try again # later');
    assert.equal(o['policy-url'], 'http://x/?a=b#c');
  });

  test('every line is applied in order: lists collect, ! and !!! work', () => {
    const o = fromFile(
      'ip-blacklist-entry=1.\nip-blacklist-entry=2.\nip-blacklist-entry=!1.\ntls-level=smtps\ntls-level=!!!\n',
    );
    assert.deepEqual(o['ip-blacklist-entry'], ['2.']);
    assert.equal(o['tls-level'], 'smtp');
  });

  test('CR LF and lone CR end lines too', () => {
    assert.deepEqual(parseConfigText('a=1\r\nb=2\rc=3\n'), [
      { line: 1, name: 'a', value: '1' },
      { line: 2, name: 'b', value: '2' },
      { line: 3, name: 'c', value: '3' },
    ]);
  });

  test('bad syntax: name=, name extra, an indented comment, a line starting with =', () => {
    fileFails(
      'max-recipients=\n',
      'Bad syntax in configuration file /etc/levee.conf on line 1: max-recipients=',
    );
    fileFails(
      '\nreject-empty-rdns = \n',
      'Bad syntax in configuration file /etc/levee.conf on line 2: reject-empty-rdns =',
    );
    fileFails(
      'reject-empty-rdns yes\n',
      'Bad syntax in configuration file /etc/levee.conf on line 1: reject-empty-rdns yes',
    );
    fileFails(
      '  # indented comment\n',
      'Bad syntax in configuration file /etc/levee.conf on line 1: # indented comment',
    );
    fileFails('=5\n', 'Bad syntax in configuration file /etc/levee.conf on line 1: =5');
  });

  test('unknown names, abbreviations and options not allowed in files', () => {
    fileFails('a=1\nbogus=1\n', 'Unknown configuration file option in file /etc/levee.conf on line 1: a');
    fileFails(
      'log-lev=info\n',
      'Unknown configuration file option in file /etc/levee.conf on line 1: log-lev',
    );
    fileFails(
      '  #comment\n',
      'Unknown configuration file option in file /etc/levee.conf on line 1: #comment',
    );
    fileFails(
      '\n\nhelp\n',
      'Option not allowed in configuration file, found in file /etc/levee.conf on line 3: help',
    );
    fileFails(
      'run-as-user=qmaild\n',
      'Option not allowed in configuration file, found in file /etc/levee.conf on line 1: run-as-user',
    );
  });

  test('bad values use spamdyke text and say where (errata 3)', () => {
    fileFails(
      'max-recipients=!!!\n',
      'Bad or unparsable value for option max-recipients: !!! (file /etc/levee.conf, line 1)',
    );
    fileFails(
      '\nreject-empty-rdns=maybe\n',
      'Bad or unparsable value for option reject-empty-rdns: maybe (file /etc/levee.conf, line 2)',
    );
    fileFails(
      'max-recipients\n',
      'Bad or unparsable value for option max-recipients:  (file /etc/levee.conf, line 1)',
    );
    fileFails(
      'dns-level=fast\n',
      'Illegal value for option dns-level: fast (must be one of none, normal, aggressive) (file /etc/levee.conf, line 1)',
    );
    fileFails(
      'graylist-min-secs=-1\n',
      'Illegal value for option graylist-min-secs: -1 (must be between 0 and 2147483647) (file /etc/levee.conf, line 1)',
    );
  });

  test('greylist spellings are accepted in files', () => {
    const o = fromFile('greylist-level=only\nrejection-text-greylist=Later\n');
    assert.equal(o['graylist-level'], 'only');
    assert.equal(o['rejection-text-graylist'], 'Later');
  });
});

describe('config file loading', () => {
  test('file values override the command line, files are read in order', () => {
    const r = loadOptions(['-ldebug', '-a', '3', '-f', '/a', '-f', '/b', 'qmail-smtpd'], (p) =>
      p === '/a' ? 'log-level=info\nmax-recipients=4\n' : 'max-recipients=5\n',
    );
    assert.equal(r.options['log-level'], 'info');
    assert.equal(r.options['max-recipients'], 5);
  });

  test('nested includes are read after the including file, depth first; loops are skipped', () => {
    const files: Record<string, string> = {
      '/etc/levee.conf': 'config-file=/etc/inc1\nlog-level=verbose\nconfig-file=/etc/inc2\n',
      '/etc/inc1': 'log-level=debug\nconfig-file=/etc/inc1b\nconfig-file=/etc/levee.conf\n',
      '/etc/inc1b': 'max-recipients=7\nlog-target=stderr\n',
      '/etc/inc2': 'max-recipients=9\nconfig-file=/etc/inc1\n',
    };
    const read: string[] = [];
    const r = loadOptions(['-f', '/etc/levee.conf', 'q'], (p) => {
      read.push(p);
      return files[p]!;
    });
    assert.deepEqual(read, ['/etc/levee.conf', '/etc/inc1', '/etc/inc1b', '/etc/inc2']);
    assert.equal(r.options['log-level'], 'debug');
    assert.equal(r.options['max-recipients'], 9);
    assert.deepEqual(r.options['log-target'], ['stderr']);
  });

  test('an unreadable file names the file and the system error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-options-'));
    try {
      const missing = join(dir, 'missing.conf');
      assert.throws(
        () => loadOptions(['-f', missing, 'q']),
        new ConfigError(`unable to open config file ${missing}: No such file or directory`),
      );
      assert.throws(
        () => loadOptions(['-f', dir, 'q']),
        new ConfigError(`unable to open config file ${dir}: Is a directory`),
      );
      const good = join(dir, 'good.conf');
      writeFileSync(good, `config-file=${missing}\n`);
      assert.throws(
        () => loadOptions(['-f', good, 'q']),
        new ConfigError(`unable to open config file ${missing}: No such file or directory`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('in config-dir files every problem is logged and the line skipped', () => {
    const state = createState();
    applyConfigFile(
      state,
      '/cd/_ip_/10/1',
      'D',
      () => 'reject-empty-rdns\nbogus=1\nlog-level=debug\ngreeting-delay-secs=x\npolicy-url=http://p/\n',
    );
    const o = finish(state);
    assert.equal(o['reject-empty-rdns'], true);
    assert.equal(o['policy-url'], 'http://p/');
    assert.equal(o['log-level'], 'error');
    assert.deepEqual(state.warnings, [
      'Unknown configuration file option in file /cd/_ip_/10/1 on line 2: bogus',
      'Option not allowed in configuration file, found in file /cd/_ip_/10/1 on line 3: log-level',
      'Bad or unparsable value for option greeting-delay-secs: x (file /cd/_ip_/10/1, line 4)',
    ]);
    assert.equal(state.origin.get('policy-url'), 'D');
  });
});

describe('where ini.parse would read spamdyke files differently', () => {
  // Each case: the text, what ini.parse makes of it, and what spamdyke (and levee) make of it.
  test('; starts an inline comment for ini, not for spamdyke', () => {
    const text = 'rejection-text-timeout=Slow; try later\n';
    assert.equal(ini.parse(text)['rejection-text-timeout'], 'Slow');
    assert.equal(fromFile(text)['rejection-text-timeout'], 'Slow; try later');
  });

  test('an inline # is a comment for ini, part of the value for spamdyke', () => {
    const text = 'policy-url=http://x/p #DENIED\n';
    assert.equal(ini.parse(text)['policy-url'], 'http://x/p');
    assert.equal(fromFile(text)['policy-url'], 'http://x/p #DENIED');
  });

  test('ini strips quotes, spamdyke keeps them', () => {
    const text = 'rejection-text-timeout="Slow"\n';
    assert.equal(ini.parse(text)['rejection-text-timeout'], 'Slow');
    assert.equal(fromFile(text)['rejection-text-timeout'], '"Slow"');
  });

  test('a repeated name: ini keeps the last, spamdyke applies every line', () => {
    const text = 'ip-blacklist-entry=1.\nip-blacklist-entry=2.\n';
    assert.equal(ini.parse(text)['ip-blacklist-entry'], '2.');
    assert.deepEqual(fromFile(text)['ip-blacklist-entry'], ['1.', '2.']);
  });

  test('[section] opens a section for ini, is an unknown option for spamdyke', () => {
    const text = '[main]\nmax-recipients=3\n';
    assert.equal(ini.parse(text).main['max-recipients'], '3');
    fileFails(text, 'Unknown configuration file option in file /etc/levee.conf on line 1: [main]');
  });

  test('a bare name is true for both, but an indented # and name= differ', () => {
    assert.equal(ini.parse('reject-empty-rdns\n')['reject-empty-rdns'], true);
    assert.equal(fromFile('reject-empty-rdns\n')['reject-empty-rdns'], true);
    assert.deepEqual(Object.keys(ini.parse('  # note\n')), []);
    fileFails('  # note\n', 'Bad syntax in configuration file /etc/levee.conf on line 1: # note');
    assert.equal(ini.parse('policy-url=\n')['policy-url'], '');
    fileFails('policy-url=\n', 'Bad syntax in configuration file /etc/levee.conf on line 1: policy-url=');
  });
});
