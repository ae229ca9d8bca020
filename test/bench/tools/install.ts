/** Finds Debian-packaged commands, installing the packages with apt-get when missing. */
import { which, run } from '../measure.js';

/** Ensures every command exists, running `apt-get install -y PACKAGES` (and `apt-get update` only if that fails). */
export async function ensureCommands(commands: readonly string[], packages: readonly string[]): Promise<void> {
  if (commands.every((c) => which(c))) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = async (...args: string[]): Promise<void> => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    process.stderr.write(`bench: ${[cmd, ...rest].join(' ')}\n`);
    await run(cmd!, rest, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  };
  try {
    await apt('install', '-y', ...packages);
  } catch {
    await apt('update');
    await apt('install', '-y', ...packages);
  }
  const missing = commands.filter((c) => !which(c));
  if (missing.length) throw new Error(`still missing after installing ${packages.join(' ')}: ${missing.join(', ')}`);
}
