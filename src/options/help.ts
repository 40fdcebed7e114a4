// --help, --more-help and --version texts, generated from the option table in spamdyke's layout
// (usage.c): each option as `-x ARG` / `--name ARG` (enums as `{ a | b }`, optional arguments as
// `=[ ... ]`), and for --more-help the help paragraph wrapped at 80 columns with a 2-space indent plus
// the range / once-or-many lines. A small formatter of our own is used instead of yargs: the layout
// has to match spamdyke's, which yargs cannot produce, and this file is built as a separate lazy
// bundle (dist/help.cjs) so none of it costs a normal connection anything.
import { version } from '../../package.json';
import { OPTION_INT_MAX, OPTIONS } from './table';
import type { OptionDef } from './types';

const WRAP = 80;
const INDENT = '  ';

/** Greedy word wrap so that no line (indent included) is wider than 80 columns, unless one word is. */
export function wrap(text: string, indent: string): string[] {
  const width = WRAP - indent.length;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (word === '') continue;
    if (line && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

function banner(): string {
  return `levee ${version}, a connection-time SMTP spam filter compatible with spamdyke 5.0.1\nLicense: GPL-2.0-or-later\n\n`;
}

/** The usage forms of one option, short form first (spamdyke prints both). */
function usageLines(def: OptionDef): string[] {
  const valueList = def.values ? def.values.join(' | ') : undefined;
  const forms: string[] = [];
  const form = (flag: string, long: boolean): string => {
    if (def.kind === 'action' || (def.optionalArg && !def.arg)) return flag;
    if (def.optionalArg) {
      const inner = valueList ? `[ ${valueList} ]` : `[${def.arg}]`;
      return long ? `${flag}=${inner}` : `${flag}${inner}`;
    }
    return valueList ? `${flag} { ${valueList} }` : `${flag} ${def.arg ?? 'VALUE'}`;
  };
  if (def.short) forms.push(form(`-${def.short}`, false));
  forms.push(form(`--${def.name}`, true));
  return forms.flatMap((f) => wrap(f, ''));
}

function whereText(def: OptionDef): string {
  const places = [
    def.where.cli ? 'command line' : '',
    def.where.file ? 'config-file files' : '',
    def.where.dir ? 'config-dir files' : '',
  ].filter(Boolean);
  return `Allowed in: ${places.join(', ')}.`;
}

function detailLines(def: OptionDef): string[] {
  const lines = wrap(def.help, INDENT);
  if (def.kind === 'int') {
    lines.push(
      `${INDENT}${def.arg} must be between (or equal to) ${def.min ?? 0} and ${def.max ?? OPTION_INT_MAX}.`,
    );
  }
  if (def.optionalArg && def.arg) {
    if (def.short) lines.push(`${INDENT}No spaces are allowed between '${def.short}' and ${def.arg}.`);
    lines.push(
      ...wrap(
        `No spaces are allowed and an equals sign is required between ${def.name} and ${def.arg}.`,
        INDENT,
      ),
    );
  }
  const many = def.kind === 'list' || def.kind === 'enums';
  lines.push(`${INDENT}${def.name} ${many ? 'may be used multiple times.' : 'may only be used once.'}`);
  lines.push(...wrap(whereText(def), INDENT));
  if (def.aliases?.length) lines.push(...wrap(`Also spelled ${def.aliases.join(', ')}.`, INDENT));
  if (def.extension) lines.push(`${INDENT}levee extension: not in spamdyke 5.0.1.`);
  return lines;
}

/** --help (more = false) or --more-help (more = true), written to stderr by main. */
export function helpText(more: boolean): string {
  let out = banner();
  out += 'USAGE: levee [ OPTIONS ] [ -- ] qmail-smtpd-command [ arguments ]\n\nAvailable options:\n\n';
  for (const def of OPTIONS as readonly OptionDef[]) {
    out += usageLines(def).join('\n') + '\n';
    if (more) out += detailLines(def).join('\n') + '\n\n';
  }
  out += more
    ? '\nSee docs/options.md for a complete explanation of these options.\n'
    : '\nUse --more-help for option details or see docs/options.md for complete documentation.\n\n';
  return out;
}

/** --version: the banner and a pointer to the help options. */
export function versionText(): string {
  return (
    banner() +
    'Use --help for an option summary, --more-help for option details or see docs/options.md for complete ' +
    'documentation.\n\n'
  );
}
