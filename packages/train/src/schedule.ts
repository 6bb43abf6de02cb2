export type ScheduleKind = "linear" | "constant";

export interface ScheduleOptions {
  readonly kind: ScheduleKind;
  readonly peakLr: number;
  readonly warmupSteps: number;
  /**
   * The step training stops at. The linear schedule reaches 0 here, not at the end of an epoch; the
   * reference decayed over the epoch and so stopped with the learning rate still high.
   */
  readonly stopStep: number;
}

export function checkSchedule(o: ScheduleOptions): void {
  if (!(o.peakLr > 0) || !Number.isFinite(o.peakLr)) throw new Error(`schedule: peak lr must be positive, got ${o.peakLr}`);
  if (!Number.isInteger(o.stopStep) || o.stopStep < 1) throw new Error(`schedule: stop step must be an integer ≥ 1, got ${o.stopStep}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0 || o.warmupSteps > o.stopStep) {
    throw new Error(`schedule: warmup steps must be an integer in [0, ${o.stopStep}], got ${o.warmupSteps}`);
  }
}

/**
 * Learning rate for the optimizer step that follows `step` completed steps (0-based), with the Hugging Face
 * formulas so runs compare step for step:
 * - warmup: peak · step / warmup (so the very first step uses lr 0 when warmup > 0, as HF does);
 * - linear: then peak · (stop − step) / (stop − warmup), reaching 0 at the stop step;
 * - constant: then peak.
 */
export function learningRateAt(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return (o.peakLr * step) / Math.max(1, o.warmupSteps);
  if (o.kind === "constant") return o.peakLr;
  return o.peakLr * Math.max(0, (o.stopStep - step) / Math.max(1, o.stopStep - o.warmupSteps));
}
