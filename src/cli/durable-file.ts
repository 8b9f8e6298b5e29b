/**
 * Writes that last: appended bytes fsynced, a file replaced atomically, folders fsynced so a new name
 * survives a power cut, and the end of a file's last complete line (what follows it is a torn write).
 */
import { open, rename, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { hasCode } from "../internal/errors.js";

/** Appends `bytes` to a file opened for appending, and fsyncs it. */
export async function appendDurably(file: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset, null);
    offset += bytesWritten;
  }
  await file.sync();
}

/**
 * Replaces a file atomically: a temporary file beside it, fsynced, renamed over it, the folder fsynced.
 * The caller holds the file's lock, so one temporary name will do (a crash's leftover is overwritten).
 */
export async function replaceDurably(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, "w");
  try {
    await file.writeFile(text, "utf8");
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  await syncFolder(dirname(path));
}

/** fsyncs a folder, so a file created or renamed in it stays after a power cut (where the system allows it). */
export async function syncFolder(path: string): Promise<void> {
  let folder: FileHandle;
  try {
    folder = await open(path, "r");
  } catch (error) {
    // Windows cannot open a folder as a file; there a rename is durable once it returns.
    if (hasCode(error, "EISDIR") || hasCode(error, "EPERM") || hasCode(error, "EACCES")) return;
    throw error;
  }
  try {
    await folder.sync();
  } catch (error) {
    if (!hasCode(error, "EINVAL") && !hasCode(error, "EBADF") && !hasCode(error, "EPERM")) throw error;
  } finally {
    await folder.close();
  }
}

/** The length of the file up to and including its last "\n" (0 when it has none). */
export async function completeLinesLength(file: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await file.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

/** The byte at `position`; `undefined` past the end. */
export async function byteAt(file: FileHandle, position: number): Promise<number | undefined> {
  const byte = Buffer.alloc(1);
  const { bytesRead } = await file.read(byte, 0, 1, position);
  return bytesRead === 1 ? byte[0] : undefined;
}

/** Cuts the file to `length` (a torn last line) and fsyncs the cut. */
export async function truncateDurably(file: FileHandle, length: number): Promise<void> {
  await file.truncate(length);
  await file.sync();
}
