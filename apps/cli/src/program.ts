/** The `lichen` command line: commander program, argument validation and dispatch. */
import { Command, CommanderError, Option } from 'commander';
import { imageCommand } from './commands/image';
import { serveCommand } from './commands/serve';
import { executeRun } from './commands/run-vm';
import { locateImage } from './image-select';
import { processIo, type CliIo } from './io';
import {
  collect,
  parseCount,
  parseDuration,
  parseEnvEntry,
  parseMemory,
  parseMount,
  parseOutputFile,
  parseSeed,
  parseUser,
} from './parse';
import { toRunRequest, type RunFlags } from './run-options';

/** Exit status for command-line usage errors (bad flags, missing arguments). */
export const EXIT_USAGE = 2;
/** Exit status when Lichen itself fails (image missing, build failed) before or around a run. */
export const EXIT_LICHEN_ERROR = 125;

const VERSION = '0.1.0';

/** Thrown by actions for failures that are not usage errors; main prints `lichen: <message>`. */
class ActionFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function runCommand(io: CliIo, setExit: (code: number) => void): Command {
  const run = new Command('run')
    .description('run an aarch64 Linux program in a Lichen VM; its stdin, stdout, stderr and exit status are yours')
    .usage('[options] -- PROGRAM [ARGS...]')
    .argument('<program>', 'program to run: an absolute guest path or a name looked up in the guest PATH')
    .argument('[args...]', 'arguments of the program')
    .option(
      '--image <name|path>',
      'root filesystem: NAME[:TAG] from the local store (or S3), or an ext4 file',
      'busybox',
    )
    .option(
      '-e, --env <NAME=VALUE>',
      'set a guest environment variable (repeatable; NAME alone copies it from here)',
      collect((t) => parseEnvEntry(t, io.env)),
    )
    .option('--cpu-steps <n>', 'stop after N guest instructions (e.g. 1000000, 1e9, 500M); exit status 152', parseCount)
    .option('--memory <size>', 'guest memory limit (e.g. 256M, 1G, 1048576 bytes)', parseMemory)
    .option('--timeout <duration>', 'wall-clock limit (e.g. 500ms, 10s, 2m); exit status 124', parseDuration)
    .option(
      '-v, --mount <HOST:GUEST[:ro|rw]>',
      'mount a host directory in the guest, read-only unless :rw (repeatable)',
      collect((t) => parseMount(t, io.cwd)),
    )
    .option('--deterministic', 'derive time, randomness and scheduling from the instruction count and a seed')
    .option('--seed <n>', 'seed of --deterministic (default 0)', parseSeed)
    .option(
      '--stats <file>',
      'write run statistics as JSON (instructions, wallMs, maxMemoryBytes, syscalls, unsupportedSyscalls)',
      (t) => parseOutputFile(t, io.cwd),
    )
    .option(
      '--trace <file>',
      'write a line per syscall, strace style (TID name(args) = result), to FILE, or to stderr with -',
      (t) => (t === '-' ? t : parseOutputFile(t, io.cwd)),
    )
    .addOption(
      new Option('-u, --user <uid[:gid]>', 'run as this numeric user (and group); default 0:0').argParser(parseUser),
    )
    .passThroughOptions()
    .addHelpText(
      'after',
      `
Exit status: the program's, 128+N when it is killed by signal N, 152 when --cpu-steps runs out,
137 when memory runs out, 124 on --timeout, 2 for bad options, 125 when Lichen itself fails.
The default image (busybox) is built on first use when the local store does not have it.

Examples:
  $ lichen run -- echo hello
  $ lichen run --image debian --memory 512M --timeout 10s -- python3 -c 'print(6*7)'
  $ lichen run --image ./root.ext4 --env LANG=C.UTF-8 -v ./data:/data:ro -- /bin/sh -c 'ls /data'
  $ lichen run --deterministic --seed 7 --cpu-steps 1e9 --stats stats.json -- ./a.out
  $ lichen run --image debian --trace trace.txt -- ls /missing`,
    )
    .action(async (program: string, args: string[], flags: RunFlags) => {
      let request;
      try {
        request = toRunRequest(program, args, flags);
      } catch (err) {
        throw new CommanderError(EXIT_USAGE, 'lichen.usage', `error: ${(err as Error).message}`);
      }
      let image;
      try {
        image = await locateImage(request.image, io);
      } catch (err) {
        throw new ActionFailed((err as Error).message, EXIT_LICHEN_ERROR);
      }
      setExit(await executeRun({ ...request, image }, io));
    });
  return run;
}

export function createProgram(io: CliIo = processIo, setExit: (code: number) => void = () => undefined): Command {
  const program = new Command('lichen')
    .description('Lichen: run untrusted aarch64 Linux programs in a TypeScript VM')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      'after',
      `
Examples:
  $ lichen run -- echo hello
  $ lichen image build debian
  $ lichen image ls

Docs: README.md and docs/ in the repository (docs/cli.md for every command).`,
    );
  program.addCommand(runCommand(io, setExit));
  program.addCommand(imageCommand(io));
  program.addCommand(serveCommand(io));
  // Every command reports usage errors through main() instead of exiting the process.
  const override = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
    cmd.showHelpAfterError('(add --help for usage)');
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script) and resolves with the exit status. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      // 'commander.help': help shown because no command was given
      if (err.code === 'lichen.usage') io.stderr(`${err.message}\n(add --help for usage)\n`);
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof ActionFailed) {
      io.stderr(`lichen: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr(`lichen: ${(err as Error).message ?? String(err)}\n`);
    return EXIT_LICHEN_ERROR;
  }
}
