import { basename, resolve } from "node:path";
import { loadTrainConfig, parsePrepack, parseTrainConfig, trainModel, withSteps, type PrepackChoice, type StepReport } from "@dembed/train";
import { SingleBar } from "cli-progress";
import { InvalidArgumentError } from "commander";
import type { RegisterCommand } from "./index.js";

interface TrainFlags {
  config: string;
  output?: string;
  resume: boolean;
  steps?: number;
  threads?: number;
  prepack?: PrepackChoice;
  e5Files?: string;
  progress: boolean;
}

const positiveInteger = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};

const formatLr = (lr: number): string => lr.toExponential(2);

/** `dembed train`: a config file → a PEFT adapter folder, with checkpoints, a JSONL log and exact resume. */
export const register: RegisterCommand = (program) => {
  program
    .command("train")
    .description("LoRA-train an embedder with GradCache from a JSON config (see configs/train); the output folder is a PEFT adapter.")
    .requiredOption("--config <file>", "train config (JSON, schema TrainConfigSchema)")
    .option("--output <dir>", "output folder (default runs/<config name>)")
    .option("--resume", "continue from the newest good checkpoint in the output folder", false)
    .option("--steps <n>", "override the config's steps (the linear schedule then decays to this step)", positiveInteger)
    .option("--threads <n>", "ORT intra-op threads", positiveInteger)
    .option("--prepack <which>", "whose base weights ORT pre-packs: all, none or projections (e.g. gate_proj,up_proj); a pre-packed weight is held twice (forward and backward layouts) and not packed again in every matmul; all was as fast to 1.2× faster, for 1.3 GiB more, on a 0.5B model (default none)", (value: string) => {
      try {
        return parsePrepack(value);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message.replace(/^prepack: /, ""));
      }
    })
    .option("--e5-files <names>", "E5 source: read these files (comma-separated names without .jsonl) instead of the reference's 12")
    .option("--no-progress", "plain log lines instead of a progress bar")
    .action(async (flags: TrainFlags) => {
      let config = await loadTrainConfig(flags.config);
      if (flags.e5Files !== undefined) {
        if (config.data.source !== "e5") throw new Error(`--e5-files applies to the e5 data source; ${flags.config} uses ${config.data.source}`);
        const files = flags.e5Files.split(",").map((f) => f.trim().replace(/\.jsonl$/, "")).filter((f) => f !== "");
        config = parseTrainConfig({ ...config, data: { ...config.data, files } }, `${flags.config} with --e5-files`);
      }
      if (flags.steps !== undefined) {
        const shortened = withSteps(config, flags.steps, `${flags.config} with --steps ${flags.steps}`);
        config = shortened.config;
        if (shortened.note !== undefined) process.stderr.write(`train: ${shortened.note}\n`);
      }
      const output = resolve(flags.output ?? `runs/${basename(flags.config).replace(/\.json$/, "")}`);
      process.stderr.write(`train: ${flags.config} → ${output}${flags.resume ? " (resume)" : ""}\n`);
      const tty = flags.progress && process.stderr.isTTY;
      const bar = tty
        ? new SingleBar({
            stream: process.stderr,
            format: "train {bar} {value}/{total} | loss {loss} | lr {lr} | {tps} tok/s | step {running}s | ETA {remaining}",
            fps: 4,
          })
        : undefined;
      // Over a live bar: clear its line, print, and let the next redraw put the bar back underneath.
      const write = (line: string) => process.stderr.write(bar ? `\r\x1b[K${line}\n` : `${line}\n`);
      // Our own ETA (mean step time × steps left − time into the current step), refreshed every second, so it keeps
      // moving while a long step runs in ORT's worker thread.
      const clock = { first: -1, firstAt: 0, last: 0, lastAt: performance.now(), steps: config.steps };
      const payload = { loss: "-", lr: "-", tps: "-", running: "0", remaining: "-" };
      const refresh = () => {
        const now = performance.now();
        payload.running = ((now - clock.lastAt) / 1000).toFixed(0);
        if (clock.last > clock.first && clock.first >= 0) {
          const perStep = (clock.lastAt - clock.firstAt) / (clock.last - clock.first);
          const left = Math.max(0, (clock.steps - clock.last) * perStep - (now - clock.lastAt)) / 1000;
          payload.remaining = left >= 3600 ? `${Math.floor(left / 3600)}h${Math.round((left % 3600) / 60)}m` : left >= 60 ? `${Math.floor(left / 60)}m${Math.round(left % 60)}s` : `${Math.round(left)}s`;
        }
        bar?.update(payload);
      };
      const timer = bar ? setInterval(refresh, 1000) : undefined;
      timer?.unref();
      bar?.start(config.steps, 0, payload);
      const onStep = (r: StepReport) => {
        const now = performance.now();
        if (clock.first < 0) Object.assign(clock, { first: r.step - 1, firstAt: now - r.seconds * 1000 });
        Object.assign(clock, { last: r.step, lastAt: now });
        Object.assign(payload, { loss: r.loss.toFixed(4), lr: formatLr(r.lr), tps: String(Math.round(r.tokens / r.seconds)) });
        if (bar) {
          bar.update(r.step, payload);
          refresh();
        } else if (flags.progress) {
          const elapsed = (now - clock.firstAt) / 1000;
          write(`step ${r.step}/${r.steps} loss ${payload.loss} lr ${payload.lr} grad_norm ${r.gradNorm.toFixed(3)} ${payload.tps} tok/s ${r.seconds.toFixed(2)} s/step, ${elapsed.toFixed(1)} s elapsed`);
        }
        if (r.checkpoint !== undefined) write(`checkpoint step ${r.step} → ${r.checkpoint}`);
      };
      try {
        const result = await trainModel(config, {
          outputDir: output,
          resume: flags.resume,
          // ORT in worker threads leaves the event loop free, so the bar and its ETA keep moving during a step.
          worker: tty,
          ...(flags.threads === undefined ? {} : { threads: flags.threads }),
          ...(flags.prepack === undefined ? {} : { prepack: flags.prepack }),
          onStep,
          onWarning: (message) => write(`warning: ${message}`),
        });
        clearInterval(timer);
        bar?.stop();
        // The base as the config names it (tiny:Dream, an HF id), unless a starting adapter was merged into it.
        const base = config.model.adapter === null ? config.model.base : result.baseDir;
        const shell = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
        process.stderr.write(
          `train: done at step ${result.step}, loss ${result.loss.toFixed(4)}; adapter in ${output}\n` +
            `  embed with it:    ./dembed embed --model ${shell(base)} --adapter ${shell(output)} --input texts.jsonl --out embeddings.jsonl\n` +
            `  evaluate with it: ./dembed bench longembed --model ${shell(base)} --adapter ${shell(output)}\n`,
        );
      } finally {
        clearInterval(timer);
        bar?.stop();
      }
    });
};
