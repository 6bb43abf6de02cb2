// commands/index.ts lists each command's name, arguments and summary so `dembed --help` loads no command file; these
// must match what the file itself registers, or the listing would advertise a command that parses differently.
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { commands } from "../src/commands/index.js";

describe("the command index", () => {
  it("names each command once", () => {
    const names = commands.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(commands.map((c) => [c.name, c] as const))("%s: its file registers that one command, with those arguments", async (name, entry) => {
    const program = new Command("dembed");
    (await entry.load()).register(program);
    expect(program.commands.map((c) => c.name())).toEqual([name]);
    const stub = new Command("dembed").command(`${entry.name} ${entry.args}`.trim());
    const args = (c: Command) => c.registeredArguments.map((a) => ({ name: a.name(), required: a.required, variadic: a.variadic }));
    expect(args(program.commands[0]!)).toEqual(args(stub));
  });
});
