export { lockOutput, lockFileFor, OutputLockedError, type LockHolder, type LockOptions, type OutputLock } from "./lock.js";
export { pidAlive, removeDeadTemps, tempOwnerPid } from "./pids.js";
export { decodeUtf8, InvalidTextError, readTextFile, readUtf8Lines } from "./text.js";
export { recordedCommand, redactUrlPasswords } from "./secrets.js";
