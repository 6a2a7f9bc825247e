/**
 * The progress bar of the commands that run long (simulate, reproduce, profile, allocate's
 * verification).
 * Apart from io.ts so that a command without one (plan) does not bundle cli-progress.
 */
export interface Progress {
  /** Advance by `n` (default 1); `step` names what is running. Past the total, the total grows. */
  tick(n?: number, step?: string): void;
  /** Set the position and the total (a total learned late, e.g. from an oracle's callback). */
  update(done: number, total: number, step?: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr (cli-progress, loaded on first use) when stderr is a terminal and
 * `quiet` is off; otherwise nothing, so logs and pipes stay clean. `untilFirstUpdate`: the bar
 * shows from the first tick or update only (work that may fail or end before it starts leaves no
 * bar behind).
 */
export async function progressBar(
  total: number,
  label: string,
  quiet = false,
  untilFirstUpdate = false,
  look: {
    /** What is counted, after value/total (e.g. 'runs'). */
    unit?: string;
    /** Updates the ETA averages over (cli-progress' etaBuffer, default 10; many quick steps want more). */
    etaBuffer?: number;
  } = {},
): Promise<Progress> {
  if (quiet || !process.stderr.isTTY) return { tick: () => {}, update: () => {}, stop: () => {} };
  const { default: cliProgress } = await import('cli-progress');
  const unit = look.unit ? ` ${look.unit}` : '';
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% {value}/{total}${unit} {step} eta {eta_formatted}`,
      hideCursor: true,
      ...(look.etaBuffer ? { etaBuffer: look.etaBuffer } : {}),
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  // Position and total as last set: a total given up front may be an estimate that ticks pass.
  let value = 0;
  let max = total;
  const start = (t = total, done = 0, step = ''): void => {
    if (!started) bar.start(t, done, { step });
    started = true;
  };
  if (!untilFirstUpdate) start();
  return {
    tick: (n = 1, step = '') => {
      start();
      value += n;
      if (value > max) bar.setTotal((max = value));
      bar.increment(n, { step });
    },
    update: (done, t, step) => {
      value = done;
      max = t;
      // The first update starts the bar at its own total (no frame drawn with the initial one).
      if (!started) return start(t, done, step);
      bar.setTotal(t);
      bar.update(done, step === undefined ? undefined : { step });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
