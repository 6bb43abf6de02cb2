import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/** Written last inside a checkpoint; a folder without a valid one is not a checkpoint. */
export const MANIFEST_NAME = "checkpoint.json";
const PREFIX = "checkpoint-";

interface ManifestFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

interface Manifest {
  readonly format: "dembed-checkpoint";
  readonly version: 1;
  readonly step: number;
  readonly files: readonly ManifestFile[];
}

export interface CheckpointInfo {
  readonly step: number;
  readonly dir: string;
}

export const checkpointDir = (root: string, step: number): string => join(root, `${PREFIX}${step}`);

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes checkpoint `step` under `root` atomically: `fill` writes files into `<dir>.tmp-<pid>`; every file and
 * folder is fsynced, a manifest (sizes and SHA-256) is written last, then the folder is renamed into place.
 * A crash at any point leaves the previous checkpoints intact. Afterwards only the newest `keep` complete
 * checkpoints remain. Returns the final folder.
 */
export async function writeCheckpoint(
  root: string,
  step: number,
  fill: (tempDir: string) => Promise<void>,
  options: { readonly keep?: number } = {},
): Promise<string> {
  if (!Number.isInteger(step) || step < 0) throw new Error(`writeCheckpoint: step must be an integer ≥ 0, got ${step}`);
  const keep = options.keep ?? 2;
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`writeCheckpoint: keep must be an integer ≥ 1, got ${keep}`);
  await mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const dir = checkpointDir(root, step);
  const temp = `${dir}.tmp-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp);
  try {
    await fill(temp);
    const files: ManifestFile[] = [];
    const dirs = new Set<string>([temp]);
    for (const file of await listFiles(temp)) {
      await fsyncPath(file);
      const rel = relative(temp, file).split(sep).join("/");
      if (rel === MANIFEST_NAME) throw new Error(`writeCheckpoint: ${MANIFEST_NAME} is reserved for the manifest`);
      files.push({ path: rel, bytes: (await stat(file)).size, sha256: await sha256(file) });
      for (let d = join(file, ".."); d.startsWith(temp); d = join(d, "..")) dirs.add(d);
    }
    const manifest: Manifest = { format: "dembed-checkpoint", version: 1, step, files };
    await writeFile(join(temp, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + "\n");
    await fsyncPath(join(temp, MANIFEST_NAME));
    for (const d of dirs) await fsyncPath(d);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  // Re-saving a step replaces it; the old copy is moved aside first so a crash keeps one of the two.
  const aside = `${dir}.old-${process.pid}`;
  const existed = await stat(dir).then(() => true, () => false);
  if (existed) await rename(dir, aside);
  await rename(temp, dir);
  await fsyncPath(root);
  if (existed) await rm(aside, { recursive: true, force: true });
  const complete = await listCheckpoints(root);
  for (const old of complete.slice(keep)) await rm(old.dir, { recursive: true, force: true });
  return dir;
}

/** Temp folders of dead writers (a killed run) are garbage; a live writer's are left alone. */
async function removeStaleTemps(root: string): Promise<void> {
  for (const name of await readdir(root)) {
    const match = /^checkpoint-\d+\.(?:tmp|old)-(\d+)$/.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !pidAlive(pid)) await rm(join(root, name), { recursive: true, force: true });
  }
}

/** Complete checkpoints (a manifest naming the same step), newest first. Does not hash the files. */
export async function listCheckpoints(root: string): Promise<CheckpointInfo[]> {
  const names = await readdir(root).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });
  const found: CheckpointInfo[] = [];
  for (const name of names) {
    const match = /^checkpoint-(\d+)$/.exec(name);
    if (match === null) continue;
    const step = Number(match[1]);
    const manifest = await readManifest(join(root, name)).catch(() => undefined);
    if (manifest?.step === step) found.push({ step, dir: join(root, name) });
  }
  return found.sort((a, b) => b.step - a.step);
}

async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_NAME);
  const text = await readFile(path, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const m = parsed as Partial<Manifest>;
  if (m.format !== "dembed-checkpoint" || m.version !== 1 || !Number.isInteger(m.step) || !Array.isArray(m.files)) {
    throw new Error(`${path}: expected {"format":"dembed-checkpoint","version":1,"step":<int>,"files":[...]}`);
  }
  return m as Manifest;
}

/** Throws naming the file unless every file of the manifest is present with its recorded size and hash. */
export async function verifyCheckpoint(dir: string): Promise<CheckpointInfo> {
  const manifest = await readManifest(dir);
  for (const file of manifest.files) {
    const path = join(dir, ...file.path.split("/"));
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size !== file.bytes) throw new Error(`${path}: checkpoint file is ${size < 0 ? "missing" : `${size} bytes`}, the manifest says ${file.bytes}`);
    if ((await sha256(path)) !== file.sha256) throw new Error(`${path}: checkpoint file does not match its SHA-256 in ${MANIFEST_NAME}`);
  }
  return { step: manifest.step, dir };
}

/**
 * The newest checkpoint that verifies, for resuming. A damaged newer one is skipped with `onSkip` told why, so
 * a run resumes from the last good state rather than failing or, worse, loading half a file.
 */
export async function latestCheckpoint(root: string, onSkip?: (dir: string, reason: string) => void): Promise<CheckpointInfo | undefined> {
  for (const candidate of await listCheckpoints(root)) {
    try {
      return await verifyCheckpoint(candidate.dir);
    } catch (error) {
      onSkip?.(candidate.dir, (error as Error).message);
    }
  }
  return undefined;
}
