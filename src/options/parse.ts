// Turns the command line and config files into typed option values (spec §1.1, §1.2, §4.7), driven by
// the table. This runs once per SMTP connection, so it is a small hand parser with plain loops: no
// yargs (about 80 ms to load), lookup maps built once, nothing read that the arguments do not name.
import { readFileSync } from 'node:fs';
import { openErrorText, parseConfigText } from './config-file';
import { isDigit, isSpace } from '../text';
import { OPTION_INT_MAX, OPTIONS, type OptionName, type OptionValues } from './table';
import type { OptionDef } from './types';

/** A configuration mistake; `message` is spamdyke's text (main prints it as `ERROR: <message>`). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where a value came from: command line, a `config-file` file, a file in a `config-dir` tree. */
export type Where = 'C' | 'F' | 'D';

type Stored = boolean | number | string | string[] | undefined;

/** The mutable builder behind parsing. Copy it with cloneState before applying config-dir files. */
export interface OptionState {
  /** current values; bool/int/string start at their default (as in spamdyke), enum/enums/list unset */
  readonly values: Map<string, Stored>;
  /** options the user gave (even when the value equals the default) */
  readonly userSet: Set<OptionName>;
  /** where each user-set option was last given (config-dir values apply to one recipient only) */
  readonly origin: Map<OptionName, Where>;
  /** messages to log at level error: length limits, and every problem found in config-dir files */
  readonly warnings: string[];
}

export interface Parsed {
  options: OptionValues;
  child: string[];
  warnings: string[];
  /** options the user gave (e.g. dns-timeout-secs: its default must not beat resolv.conf) */
  userSet: ReadonlySet<OptionName>;
  /** the parser state the options came from: config-dir files are applied to copies of it */
  state: OptionState;
}

// The loops over the option table are indexed, not for-of: at start-up this code runs in V8's
// interpreter, where for-of allocates an iterator result per element (25 lookups of a name by for-of
// were ~200 KB of young allocations, enough to cost a scavenge later in the session).
const DEFS: readonly OptionDef[] = OPTIONS;

let byShort: Map<string, OptionDef> | undefined;

/**
 * The option spelled `name` (its name or an alias, exactly). A linear search: a start-up makes a
 * few dozen lookups, and a Map of the ~200 spellings cost ~40 KB of allocations at every start.
 */
function exactOption(name: string): OptionDef | undefined {
  for (let i = 0; i < DEFS.length; i++) {
    const def = DEFS[i]!;
    if (def.name === name) return def;
    const aliases = def.aliases;
    if (aliases) for (let j = 0; j < aliases.length; j++) if (aliases[j] === name) return def;
  }
  return undefined;
}

function shortIndex(): Map<string, OptionDef> {
  if (byShort) return byShort;
  byShort = new Map();
  for (let i = 0; i < DEFS.length; i++) {
    const def = DEFS[i]!;
    if (def.short) byShort.set(def.short, def);
  }
  return byShort;
}

/** The table row for a name or alias, as config files spell it (exact, case-insensitive). */
export function findOption(name: string): OptionDef | undefined {
  return exactOption(name.toLowerCase());
}

/** Long option lookup like getopt_long: an exact name wins, otherwise an unambiguous prefix. */
function findLongOption(name: string): OptionDef | undefined {
  const exact = exactOption(name);
  if (exact || name.length === 0) return exact;
  let found: OptionDef | undefined;
  const spelledBy = (spelling: string): boolean => spelling.startsWith(name);
  for (let i = 0; i < DEFS.length; i++) {
    const def = DEFS[i]!;
    if (!spelledBy(def.name) && !def.aliases?.some(spelledBy)) continue;
    if (found && found !== def) return undefined;
    found = def;
  }
  return found;
}

export function allowedAt(def: OptionDef, where: Where): boolean {
  return where === 'C' ? def.where.cli : where === 'F' ? def.where.file : def.where.dir;
}

export function createState(): OptionState {
  const values = new Map<string, Stored>();
  for (let i = 0; i < DEFS.length; i++) {
    const def = DEFS[i]!;
    if (def.kind === 'bool' || def.kind === 'action')
      values.set(def.name, (def.default as boolean | undefined) ?? false);
    else if (def.kind === 'int') values.set(def.name, (def.default as number | undefined) ?? 0);
    else if (def.kind === 'string') values.set(def.name, def.default as string | undefined);
  }
  return { values, userSet: new Set(), origin: new Map(), warnings: [] };
}

export function cloneState(state: OptionState): OptionState {
  const values = new Map<string, Stored>();
  for (const [name, value] of state.values) values.set(name, Array.isArray(value) ? [...value] : value);
  return {
    values,
    userSet: new Set(state.userSet),
    origin: new Map(state.origin),
    warnings: [...state.warnings],
  };
}

const badValue = (def: OptionDef, raw: string | undefined): ConfigError =>
  new ConfigError(`Bad or unparsable value for option ${def.name}: ${raw ?? ''}`);

/** C's sscanf("%lld"): leading white space, a sign, digits; whatever follows the digits is ignored. */
function scanInteger(raw: string): number | null {
  let i = 0;
  while (i < raw.length && isSpace(raw.charCodeAt(i))) i++;
  const start = i;
  if (raw[i] === '+' || raw[i] === '-') i++;
  const digits = i;
  while (i < raw.length && isDigit(raw.charCodeAt(i))) i++;
  return i === digits ? null : Number(raw.slice(start, i));
}

/** Strings are stored after the role's rewriting: DIR loses trailing `/`, COMMAND turns `,` into a space. */
function normalise(def: OptionDef, value: string, singleton: boolean): string {
  let text = value;
  if (def.role === 'dir') {
    // a singleton loses one slash, a list entry all of them (spamdyke); "/" itself stays "/"
    if (singleton) text = text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text;
    else text = text.replace(/(.)\/+$/, '$1');
  }
  if (def.role === 'command') text = text.replaceAll(',', ' ');
  return text;
}

function applyEnum(state: OptionState, def: OptionDef, raw: string): void {
  const values = def.values ?? [];
  const current = state.values.get(def.name);
  if (raw === '!!!') {
    state.values.set(def.name, def.kind === 'enums' ? [] : undefined);
    return;
  }
  const remove = raw.startsWith('!');
  const word = (remove ? raw.slice(1) : raw).toLowerCase();
  if (!values.includes(word)) {
    throw new ConfigError(
      `Illegal value for option ${def.name}: ${raw} (must be one of ${values.join(', ')})`,
    );
  }
  if (def.kind === 'enum') {
    // `!word` unsets the option only when it holds that word; finish() then gives the default
    if (!remove) state.values.set(def.name, word);
    else if (current === word) state.values.set(def.name, undefined);
    return;
  }
  // enums: a set kept in table order; resetValue (`none`, `first`) means the empty set
  const set = (current as string[] | undefined) ?? [];
  if (word === def.resetValue) {
    if (remove) return;
    state.values.set(def.name, []);
    return;
  }
  if (remove === !set.includes(word)) return;
  const next = remove ? set.filter((v) => v !== word) : values.filter((v) => v === word || set.includes(v));
  state.values.set(def.name, next);
}

function applyString(state: OptionState, def: OptionDef, raw: string): void {
  const current = state.values.get(def.name) as string | undefined;
  if (raw === '!!!') {
    state.values.set(def.name, undefined);
    return;
  }
  if (raw.startsWith('!')) {
    if (current === raw.slice(1)) state.values.set(def.name, undefined);
    return;
  }
  let text = normalise(def, raw, true);
  if (def.maxLength !== undefined && text.length > def.maxLength) {
    state.warnings.push(
      `Value for option ${def.name} is ${text.length} characters, length limit is ${def.maxLength} characters`,
    );
    text = text.slice(0, def.maxLength);
  }
  state.values.set(def.name, text);
}

function applyList(state: OptionState, def: OptionDef, raw: string): void {
  const list = (state.values.get(def.name) as string[] | undefined) ?? [];
  if (raw === '!!!') {
    state.values.set(def.name, []);
    return;
  }
  if (raw.startsWith('!')) {
    const at = list.indexOf(raw.slice(1));
    state.values.set(def.name, at < 0 ? list : [...list.slice(0, at), ...list.slice(at + 1)]);
    return;
  }
  let text = normalise(def, raw, false);
  if (def.maxLength !== undefined) text = text.slice(0, def.maxLength);
  if (list.includes(text)) return;
  state.values.set(def.name, [...list, text]);
}

/**
 * Applies one value to the state with spamdyke's rules for its kind (spec §1.2). `raw` is undefined
 * when an optional argument was left out (`-r`, `--log-level`, a bare name in a file).
 */
export function applyValue(state: OptionState, def: OptionDef, raw: string | undefined, where: Where): void {
  if (!allowedAt(def, where)) {
    throw new ConfigError(
      where === 'C'
        ? `Option not allowed on command line: ${def.name}`
        : `Option not allowed in configuration file: ${def.name}`,
    );
  }
  switch (def.kind) {
    case 'action':
      state.values.set(def.name, true);
      break;
    case 'bool': {
      // only the first character counts; an empty value is true (spamdyke's strchr() finds the NUL)
      const first = raw === undefined ? '1' : raw.slice(0, 1);
      let value: boolean;
      if (first === '' || '1tTyY'.includes(first)) value = true;
      else if ('0fFnN'.includes(first)) value = false;
      else throw badValue(def, raw);
      state.values.set(def.name, value);
      break;
    }
    case 'int': {
      const value = raw === undefined ? null : scanInteger(raw);
      if (value === null) throw badValue(def, raw);
      const min = def.min ?? 0;
      const max = def.max ?? OPTION_INT_MAX;
      if (!(value >= min && value <= max)) {
        throw new ConfigError(
          `Illegal value for option ${def.name}: ${raw} (must be between ${min} and ${max})`,
        );
      }
      state.values.set(def.name, value);
      break;
    }
    case 'enum':
    case 'enums': {
      const value = raw ?? def.implicitValue;
      if (value === undefined) throw badValue(def, raw);
      applyEnum(state, def, value);
      break;
    }
    case 'string':
    case 'list':
      // an empty path, entry or text is never meant; spamdyke would store it, levee refuses it
      if (raw === undefined || raw === '') throw badValue(def, raw);
      if (def.kind === 'string') applyString(state, def, raw);
      else applyList(state, def, raw);
      break;
  }
  // "given", not "changed": a user who writes the default value still chose it
  const name = def.name as OptionName;
  state.userSet.add(name);
  state.origin.set(name, where);
}

/** the value of each list option that is empty: one frozen array (most of ~90 lists are empty) */
const EMPTY_LIST: readonly string[] = Object.freeze([]);

/** The typed values: what was set, defaults for the rest (an enum reset with `!!!` gets its default). */
export function finish(state: OptionState): OptionValues {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < DEFS.length; i++) {
    const def = DEFS[i]!;
    const value = state.values.get(def.name);
    if (def.kind === 'enum') out[def.name] = value ?? def.default;
    else if (def.kind === 'enums' || def.kind === 'list') {
      // a copy: the parser's state goes on changing (config files, config-dir)
      const list = (value ?? def.default ?? EMPTY_LIST) as readonly string[];
      out[def.name] = list.length === 0 ? EMPTY_LIST : [...list];
    } else out[def.name] = value;
  }
  return out as OptionValues;
}

const STOPPING_ACTIONS: ReadonlySet<string> = new Set(['help', 'more-help', 'version']);

function unknownOption(arg: string): ConfigError {
  return new ConfigError(`Unknown or incomplete option: ${arg}`);
}

/**
 * Parses argv like spamdyke's getopt_long with a `+` short string: options until the first word
 * that is not one (or `--`), which starts the qmail command. --help, --more-help and --version stop
 * parsing at once, as they do in spamdyke. Config files are not read here.
 */
export function parseCommandLine(argv: readonly string[]): { state: OptionState; child: string[] } {
  const state = createState();
  let i = 0;
  let stopped = false;
  const apply = (def: OptionDef, raw: string | undefined): void => {
    applyValue(state, def, raw, 'C');
    if (STOPPING_ACTIONS.has(def.name)) stopped = true;
  };

  for (; i < argv.length && !stopped; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const def = findLongOption(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      const attached = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!def) throw unknownOption(arg);
      if (def.kind === 'action') {
        if (attached !== undefined) throw unknownOption(arg);
        apply(def, undefined);
      } else if (def.optionalArg || attached !== undefined) {
        apply(def, attached);
      } else {
        if (i + 1 >= argv.length) throw unknownOption(arg);
        apply(def, argv[++i]);
      }
      continue;
    }
    if (arg.length < 2 || arg[0] !== '-') break;
    // a cluster of short flags: `-rc`, `-ffile`, `-f file`, `-ldebug`
    for (let j = 1; j < arg.length && !stopped; j++) {
      const def = shortIndex().get(arg[j]!);
      if (!def) throw unknownOption(arg);
      if (def.kind === 'action') {
        apply(def, undefined);
        continue;
      }
      const rest = arg.slice(j + 1);
      if (def.optionalArg) apply(def, rest.length ? rest : undefined);
      else if (rest.length) apply(def, rest);
      else if (i + 1 < argv.length) apply(def, argv[++i]);
      else throw unknownOption(arg);
      break;
    }
  }
  return { state, child: stopped ? [] : argv.slice(i) };
}

/**
 * Reads a configuration file into the state, then the files it names with `config-file`
 * (depth-first, after the file's own lines, as spamdyke does); a file already on the include chain
 * is skipped. In `F` files every problem is fatal (ConfigError); in `D` (config-dir) files it is
 * added to state.warnings and the line is skipped.
 */
export function applyConfigFile(
  state: OptionState,
  path: string,
  where: 'F' | 'D',
  readFile: (path: string) => string = readUtf8,
  chain: readonly string[] = [],
): void {
  if (chain.includes(path)) return;
  const fail = (message: string): void => {
    if (where === 'F') throw new ConfigError(message);
    state.warnings.push(message);
  };
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return fail(`unable to open config file ${path}: ${openErrorText(err)}`);
  }
  const includesBefore = (state.values.get('config-file') as string[] | undefined)?.length ?? 0;
  for (const entry of parseConfigText(text)) {
    if ('badSyntax' in entry) {
      fail(`Bad syntax in configuration file ${path} on line ${entry.line}: ${entry.badSyntax}`);
      continue;
    }
    const def = findOption(entry.name);
    if (!def) {
      fail(`Unknown configuration file option in file ${path} on line ${entry.line}: ${entry.name}`);
    } else if (!allowedAt(def, where)) {
      fail(
        `Option not allowed in configuration file, found in file ${path} on line ${entry.line}: ${entry.name}`,
      );
    } else {
      try {
        applyValue(state, def, entry.value, where);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // spamdyke's value messages do not say where; levee adds it
        fail(`${err.message} (file ${path}, line ${entry.line})`);
      }
    }
  }
  const includes = (state.values.get('config-file') as string[] | undefined) ?? [];
  for (const include of includes.slice(includesBefore)) {
    applyConfigFile(state, include, where, readFile, [...chain, path]);
  }
}

function readUtf8(path: string): string {
  return readFileSync(path, 'utf8');
}

/** False when an action (help, more-help, version, config-test) makes the qmail command unnecessary. */
export function needsChild(
  options: Pick<OptionValues, 'help' | 'more-help' | 'version' | 'config-test'>,
): boolean {
  return !(options.help || options['more-help'] || options.version || options['config-test']);
}

/**
 * Everything main needs: command line, then the `config-file` files in order (their values win),
 * then defaults. Throws ConfigError with spamdyke's message on the first fatal mistake.
 */
export function loadOptions(argv: readonly string[], readFile: (path: string) => string = readUtf8): Parsed {
  const { state, child } = parseCommandLine(argv);
  // what the command line alone decides, without building every option's value twice
  const given = (name: OptionName): boolean => state.values.get(name) === true;
  const early = {
    help: given('help'),
    'more-help': given('more-help'),
    version: given('version'),
    'config-test': given('config-test'),
  };
  if (early.help || early['more-help'] || early.version) {
    return { options: finish(state), child, warnings: state.warnings, userSet: state.userSet, state };
  }
  if (child.length === 0 && needsChild(early)) throw new ConfigError('Missing qmail-smtpd command');
  const configFiles = (state.values.get('config-file') as readonly string[] | undefined) ?? [];
  for (const file of [...configFiles]) applyConfigFile(state, file, 'F', readFile);
  return { options: finish(state), child, warnings: state.warnings, userSet: state.userSet, state };
}
