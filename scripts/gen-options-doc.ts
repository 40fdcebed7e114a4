// Writes docs/options.md from the option table, so the reference can never drift from the code.
//   npx tsx scripts/gen-options-doc.ts
// test/unit/options-help.test.ts fails when the committed file differs from what this renders.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_INT_MAX, OPTIONS } from '../src/options/table';
import type { OptionDef } from '../src/options/types';

export const OPTIONS_DOC_PATH = join(__dirname, '..', 'docs', 'options.md');

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function typeText(def: OptionDef): string {
  switch (def.kind) {
    case 'bool':
      return 'bool (1tTyY / 0fFnN)';
    case 'int':
      return `int ${def.min ?? 0}..${def.max ?? OPTION_INT_MAX}`;
    case 'enum':
      return `one of ${def.values!.join(', ')}`;
    case 'enums':
      return `any of ${def.values!.join(', ')}`;
    case 'action':
      return 'action';
    case 'string':
      return `${def.role ?? 'text'}${def.maxLength ? ` (max ${def.maxLength} chars)` : ''}`;
    case 'list':
      return `${def.role ?? 'entry'} list`;
  }
}

function defaultText(def: OptionDef): string {
  const value = def.default;
  if (Array.isArray(value)) return value.length ? value.join(', ') : (def.resetValue ?? 'none');
  if (value !== undefined) return String(value);
  if (def.kind === 'bool') return 'off';
  if (def.kind === 'int') return '0';
  if (def.kind === 'enums') return def.resetValue ?? 'none';
  if (def.kind === 'action') return '';
  if (def.name === 'relay-level') return 'unset (normal when an rcpthosts source exists)';
  return 'none';
}

function whereText(def: OptionDef): string {
  return [def.where.cli ? 'C' : '', def.where.file ? 'F' : '', def.where.dir ? 'D' : '']
    .filter(Boolean)
    .join(' ');
}

function row(def: OptionDef): string {
  const name = `\`${def.name}\`${def.aliases?.length ? ` (also ${def.aliases.map((a) => `\`${a}\``).join(', ')})` : ''}`;
  const repeat = def.kind === 'list' || def.kind === 'enums' ? 'yes' : 'once';
  const columns = [
    name,
    def.short ? `\`-${def.short}\`` : '',
    typeText(def),
    defaultText(def),
    repeat,
    whereText(def),
    def.extension ? 'levee' : '',
    def.help,
  ];
  return `| ${columns.map(cell).join(' | ')} |`;
}

/** The whole of docs/options.md. */
export function renderOptionsDoc(): string {
  const defs = OPTIONS as readonly OptionDef[];
  const spamdyke = defs.filter((d) => !d.extension).length;
  const aliases = defs.reduce((n, d) => n + (d.aliases?.length ?? 0), 0);
  return `<!-- Generated from src/options/table.ts by \`npx tsx scripts/gen-options-doc.ts\`. Do not edit. -->

# levee options

levee accepts all ${spamdyke} options of spamdyke 5.0.1 (and their ${aliases} alternative spellings) with the
same names, values and defaults, plus ${defs.length - spamdyke} options of its own (marked \`levee\`).

Usage: \`levee [ OPTIONS ] [ -- ] qmail-smtpd-command [ arguments ]\`. Options end at the first word that
is not an option (or at \`--\`); that word and the rest are the qmail-smtpd command.

## How values are read

- Long options may be shortened to any unambiguous prefix on the command line (\`--tls-certificate\`).
  Options with an optional value (\`-l\`, \`-r\`, \`-c\`, \`-R\`) need it attached: \`--log-level=debug\`, \`-ldebug\`.
- **bool**: only the first character counts: \`1 t T y Y\` = on, \`0 f F n N\` = off; no value = on.
- **int**: a whole number within the range shown.
- **one of**: one word (any case); the last one given wins; \`!!!\` goes back to the default.
- **any of**: may be repeated to add words; \`!word\` removes one, \`!!!\` empties the set, and the word
  \`none\` / \`first\` empties it too. Giving the option replaces the default set.
- **text / file / dir / command**: the last value wins; \`!!!\` clears it, \`!value\` clears it if it is
  that value. Trailing \`/\` is removed from directories; in commands a \`,\` stands for a space.
- **lists**: every value is added (exact duplicates once); \`!value\` removes one, \`!!!\` clears the list.
- Where: **C** = command line, **F** = a file read with \`config-file\`, **D** = a file in a \`config-dir\` tree.
  Files read with \`config-file\` are applied after the whole command line, so their values win.

## Configuration files

One option per line: \`name=value\`, \`name = value\`, or \`name\` alone for a bool. Names are the long
names (any case, no abbreviations). Values are taken literally to the end of the line: no quoting, and
\`;\` or \`#\` inside a value are part of it. A line whose first character is \`#\` is a comment; an
indented \`#\` is an error. \`name=\` with nothing after it is an error.

## All options

| option | short | type / values | default | repeat | where | ext | description |
|---|---|---|---|---|---|---|---|
${defs.map(row).join('\n')}
`;
}

if (require.main === module) {
  writeFileSync(OPTIONS_DOC_PATH, renderOptionsDoc());
  console.log(`wrote ${OPTIONS_DOC_PATH}`);
}
