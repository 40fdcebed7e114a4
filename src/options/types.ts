// The shape of one row of the option table (src/options/table.ts), and the typed value object that
// parsing produces. Everything that knows about options (argv, config files, config-dir files,
// --help, docs/options.md, --config-test) reads the table through these types.

/** How a value is parsed and stored (spec §1.2). */
export type OptionKind =
  | 'bool' //    optional arg; 1tTyY / 0fFnN; bare = true                     -> boolean
  | 'int' //     integer with range                                            -> number
  | 'enum' //    one of `values`, last wins, `!!!` resets to default            -> string (one of values)
  | 'enums' //   repeatable set of `values`, `!x` removes, `!!!` clears         -> readonly string[]
  | 'string' //  singleton text, last wins, `!!!` clears, `!v` clears if equal  -> string | undefined
  | 'list' //    repeatable, duplicates ignored, `!v` removes, `!!!` clears     -> readonly string[]
  | 'action'; // --help, --version, --config-test...                           -> boolean

/** What a string or list value names; drives --config-test checks and COMMAND `,` handling. */
export type ValueRole = 'text' | 'entry' | 'file' | 'dir' | 'command';

/** Where an option may be used: command line, config-file file, config-dir file. */
export interface OptionWhere {
  readonly cli: boolean;
  readonly file: boolean;
  readonly dir: boolean;
}

export interface OptionDef {
  /** long name, as spamdyke spells it */
  readonly name: string;
  /** one-letter short flag, if any */
  readonly short?: string;
  readonly kind: OptionKind;
  /** for string/list: what the value is (file paths are opened, commands split on `,`...) */
  readonly role?: ValueRole;
  /** enum / enums: allowed words (lower case) */
  readonly values?: readonly string[];
  /** enums: the words that reset the whole set (spamdyke: `none` / `first`) */
  readonly resetValue?: string;
  /** int range (inclusive); default 0..2147483647 */
  readonly min?: number;
  readonly max?: number;
  /** string: longer values are truncated and an error is logged */
  readonly maxLength?: number;
  /** default value (type must fit `kind`); absent = false / 0 / undefined / [] */
  readonly default?: boolean | number | string | readonly string[];
  /** option argument is optional on the command line (`-l`, `--log-level` alone) */
  readonly optionalArg?: boolean;
  /** the value used when an optional argument is absent (`log-level` -> `info`) */
  readonly implicitValue?: string;
  readonly where: OptionWhere;
  /** argument placeholder in --help (`FILE`, `SECS`, ...) */
  readonly arg?: string;
  /** help text (one paragraph, plain text) */
  readonly help: string;
  /** other spellings accepted (spamdyke's greylist-* aliases) */
  readonly aliases?: readonly string[];
  /** true for options levee adds beyond spamdyke 5.0.1 */
  readonly extension?: boolean;
}

/** Maps one table row to the type of its parsed value. */
export type ValueOf<D> = D extends { kind: 'bool' | 'action' }
  ? boolean
  : D extends { kind: 'int' }
    ? number
    : D extends { kind: 'enum'; values: readonly (infer V)[]; default: string }
      ? V
      : D extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V | undefined
        : D extends { kind: 'enums'; values: readonly (infer V)[] }
          ? readonly V[]
          : D extends { kind: 'string' }
            ? string | undefined
            : D extends { kind: 'list' }
              ? readonly string[]
              : never;
