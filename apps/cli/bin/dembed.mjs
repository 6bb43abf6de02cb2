#!/usr/bin/env node
// Runs the TypeScript sources through tsx inside the monorepo; a published build would import ../dist/main.js.
import { register } from "tsx/esm/api";
register();
await import("../src/main.ts");
