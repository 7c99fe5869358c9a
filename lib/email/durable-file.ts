/**
 * Files that survive a crash whole or not at all: the send ledger and the outbox's .eml files.
 */
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes a file's creation or renaming durable (its directory entry), where the OS allows it. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the data itself is synced.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `path` so that a crash leaves either no file (or its previous content) or the
 * complete new one: `write` fills `temporary`, which is synced, renamed over `path`, and
 * the directory entry synced.
 */
export async function writeFileAtomically(
  path: string,
  temporary: string,
  write: (file: FileHandle) => Promise<void>,
  flags: 'w' | 'wx' = 'w',
): Promise<void> {
  const file = await open(temporary, flags, 0o600);
  try {
    await write(file);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await syncDirectory(dirname(path));
}
