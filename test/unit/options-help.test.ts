// --help / --more-help / --version texts and docs/options.md, all generated from the option table.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { helpText, versionText, wrap } from '../../src/options/help';
import { OPTIONS } from '../../src/options/table';
import { OPTIONS_DOC_PATH, renderOptionsDoc } from '../../scripts/gen-options-doc';
import { version } from '../../package.json';

// To accept a deliberate change of the --help text: UPDATE_GOLDEN=1 node --import tsx --test test/unit/options-help.test.ts
const GOLDEN_HELP = join(__dirname, '..', 'fixtures', 'golden', 'help.txt');

describe('--help', () => {
  test('matches the golden copy', () => {
    const text = helpText(false);
    if (process.env.UPDATE_GOLDEN && !process.env.CI) writeFileSync(GOLDEN_HELP, text);
    assert.equal(
      text,
      readFileSync(GOLDEN_HELP, 'utf8'),
      'run with UPDATE_GOLDEN=1 if the change is intended',
    );
  });

  test('lists every option in spamdyke form, short form first', () => {
    const lines = helpText(false).split('\n');
    assert.ok(lines[0]!.startsWith(`levee ${version}`));
    assert.ok(lines.includes('USAGE: levee [ OPTIONS ] [ -- ] qmail-smtpd-command [ arguments ]'));
    for (const def of OPTIONS) assert.ok(helpText(false).includes(`\n--${def.name}`), def.name);
    const at = lines.indexOf('-f FILE');
    assert.equal(lines[at + 1], '--config-file FILE');
    assert.ok(lines.includes('-l[ none | error | info | verbose | debug | excessive ]'));
    assert.ok(lines.includes('--log-level=[ none | error | info | verbose | debug | excessive ]'));
    assert.ok(lines.includes('--dns-level { none | normal | aggressive }'));
    assert.ok(lines.includes('-r'));
    assert.ok(lines.includes('--reject-empty-rdns'));
    assert.ok(lines.includes('-h'));
  });
});

describe('--more-help', () => {
  const text = helpText(true);
  const lines = text.split('\n');

  test('no line is wider than 80 columns', () => {
    assert.deepEqual(
      lines.filter((l) => l.length > 80),
      [],
    );
  });

  test("adds spamdyke's generated lines", () => {
    assert.ok(lines.includes('  SECS must be between (or equal to) 0 and 2147483647.'));
    assert.ok(lines.includes('  NUM must be between (or equal to) 1 and 2147483647.'));
    assert.ok(lines.includes('  config-file may be used multiple times.'));
    assert.ok(lines.includes('  max-recipients may only be used once.'));
    assert.ok(lines.includes("  No spaces are allowed between 'l' and LEVEL."));
  });

  test('says where each option may be used, and marks levee extensions and aliases', () => {
    for (const def of OPTIONS) {
      const block = text.slice(text.indexOf(`\n--${def.name}`)).split('\n\n')[0]!;
      assert.match(block, /Allowed in: /, def.name);
      assert.equal(block.includes('levee extension'), 'extension' in def && def.extension === true, def.name);
    }
    const runAs = text.slice(text.indexOf('\n--run-as-user')).split('\n\n')[0]!;
    assert.match(runAs, /Allowed in: command line\.$/m);
    assert.match(text, /Also spelled greylist-level\./);
  });

  test('wrap keeps words whole and breaks at 80 columns', () => {
    const out = wrap(`${'word '.repeat(40)}${'x'.repeat(90)}`, '  ');
    assert.ok(out.every((l) => l.startsWith('  ')));
    assert.ok(out.slice(0, -1).every((l) => l.length <= 80));
    assert.equal(out.at(-1), `  ${'x'.repeat(90)}`);
  });
});

test('--version names levee and its version', () => {
  const lines = versionText().split('\n');
  assert.equal(
    lines[0],
    `levee ${version}, a connection-time SMTP spam filter compatible with spamdyke 5.0.1`,
  );
  assert.match(versionText(), /Use --help for an option summary/);
});

test('docs/options.md is up to date with the table', () => {
  assert.equal(
    readFileSync(OPTIONS_DOC_PATH, 'utf8'),
    renderOptionsDoc(),
    'docs/options.md is stale: run `npx tsx scripts/gen-options-doc.ts`',
  );
  for (const def of OPTIONS) assert.ok(renderOptionsDoc().includes(`| \`${def.name}\``), def.name);
});
